/*! Storecare loader: on idle a launcher, on click a widget. data-storecare-: shop api locale login-url
  token | signed-in="false" | (WooCommerce) token-url nonce-url */
(function (w, d) {
  "use strict";
  var s = d.currentScript || d.querySelector("script[data-storecare-shop]");
  if (!s || w.StorecareLoaded) return;
  w.StorecareLoaded = 1;
  var ds = s.dataset,
    src = s.src.split("#")[0],
    i = src.indexOf("?"),
    q = i < 0 ? "" : src.slice(i), // e.g. ?v=3 goes to the widgets too
    base = (i < 0 ? src : src.slice(0, i)).replace(/[^/]*$/, ""),
    pl = /^pl/i.test(ds.storecareLocale || d.documentElement.lang || ""),
    cfg = { api: ds.storecareApi, token: ds.storecareToken, locale: pl ? "pl" : "en", login: ds.storecareLoginUrl,
      guest: ds.storecareSignedIn == "false" },
    idle = w.requestIdleCallback || function (f) { return setTimeout(f, 200); },
    tokenUrl = ds.storecareTokenUrl, nonceUrl = ds.storecareNonceUrl, so = "same-origin";

  // WooCommerce: who shops is asked on click, never put in cacheable HTML; an empty nonce: a guest
  function identify(done) {
    if (!tokenUrl || !nonceUrl || cfg.token || cfg.guest) return done();
    fetch(nonceUrl, { credentials: so })
      .then(function (r) { return r.ok && r.text(); })
      .then(function (n) {
        n = n && n.trim();
        cfg.guest = n === "";
        return n && fetch(tokenUrl, { credentials: so, headers: { "X-WP-Nonce": n } });
      })
      .then(function (r) { return r && r.ok && r.json(); })
      .then(function (j) { cfg.token = j && j.token; })
      .catch(function () {}).then(done);
  }

  idle(function () {
    var host = d.createElement("div"), root, btn, widget, busy;
    host.setAttribute("data-storecare", "");
    root = host.attachShadow({ mode: "open" });
    // Static markup only: no data ever goes through innerHTML.
    root.innerHTML = "<style>:host{all:initial}.sc-launch{position:fixed;right:20px;bottom:20px;" +
      "z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:#1f2937;color:#fff;" +
      "display:grid;place-items:center;cursor:pointer;box-shadow:0 8px 24px rgba(17,24,39,.3);" +
      "transition:transform .15s}.sc-launch:hover{transform:translateY(-2px)}.sc-launch:focus-visible{" +
      "outline:3px solid #818cf8;outline-offset:3px}.sc-launch[aria-busy=true]{opacity:.7;cursor:progress}" +
      "@media(prefers-reduced-motion:reduce){.sc-launch{transition:none}}</style>" +
      "<button type=button class=sc-launch aria-expanded=false aria-controls=sc-orders>" +
      "<svg width=26 height=26 viewBox=\"0 0 24 24\" aria-hidden=true fill=none stroke=currentColor " +
      "stroke-width=1.8 stroke-linecap=round stroke-linejoin=round><path d=\"M5 8h14l-1.2 12H6.2L5 8Z" +
      "M9 8V6a3 3 0 0 1 6 0v2\"/><path d=\"m9.5 13.5 1.8 1.8 3.4-3.6\"/></svg></button>";
    btn = root.querySelector("button");
    btn.setAttribute("aria-label", pl ? "Twoje zamówienia" : "Your orders");
    btn.title = btn.getAttribute("aria-label");

    btn.addEventListener("click", function () {
      if (widget) return widget.toggle();
      if (busy) return;
      busy = 1;
      btn.setAttribute("aria-busy", "true");
      var left = 2, css = d.createElement("link"), js = d.createElement("script");
      function ready() {
        if (--left) return;
        busy = 0;
        btn.removeAttribute("aria-busy");
        widget = w.StorecareWidgets.orders(root, btn, cfg);
        widget.toggle();
      }
      function failed() {
        left = busy = 0;
        btn.removeAttribute("aria-busy");
        css.remove();
        js.remove();
      }
      css.rel = "stylesheet";
      css.href = base + "widgets/orders.css" + q;
      css.onload = css.onerror = ready; // works without its CSS
      js.src = base + "widgets/orders.js" + q;
      js.onload = ready;
      js.onerror = failed;
      identify(function () {
        root.appendChild(css);
        d.head.appendChild(js);
      });
    });
    (d.body || d.documentElement).appendChild(host);
  }, { timeout: 3000 });
})(window, document);
