/*! Storecare loader: the shop's widgets, each loaded on first use (plugin/storefront/widgets.py) */
(function (w, d) {
  "use strict";
  var s = d.currentScript || d.querySelector("script[data-storecare-shop]");
  if (!s || w.StorecareLoaded) return;
  w.StorecareLoaded = 1;
  var ds = s.dataset,
    pl = /^pl/i.test(ds.storecareLocale || d.documentElement.lang || ""),
    cfg = { api: ds.storecareApi, token: ds.storecareToken, locale: pl ? "pl" : "en", login: ds.storecareLoginUrl,
      guest: ds.storecareSignedIn == "false" },
    idle = w.requestIdleCallback || function (f) { return setTimeout(f, 200); },
    tokenUrl = ds.storecareTokenUrl, nonceUrl = ds.storecareNonceUrl, who, at = {},
    list = ds.storecareManifest || cfg.api + "/manifest?shop=" + encodeURIComponent(ds.storecareShop || "");
  list = new URL(list + (/\?/.test(list) ? "&" : "?") + "locale=" + cfg.locale, location.href);

  // Once for all widgets (WooCommerce: on first use, never in cached HTML)
  function identify() {
    return who || (who = !tokenUrl || !nonceUrl || cfg.token || cfg.guest ? Promise.resolve() :
      fetch(nonceUrl)
        .then(function (r) { return r.ok && r.text(); })
        .then(function (n) {
          n = n && n.trim();
          cfg.guest = n === "";
          return n && fetch(tokenUrl, { headers: { "X-WP-Nonce": n } });
        })
        .then(function (r) { return r && r.ok && r.json(); })
        .then(function (j) { cfg.token = j && j.token; })
        .catch(function () {}));
  }

  function start(x, root, btn) {
    x.js = x.js || new Promise(function (ok, ko) {
      var e = d.createElement("script");
      e.src = new URL(x.script, list);
      e.onload = ok;
      e.onerror = function () { e.remove(); x.js = 0; ko(); };
      d.head.appendChild(e);
    });
    return Promise.all([identify(), x.js, x.style && new Promise(function (ok) {
      var e = d.createElement("link");
      e.rel = "stylesheet";
      e.href = new URL(x.style, list);
      e.onload = e.onerror = ok;
      root.appendChild(e);
    })]).then(function () { return w.StorecareWidgets[x.name](root, btn, cfg); });
  }

  function launcher(x) {
    var host = d.createElement("div"), root = host.attachShadow({ mode: "open" }), btn, widget, busy,
      s = x.side || "right";
    host.dataset.storecare = x.name;
    // Static markup only: no data ever goes through innerHTML.
    root.innerHTML = "<style>:host{all:initial}.sc-launch{position:fixed;bottom:20px;" +
      "z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:#1f2937;color:#fff;" +
      "display:grid;place-items:center;cursor:pointer;box-shadow:0 8px 24px rgba(17,24,39,.3);" +
      "transition:transform .15s}.sc-launch:hover{transform:translateY(-2px)}.sc-launch:focus-visible{" +
      "outline:3px solid #818cf8;outline-offset:3px}.sc-launch[aria-busy=true]{opacity:.7;cursor:progress}" +
      "@media(prefers-reduced-motion:reduce){.sc-launch{transition:none}}</style>" +
      "<button type=button class=sc-launch aria-expanded=false><svg width=26 height=26 viewBox=\"0 0 24 24\" " +
      "aria-hidden=true fill=none stroke=currentColor stroke-width=1.8 stroke-linecap=round " +
      "stroke-linejoin=round><path/></svg></button>";
    btn = root.querySelector("button");
    btn.style[s] = (at[s] = (at[s] || -48) + 68) + "px";
    btn.setAttribute("aria-controls", "sc-" + x.name);
    btn.setAttribute("aria-label", btn.title = x.label);
    root.querySelector("path").setAttribute("d", x.icon);
    btn.addEventListener("click", function () {
      if (widget) return widget.toggle();
      if (busy) return;
      busy = 1;
      btn.setAttribute("aria-busy", "true");
      start(x, root, btn).then(function (made) {
        widget = made;
        made.toggle();
      }).catch(function () {}).then(function () {
        busy = 0;
        btn.removeAttribute("aria-busy");
      });
    });
    d.body.appendChild(host);
  }

  // Inline: loaded when in view
  function inline(x) {
    d.querySelectorAll("[data-storecare-widget]").forEach(function (el) {
      if (el.dataset.storecareWidget != x.name || el.shadowRoot) return;
      var root = el.attachShadow({ mode: "open" }), seen = new IntersectionObserver(function (e) {
        if (!e[0].isIntersecting) return;
        seen.disconnect();
        start(x, root, null).catch(function () {});
      }, { rootMargin: "200px" });
      seen.observe(el);
    });
  }

  idle(function () {
    fetch(list).then(function (r) { return r.ok && r.json(); }).then(function (m) {
      ((m && m.widgets) || []).forEach(function (x) { x.mount == "inline" ? inline(x) : launcher(x); });
    }).catch(function () {});
  }, { timeout: 3000 });
})(window, document);
