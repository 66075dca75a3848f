/*! Storecare "Your orders" widget. Loaded by loader.js on the first click of the launcher; renders
    into the loader's Shadow DOM. Every piece of data goes in through textContent, never innerHTML. */
(function (w, d) {
  "use strict";

  var SIGN_IN = "urn:storecare:problem:sign-in-required";
  var TEXT = {
    en: {
      title: "Your orders", hi: "Hi, {name}", close: "Close", loading: "Loading your orders…",
      empty: "No orders yet", emptySub: "When you place an order, you'll find it here.",
      guest: "Sign in to see your orders", guestSub: "Your order history appears here once you're signed in.",
      signIn: "Sign in",
      error: "We couldn't load your orders. Please try again.", retry: "Try again",
      list: "Order list", more: "Show older orders", loadingMore: "Loading…",
      moreFailed: "Couldn't load older orders. Try again",
      order: "Order {number}", items: { one: "{n} item", other: "{n} items" },
      status: {
        paid: "Paid", pending: "Payment pending", authorized: "Authorized", partially_refunded: "Partly refunded",
        refunded: "Refunded", voided: "Cancelled", cancelled: "Cancelled", unfulfilled: "Preparing",
        partial: "Partly shipped", fulfilled: "Shipped"
      }
    },
    pl: {
      title: "Twoje zamówienia", hi: "Cześć, {name}", close: "Zamknij", loading: "Wczytujemy Twoje zamówienia…",
      empty: "Nie masz jeszcze zamówień", emptySub: "Gdy złożysz zamówienie, znajdziesz je tutaj.",
      guest: "Zaloguj się, aby zobaczyć swoje zamówienia",
      guestSub: "Historia zamówień pojawi się tutaj po zalogowaniu.", signIn: "Zaloguj się",
      error: "Nie udało się wczytać zamówień. Spróbuj ponownie.", retry: "Spróbuj ponownie",
      list: "Lista zamówień", more: "Pokaż starsze zamówienia", loadingMore: "Wczytujemy…",
      moreFailed: "Nie udało się wczytać starszych zamówień. Spróbuj ponownie",
      order: "Zamówienie {number}",
      items: { one: "{n} produkt", few: "{n} produkty", many: "{n} produktów", other: "{n} produktu" },
      status: {
        paid: "Opłacone", pending: "Czeka na płatność", authorized: "Autoryzowane",
        partially_refunded: "Częściowo zwrócone", refunded: "Zwrócone", voided: "Anulowane",
        cancelled: "Anulowane", unfulfilled: "W przygotowaniu", partial: "Częściowo wysłane",
        fulfilled: "Wysłane"
      }
    }
  };
  var SVG = "http://www.w3.org/2000/svg";
  var ICONS = {
    "sc-guest": "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8Zm-7 8a7 7 0 0 1 14 0",
    "sc-empty": "M5 8h14l-1.2 12H6.2L5 8Zm4 0V6a3 3 0 0 1 6 0v2",
    "sc-error": "M12 8v5m0 3.5v.01M10.3 3.9 2.6 17.2A2 2 0 0 0 4.3 20h15.4a2 2 0 0 0 1.7-2.8L13.7 3.9a2 2 0 0 0-3.4 0Z"
  };
  var TONE = {
    paid: "ok", fulfilled: "ok", authorized: "info", partial: "info", unfulfilled: "info",
    pending: "warn", partially_refunded: "warn", refunded: "muted", voided: "muted", cancelled: "muted"
  };

  function el(tag, cls, text) {
    var node = d.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function icon(kind) {
    var box = el("span", "sc-icon"), svg = d.createElementNS(SVG, "svg"), path = d.createElementNS(SVG, "path");
    box.setAttribute("aria-hidden", "true");
    svg.setAttribute("viewBox", "0 0 24 24");
    path.setAttribute("d", ICONS[kind] || "");
    svg.appendChild(path);
    box.appendChild(svg);
    return box;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  // The statuses an order shows, in order. "Preparing" only while something may still ship: never for
  // an order cancelled, voided or refunded before it shipped; a cancelled order says so once.
  function statuses(order) {
    var pay = order.financial_status, ship = order.fulfillment_status,
      over = order.cancelled || pay === "voided" || pay === "refunded", shown = [];
    if (order.cancelled) shown.push("cancelled");
    if (pay && !(order.cancelled && pay === "voided")) shown.push(pay);
    if (ship && !(over && ship === "unfulfilled")) shown.push(ship);
    return shown;
  }

  function mount(root, launcher, cfg) {
    var t = TEXT[cfg.locale] || TEXT.en,
      tag = cfg.locale === "pl" ? "pl-PL" : "en-US",
      plural = w.Intl && Intl.PluralRules ? new Intl.PluralRules(tag) : { select: function (n) { return n === 1 ? "one" : "other"; } },
      dates = new Intl.DateTimeFormat(tag, { day: "numeric", month: "short", year: "numeric" }),
      state = "idle",
      panel = el("section", "sc-panel"),
      head = el("div", "sc-head"), // not <header>: the store has its banner, this is a dialog
      titles = el("div", "sc-titles"),
      title = el("h2", "sc-title", t.title),
      greeting = el("p", "sc-greeting"),
      close = el("button", "sc-close"),
      body = el("div", "sc-body");

    panel.id = "sc-orders";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "sc-title");
    title.id = "sc-title";
    title.tabIndex = -1;
    greeting.hidden = true;
    close.type = "button";
    close.setAttribute("aria-label", t.close);
    close.appendChild(el("span", null, "\u00d7")).setAttribute("aria-hidden", "true");
    body.setAttribute("aria-live", "polite");
    // It scrolls: a keyboard must be able to reach it (and scroll it with the arrow keys).
    body.tabIndex = 0;
    body.setAttribute("role", "region");
    body.setAttribute("aria-label", t.list);
    titles.append(title, greeting);
    head.append(titles, close);
    panel.append(head, body);
    root.appendChild(panel);

    close.addEventListener("click", hide);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") hide();
    });

    function show() {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      title.focus();
      if (state === "idle" || state === "failed") load();
    }

    function hide() {
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
    }

    // Same-origin credentials (fetch's default): through Shopify's app proxy the storefront's own cookies
    // are how Shopify knows the signed-in customer; the direct API (another origin) gets none.
    function call(path, query) {
      var url = cfg.api.replace(/\/$/, "") + path + "?locale=" + encodeURIComponent(cfg.locale) + (query || "");
      var headers = { Accept: "application/json" };
      if (cfg.token) headers["X-Storecare-Shopper"] = cfg.token;
      return fetch(url, { headers: headers }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
      });
    }

    function load() {
      if (cfg.guest) return signIn(); // the store says nobody is signed in: nothing to ask the API
      state = "loading";
      message("sc-loading", t.loading);
      var me = call("/me").catch(function () { return { ok: false }; });
      Promise.all([me, call("/orders")]).then(function (results) {
        var profile = results[0], orders = results[1];
        if (profile.ok && profile.data.shopper && profile.data.shopper.first_name) {
          greeting.textContent = fill(t.hi, { name: profile.data.shopper.first_name });
          greeting.hidden = false;
        }
        if (orders.ok) return render(orders.data.orders || [], orders.data.next_cursor);
        if (orders.status === 401 && orders.data.type === SIGN_IN) return signIn();
        throw new Error("HTTP " + orders.status);
      }).catch(function () {
        state = "failed";
        message("sc-error", t.error, null, true);
      });
    }

    function signIn() {
      state = "done";
      var box = message("sc-guest", t.guest, t.guestSub), href = safeUrl(cfg.login);
      if (href) {
        var link = el("a", "sc-signin", t.signIn);
        link.href = href;
        box.appendChild(link);
      }
    }

    // The store's sign-in page: an http(s) address only (never javascript: or data:), else no link.
    function safeUrl(value) {
      try {
        var url = new URL(value, w.location.href);
        return /^https?:$/.test(url.protocol) ? url.href : "";
      } catch (e) {
        return "";
      }
    }

    function message(kind, text, sub, retry) {
      var box = el("div", "sc-message " + kind);
      if (ICONS[kind]) box.appendChild(icon(kind));
      box.appendChild(el("p", "sc-message-title", text));
      if (sub) box.appendChild(el("p", "sc-message-sub", sub));
      if (retry) {
        var again = el("button", "sc-retry", t.retry);
        again.type = "button";
        again.addEventListener("click", load);
        box.appendChild(again);
      }
      if (kind === "sc-loading") {
        box.setAttribute("role", "status");
        for (var i = 0; i < 3; i++) box.appendChild(el("div", "sc-skeleton"));
      }
      body.replaceChildren(box);
      return box;
    }

    function render(orders, next) {
      state = "done";
      if (!orders.length) return message("sc-empty", t.empty, t.emptySub);
      var list = el("ul", "sc-list");
      body.replaceChildren(list);
      append(list, orders, next);
    }

    // Orders at the end of the list, then a "show older" button while the API says there are more.
    function append(list, orders, next) {
      var first;
      orders.forEach(function (order) {
        var item = el("li", "sc-order"),
          top = el("div", "sc-row"),
          meta = el("div", "sc-meta"),
          when = el("time", null, dates.format(new Date(order.created_at))),
          badges = el("div", "sc-badges"),
          count = order.items_count;
        top.append(el("span", "sc-number", fill(t.order, { number: order.number })),
          el("span", "sc-total", order.total_formatted));
        when.dateTime = order.created_at;
        meta.append(when, el("span", "sc-dot", "\u00b7"),
          el("span", null, fill(t.items[plural.select(count)] || t.items.other, { n: count })));
        statuses(order).forEach(function (status) {
          badges.appendChild(el("span", "sc-badge sc-" + (TONE[status] || "muted"), t.status[status] || status));
        });
        item.append(top, meta, badges);
        list.appendChild(item);
        first = first || item;
      });
      if (next) list.after(moreButton(list, next));
      return first;
    }

    function moreButton(list, cursor) {
      var more = el("button", "sc-more", t.more);
      more.type = "button";
      more.addEventListener("click", function () {
        more.disabled = true;
        more.textContent = t.loadingMore;
        call("/orders", "&cursor=" + encodeURIComponent(cursor)).then(function (page) {
          if (!page.ok) throw new Error("HTTP " + page.status);
          more.remove();
          var first = append(list, page.data.orders || [], page.data.next_cursor);
          if (first) { // the keyboard goes on where the new orders start, not back to the top
            first.tabIndex = -1;
            first.focus();
          }
        }).catch(function () {
          more.disabled = false;
          more.textContent = t.moreFailed;
        });
      });
      return more;
    }

    return { toggle: function () { (panel.hidden ? show : hide)(); } };
  }

  w.StorecareWidgets = w.StorecareWidgets || {};
  w.StorecareWidgets.orders = mount;
})(window, document);
