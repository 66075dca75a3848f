/*! Storecare "earn N points" block: an inline widget (a theme block, the WordPress plugin or the demo
    store puts <div data-storecare-widget="earn" data-amount="129.99"> on product and cart pages); the
    loader loads it when the block comes into view. Text goes in through textContent only. */
(function (w, d) {
  "use strict";
  var asked = {}, TEXT = {
    en: { one: "Earn {n} point", other: "Earn {n} points", named: "Earn {n} {name}" },
    pl: { one: "Zdobądź {n} punkt", few: "Zdobądź {n} punkty", many: "Zdobądź {n} punktów", other: "Zdobądź {n} punktu",
      named: "Zdobądź {n} {name}" }
  };

  function earn(root, launcher, cfg) {
    var amount = root.host.dataset.amount, line = d.createElement("p"), t = TEXT[cfg.locale] || TEXT.en,
      tag = cfg.locale === "pl" ? "pl-PL" : "en-US", loader = d.querySelector("script[data-storecare-shop]"),
      url = cfg.api.replace(/\/$/, "") + "/loyalty/earn?locale=" + cfg.locale + "&amount=" + encodeURIComponent(amount),
      headers = { Accept: "application/json" };
    line.style.margin = "0";
    line.className = "sc-earn";
    root.appendChild(line);
    if (!(+amount > 0)) return;
    if (cfg.token) headers["X-Storecare-Shopper"] = cfg.token;
    else if (loader) url += "&domain=" + encodeURIComponent(loader.dataset.storecareShop || "");
    asked[url] = asked[url] || fetch(url, { headers: headers }).then(function (r) { return r.ok ? r.json() : null; });
    asked[url].then(function (got) {
      if (!got || !got.points) return;
      var form = got.point_name ? t.named : t[new Intl.PluralRules(tag).select(got.points)] || t.other;
      line.textContent = form.replace("{n}", new Intl.NumberFormat(tag).format(got.points))
        .replace("{name}", got.point_name);
    }).catch(function () {});
  }

  w.StorecareWidgets = w.StorecareWidgets || {};
  w.StorecareWidgets.earn = earn;
})(window, document);
