/*! Storecare loyalty widget. Loaded by loader.js on the first click of the launcher; renders into the
    loader's Shadow DOM. Every piece of data goes in through textContent, never innerHTML. */
(function (w, d) {
  "use strict";

  var SIGN_IN = "urn:storecare:problem:sign-in-required";
  var TEXT = {
    en: {
      title: "Rewards", close: "Close", loading: "Loading your rewards…", hi: "Hi, {name}", hiGuest: "Hi there!",
      error: "We couldn't load the rewards program. Please try again.", retry: "Try again",
      off: "This store has no rewards program right now.", region: "Rewards program",
      guest: "Earn {points} every time you shop", guestSub: "Sign in or create an account to collect them.",
      signIn: "Sign in", joinTitle: "Join our rewards program", joinSub: "Collect {points} on every order.",
      join: "Join now", joined: "Welcome! You are a member now.",
      available: "Available", pending: "Pending", pendingSub: "Pending points become available after the return period.",
      tier: "Your tier: {tier}", toNext: "{left} to {tier}", top: "You have reached the top tier.",
      progress: "Progress to the next tier",
      rewards: "Rewards", noRewards: "No rewards to redeem yet.", redeem: "Redeem", redeeming: "Redeeming…",
      cost: "{points}", need: "You need {points} more", worth: "Worth {money}",
      yourCode: "Your code", copy: "Copy", copied: "Copied to the clipboard", share: "Share",
      codeReady: "Your code {code} is ready. Use it at checkout.",
      expires: "Valid until {date}",
      ways: "Ways to earn", rate: "{points} for every {money} spent",
      way: { signup: "Create an account", birthday: "Celebrate your birthday", first_order: "Place your first order",
        review: "Write a review", social: "Follow us", referral: "Refer a friend" },
      tiers: "Tiers", from: { spend: "From {n} spent", points: "From {n}", orders: "From {n}" },
      perk: { multiplier: "×{n} points", birthday: "+{n} on your birthday", shipping: "Free shipping" },
      refer: "Refer a friend", referSub: "Share your link: your friend gets a welcome reward and you earn {points}.",
      link: "Your referral link",
      history: "History", noHistory: "No points yet: they appear here after your first order.",
      more: "Show older", moreFailed: "Couldn't load more. Try again",
      state: { pending: "Pending", spent: "Spent", expired: "Expired", reversed: "Reversed", approved: "" },
      birthday: "Your birthday", birthdaySub: "Tell us and get {points} every year.", save: "Save",
      birthdaySaved: "Thank you! We saved your birthday.",
      failed: "Something went wrong. Please try again.", offline: "We couldn't reach the store. Check your connection.",
      word: "points", points: { one: "{n} point", other: "{n} points" },
      orders: { one: "{n} order", other: "{n} orders" }
    },
    pl: {
      title: "Nagrody", close: "Zamknij", loading: "Wczytujemy Twoje nagrody…", hi: "Cześć, {name}", hiGuest: "Cześć!",
      error: "Nie udało się wczytać programu nagród. Spróbuj ponownie.", retry: "Spróbuj ponownie",
      off: "Ten sklep nie ma teraz programu nagród.", region: "Program nagród",
      guest: "Zbieraj {points} przy każdych zakupach", guestSub: "Zaloguj się lub załóż konto, aby je zbierać.",
      signIn: "Zaloguj się", joinTitle: "Dołącz do programu nagród", joinSub: "Zbieraj {points} za każde zamówienie.",
      join: "Dołącz", joined: "Witamy! Jesteś teraz członkiem programu.",
      available: "Dostępne", pending: "Oczekujące", pendingSub: "Oczekujące punkty będą dostępne po okresie zwrotu.",
      tier: "Twój poziom: {tier}", toNext: "{left} do poziomu {tier}", top: "Masz najwyższy poziom.",
      progress: "Postęp do następnego poziomu",
      rewards: "Nagrody", noRewards: "Nie ma jeszcze nagród do odebrania.", redeem: "Odbierz", redeeming: "Odbieramy…",
      cost: "{points}", need: "Brakuje Ci {points}", worth: "Wartość {money}",
      yourCode: "Twój kod", copy: "Kopiuj", copied: "Skopiowano do schowka", share: "Udostępnij",
      codeReady: "Twój kod {code} jest gotowy. Użyj go przy kasie.",
      expires: "Ważny do {date}",
      ways: "Jak zdobywać punkty", rate: "{points} za każde wydane {money}",
      way: { signup: "Załóż konto", birthday: "Świętuj urodziny", first_order: "Złóż pierwsze zamówienie",
        review: "Napisz opinię", social: "Obserwuj nas", referral: "Poleć znajomemu" },
      tiers: "Poziomy", from: { spend: "Od {n} wydanych", points: "Od {n}", orders: "Od {n}" },
      perk: { multiplier: "×{n} punktów", birthday: "+{n} w urodziny", shipping: "Darmowa dostawa" },
      refer: "Poleć znajomemu", referSub: "Udostępnij swój link: znajomy dostanie nagrodę powitalną, a Ty {points}.",
      link: "Twój link polecający",
      history: "Historia", noHistory: "Nie masz jeszcze punktów: pojawią się tu po pierwszym zamówieniu.",
      more: "Pokaż starsze", moreFailed: "Nie udało się wczytać. Spróbuj ponownie",
      state: { pending: "Oczekujące", spent: "Wydane", expired: "Wygasłe", reversed: "Cofnięte", approved: "" },
      birthday: "Twoje urodziny", birthdaySub: "Podaj datę, a co roku dostaniesz {points}.", save: "Zapisz",
      birthdaySaved: "Dziękujemy! Zapisaliśmy datę urodzin.",
      failed: "Coś poszło nie tak. Spróbuj ponownie.", offline: "Nie udało się połączyć ze sklepem. Sprawdź połączenie.",
      word: "punkty", points: { one: "{n} punkt", few: "{n} punkty", many: "{n} punktów", other: "{n} punktu" },
      orders: { one: "{n} zamówienie", few: "{n} zamówienia", many: "{n} zamówień", other: "{n} zamówienia" }
    }
  };

  function el(tag, cls, text) {
    var node = d.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function button(text, cls, onClick) {
    var b = el("button", cls || "sc-btn", text);
    b.type = "button";
    if (onClick) b.addEventListener("click", onClick);
    return b;
  }

  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    return h.join("").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
  }

  function mount(root, launcher, cfg) {
    var t = TEXT[cfg.locale] || TEXT.en,
      tag = cfg.locale === "pl" ? "pl-PL" : "en-US",
      plural = new Intl.PluralRules(tag),
      number = new Intl.NumberFormat(tag, { maximumFractionDigits: 2 }),
      dates = new Intl.DateTimeFormat(tag, { day: "numeric", month: "short", year: "numeric" }),
      state = "idle", prog = {}, me = null,
      tagged = d.querySelector("script[data-storecare-shop]"), shop = tagged && tagged.dataset.storecareShop,
      panel = el("section", "sc-panel"),
      head = el("div", "sc-head"),
      titles = el("div", "sc-titles"),
      title = el("h2", "sc-title", t.title),
      greeting = el("p", "sc-greeting"),
      close = button("\u00d7", "sc-close", hide),
      live = el("p", "sc-live"),
      body = el("div", "sc-body");

    panel.id = "sc-loyalty";
    if (launcher.style.left) panel.classList.add("sc-left"); // beside its launcher, which the merchant put left
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "sc-ltitle");
    title.id = "sc-ltitle";
    title.tabIndex = -1;
    close.setAttribute("aria-label", t.close);
    live.setAttribute("role", "status");
    live.setAttribute("aria-live", "polite");
    body.tabIndex = 0;
    body.setAttribute("role", "region");
    body.setAttribute("aria-label", t.region);
    if (cfg.guest) greeting.textContent = t.hiGuest; // a guest's line is never an empty band
    titles.append(title, greeting);
    head.append(titles, close);
    panel.append(head, live, body);
    root.appendChild(panel);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") hide();
    });

    function show() {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      title.focus();
      body.querySelectorAll(".sc-code-value").forEach(fit); // drawn while the panel was closed
      if (state === "idle" || state === "failed") load();
    }

    function hide() {
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
    }

    function say(text, alert) {
      live.textContent = "";
      live.setAttribute("role", alert ? "alert" : "status");
      live.className = "sc-live" + (alert ? " sc-alert" : "");
      live.textContent = text;
    }

    function call(path, query, body) {
      var url = cfg.api.replace(/\/$/, "") + path + "?locale=" + encodeURIComponent(cfg.locale) + (query || ""),
        headers = { Accept: "application/json" }, init = { headers: headers };
      if (cfg.token) headers["X-Storecare-Shopper"] = cfg.token;
      else if (shop) url += "&domain=" + encodeURIComponent(shop); // a guest's page without a token
      if (body) {
        init.method = "POST";
        init.body = JSON.stringify(body);
        headers["Content-Type"] = "application/json";
        headers["Idempotency-Key"] = uuid();
      }
      return fetch(url, init).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data || {} };
        });
      }, function () { return { ok: false, status: 0, data: {}, offline: true }; });
    }

    // A refusal in words: the field's message, else the problem's detail, else a general sentence.
    function words(answer) {
      var errors = answer.data.errors, first;
      if (answer.offline) return t.offline;
      if (errors) for (var key in errors) { first = first || [].concat(errors[key])[0]; }
      return typeof first === "string" ? first : answer.data.detail || t.failed;
    }

    function points(n) {
      if (prog.point_name) return number.format(n) + " " + prog.point_name;
      return fill(t.points[plural.select(n)] || t.points.other, { n: number.format(n) });
    }

    function money(amount) {
      try {
        return new Intl.NumberFormat(tag, { style: "currency", currency: prog.earn.currency }).format(+amount);
      } catch (e) {
        return amount;
      }
    }

    function brand() {
      var b = prog.branding || {};
      panel.style.setProperty("--sc-brand", b.primary_colour || "#1f5f8b");
      panel.style.setProperty("--sc-on-brand", b.text_colour || "#fff");
      launcher.style.background = b.primary_colour || "";
      launcher.style.color = b.text_colour || "";
    }

    function load() {
      state = "loading";
      var box = message(t.loading);
      box.setAttribute("role", "status");
      box.classList.add("sc-loading");
      Promise.all([call("/loyalty/program"), cfg.guest ? null : call("/loyalty/me")]).then(function (r) {
        if (r[0].status === 404) return state = "done", message(t.off);
        if (!r[0].ok) throw 0;
        prog = r[0].data;
        brand();
        if (!r[1] || (r[1].status === 401 && r[1].data.type === SIGN_IN)) return guest();
        if (!r[1].ok) throw 0;
        return draw(r[1].data);
      }).catch(function () {
        state = "failed";
        message(t.error).appendChild(button(t.retry, "sc-btn", load));
      });
    }

    function message(text, sub) {
      var box = el("div", "sc-message");
      box.appendChild(el("p", "sc-message-title", text));
      if (sub) box.appendChild(el("p", "sc-message-sub", sub));
      body.replaceChildren(box);
      return box;
    }

    function section(heading) {
      var s = el("section", "sc-section"), h = el("h3", "sc-h", heading);
      s.appendChild(h);
      body.appendChild(s);
      return s;
    }

    function rateText() {
      var e = prog.earn;
      return fill(t.rate, { points: points(+e.points), money: e.per_display });
    }

    function guest() {
      state = "done";
      greeting.textContent = t.hiGuest;
      var box = message(fill(t.guest, { points: prog.point_name || t.word }), t.guestSub),
        href = safeUrl(cfg.login);
      if (href) {
        var link = el("a", "sc-btn sc-primary", t.signIn);
        link.href = href;
        box.appendChild(link);
      }
      ways();
      tiers();
    }

    function safeUrl(value) {
      try {
        var url = new URL(value, w.location.href);
        return /^https?:$/.test(url.protocol) ? url.href : "";
      } catch (e) {
        return "";
      }
    }

    function ways() {
      var s = section(t.ways), list = el("ul", "sc-list");
      list.appendChild(row(rateText(), ""));
      (prog.ways || []).forEach(function (way) {
        list.appendChild(row(t.way[way.kind] || way.kind, "+" + points(way.points)));
      });
      s.appendChild(list);
    }

    function tiers() {
      if (!(prog.tiers || []).length) return;
      var s = section(t.tiers), list = el("ul", "sc-list"), basis = prog.tier_basis;
      prog.tiers.forEach(function (tier) {
        var n = basis === "spend" ? money(tier.threshold) : basis === "orders"
            ? fill(t.orders[plural.select(+tier.threshold)] || t.orders.other, { n: tier.threshold })
            : points(+tier.threshold),
          perks = [], p = tier.perks || {};
        if (+p.earn_multiplier > 1) perks.push(fill(t.perk.multiplier, { n: number.format(+p.earn_multiplier) }));
        if (p.birthday_bonus) perks.push(fill(t.perk.birthday, { n: points(p.birthday_bonus) }));
        if (p.free_shipping) perks.push(t.perk.shipping);
        var item = row(tier.name, +tier.threshold ? fill(t.from[basis] || "{n}", { n: n }) : "");
        if (perks.length) item.appendChild(el("p", "sc-sub", perks.join(" · ")));
        list.appendChild(item);
      });
      s.appendChild(list);
    }

    function row(label, value) {
      var item = el("li", "sc-item"), top = el("div", "sc-row");
      top.append(el("span", "sc-label", label), el("span", "sc-value", value));
      item.appendChild(top);
      return item;
    }

    // A member's panel is drawn once, when its rewards, referral link and history are here too: the
    // loading state keeps the box until then, so nothing moves under the shopper's eyes.
    function draw(data) {
      if (!data.member) return render(data, []);
      return Promise.all([call("/loyalty/rewards"), prog.referrals && call("/loyalty/referral"),
        call("/loyalty/history", "&page=1")]).then(function (parts) { render(data, parts); });
    }

    function render(data, parts) {
      state = "done";
      me = data;
      body.replaceChildren();
      greeting.textContent = data.first_name ? fill(t.hi, { name: data.first_name }) : "";
      if (!data.member) {
        var box = el("div", "sc-message");
        box.append(el("p", "sc-message-title", t.joinTitle), el("p", "sc-message-sub", fill(t.joinSub, {
          points: prog.point_name || t.word })));
        if (data.can_join) box.appendChild(button(t.join, "sc-btn sc-primary", join));
        body.appendChild(box);
        ways();
        tiers();
        return;
      }
      body.appendChild(balance(data));
      rewards(parts[0]);
      ways();
      if (!data.birthday_set) birthday();
      referral(parts[1]);
      tiers();
      history(parts[2]);
    }

    function join(event) {
      var b = event.currentTarget;
      b.disabled = true;
      call("/loyalty/join", "", {}).then(function (answer) {
        if (!answer.ok) return b.disabled = false, say(words(answer), true);
        draw(answer.data).then(function () { say(t.joined); });
      });
    }

    function balance(data) {
      var card = el("div", "sc-card"), nums = el("div", "sc-nums"), bal = data.balance;
      nums.append(figure(t.available, points(bal.approved), "sc-available"), figure(t.pending, points(bal.pending)));
      card.appendChild(nums);
      if (bal.pending) card.appendChild(el("p", "sc-sub", t.pendingSub));
      if (data.tier) card.appendChild(el("p", "sc-tier", fill(t.tier, { tier: data.tier })));
      var pr = data.progress;
      if (pr) {
        if (pr.next_tier) {
          var left = pr.basis === "spend" ? pr.remaining_display || money(pr.remaining) : pr.basis === "orders"
              ? fill(t.orders[plural.select(+pr.remaining)] || t.orders.other, { n: pr.remaining })
              : points(+pr.remaining),
            bar = el("div", "sc-bar"), fillBar = el("span");
          bar.setAttribute("role", "progressbar");
          bar.setAttribute("aria-label", t.progress);
          bar.setAttribute("aria-valuemin", "0");
          bar.setAttribute("aria-valuemax", "100");
          bar.setAttribute("aria-valuenow", String(pr.percent));
          fillBar.style.width = pr.percent + "%";
          bar.appendChild(fillBar);
          card.append(bar, el("p", "sc-sub", fill(t.toNext, { left: left, tier: pr.next_tier })));
        } else if (data.tier) {
          card.appendChild(el("p", "sc-sub", t.top));
        }
      }
      return card;
    }

    function figure(label, value, cls) {
      var f = el("div", "sc-figure " + (cls || ""));
      f.append(el("span", "sc-fig-label", label), el("strong", "sc-fig-value", value));
      return f;
    }

    function rewards(answer) {
      if (answer.status === 404) return; // no rewards endpoint in this store
      var s = section(t.rewards), list = el("ul", "sc-list"),
        found = answer.ok ? answer.data.rewards || answer.data : [];
      if (!found.length) return s.appendChild(el("p", "sc-sub", t.noRewards));
      found.forEach(function (reward) { list.appendChild(rewardItem(reward)); });
      s.appendChild(list);
    }

    function rewardItem(reward) {
      var item = row(reward.name, reward.kind === "variable" ? "" : points(reward.cost)), go = button(t.redeem, "sc-btn sc-primary"),
        available = me.balance.approved, slider, shown, chosen = reward.cost;
      item.classList.add("sc-reward");
      if (reward.kind === "variable") {
        var lo = reward.min_points || reward.cost, hi = Math.min(reward.max_points || available, available),
          label = el("label", "sc-slider");
        slider = el("input");
        slider.type = "range";
        slider.min = lo;
        slider.max = Math.max(lo, hi);
        slider.step = reward.cost;
        slider.value = chosen = lo;
        shown = el("output", "sc-value");
        var update = function () {
          chosen = +slider.value;
          shown.textContent = points(chosen) + " = " + money(chosen / reward.cost * reward.value);
          slider.setAttribute("aria-valuetext", shown.textContent);
        };
        slider.addEventListener("input", update);
        update();
        label.append(el("span", "sc-visually-hidden", reward.name), slider);
        item.append(label, shown);
      } else if ((reward.kind === "fixed_amount" || reward.kind === "store_credit") && +reward.value) {
        item.appendChild(el("p", "sc-sub", fill(t.worth, { money: money(reward.value) })));
      }
      if (reward.affordable === false || available < (reward.kind === "variable" ? reward.min_points || reward.cost : reward.cost)) {
        go.disabled = true;
        item.appendChild(el("p", "sc-sub", fill(t.need, {
          points: points((reward.kind === "variable" ? reward.min_points || reward.cost : reward.cost) - available) })));
      }
      go.addEventListener("click", function () {
        go.disabled = true;
        go.textContent = t.redeeming;
        var ask = { reward_id: reward.id };
        if (slider) ask.points = chosen;
        call("/loyalty/redemptions", "", ask).then(function (answer) {
          go.textContent = t.redeem;
          go.disabled = false;
          if (!answer.ok) return say(words(answer), true);
          code(item, answer.data);
          refresh();
        });
      });
      item.appendChild(go);
      return item;
    }

    // A code or link to copy: a read-only text box that wraps, so a long one is seen whole.
    function copyable(text, label) {
      var value = el("textarea", "sc-code-value");
      value.readOnly = true;
      value.rows = 1;
      value.spellcheck = false;
      value.value = text;
      value.setAttribute("aria-label", label);
      return value;
    }

    // Its height follows its lines (CSS field-sizing where the browser has it); measured once shown.
    function fit(value) {
      if (w.CSS && CSS.supports && CSS.supports("field-sizing", "content")) return;
      value.style.height = "auto";
      if (value.scrollHeight) value.style.height = value.scrollHeight + value.offsetHeight - value.clientHeight + "px";
    }

    function code(item, got) {
      var box = el("div", "sc-code"), value = copyable(got.code || "", t.yourCode), copy = button(t.copy, "sc-btn");
      copy.addEventListener("click", function () { copyText(value); });
      box.append(el("span", "sc-fig-label", t.yourCode), value, copy);
      if (got.expires_at) box.appendChild(el("p", "sc-sub", fill(t.expires, { date: dates.format(new Date(got.expires_at)) })));
      item.appendChild(box);
      fit(value);
      say(fill(t.codeReady, { code: got.code }));
      copy.focus();
    }

    function copyText(input) {
      var done = function () { say(t.copied); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        return navigator.clipboard.writeText(input.value).then(done, function () { legacyCopy(input); done(); });
      }
      legacyCopy(input);
      done();
    }

    function legacyCopy(input) {
      input.select();
      try { d.execCommand("copy"); } catch (e) { /* selected for the shopper to copy */ }
    }

    // The balance after a redemption, without drawing the rest again.
    function refresh() {
      call("/loyalty/me").then(function (answer) {
        var old = body.querySelector(".sc-card");
        if (!answer.ok || !old) return;
        me = answer.data;
        old.replaceWith(balance(me));
      });
    }

    function birthday() {
      var birthdayWay = (prog.ways || []).filter(function (x) { return x.kind === "birthday"; })[0];
      if (!birthdayWay) return;
      var s = section(t.birthday), form = el("form", "sc-form"), input = el("input"), save = el("button", "sc-btn", t.save);
      s.appendChild(el("p", "sc-sub", fill(t.birthdaySub, { points: points(birthdayWay.points) })));
      input.type = "date";
      input.required = true;
      input.max = new Date().toISOString().slice(0, 10);
      input.setAttribute("aria-label", t.birthday);
      save.type = "submit";
      form.append(input, save);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        save.disabled = true;
        call("/loyalty/birthday", "", { date: input.value }).then(function (answer) {
          save.disabled = false;
          if (!answer.ok) return say(words(answer), true);
          s.remove();
          say(t.birthdaySaved);
        });
      });
      s.appendChild(form);
    }

    function referral(answer) {
      if (!answer || !answer.ok || !answer.data.link) return;
      var s = section(t.refer), way = (prog.ways || []).filter(function (x) { return x.kind === "referral"; })[0],
        box = el("div", "sc-code"), value = copyable(answer.data.link, t.link);
      box.append(value, button(t.copy, "sc-btn", function () { copyText(value); }));
      if (navigator.share) {
        box.appendChild(button(t.share, "sc-btn", function () {
          navigator.share({ title: t.refer, url: answer.data.link }).catch(function () {});
        }));
      }
      s.append(el("p", "sc-sub", fill(t.referSub, { points: points(way ? way.points : 0) })), box);
      fit(value);
    }

    function history(answer) {
      var s = section(t.history), list = el("ul", "sc-list");
      s.appendChild(list);
      if (answer.ok) page(list, answer, 1);
    }

    // Older entries, on the shopper's request.
    function older(list, n) {
      return call("/loyalty/history", "&page=" + n).then(function (answer) {
        if (!answer.ok) throw 0;
        page(list, answer, n);
      });
    }

    function page(list, answer, n) {
      var entries = answer.data.entries || [];
      if (n === 1 && !entries.length) list.replaceWith(el("p", "sc-sub", t.noHistory));
      entries.forEach(function (e) {
        var item = row(e.reason, (e.points > 0 ? "+" : "") + points(e.points)), meta = el("p", "sc-sub"),
          when = el("time", null, dates.format(new Date(e.created_at)));
        item.classList.add(e.points < 0 ? "sc-minus" : "sc-plus");
        when.dateTime = e.created_at;
        meta.appendChild(when);
        if (t.state[e.state]) meta.appendChild(el("span", "sc-badge sc-" + e.state, t.state[e.state]));
        item.appendChild(meta);
        list.appendChild(item);
      });
      if (answer.data.next_page) {
        var more = button(t.more, "sc-btn sc-more", function () {
          more.disabled = true;
          older(list, answer.data.next_page).then(function () { more.remove(); }, function () {
            more.disabled = false;
            more.textContent = t.moreFailed;
          });
        });
        list.after(more);
      }
    }

    return { toggle: function () { (panel.hidden ? show : hide)(); } };
  }

  w.StorecareWidgets = w.StorecareWidgets || {};
  w.StorecareWidgets.loyalty = mount;
})(window, document);
