// A stand-in for Shopify's App Bridge (https://cdn.shopify.com/shopifycloud/app-bridge.js), which tests
// cannot reach: served in its place by Playwright's routing. It does what the app relies on, the way the
// real one documents it: reads the shopify-api-key meta tag; shopify.idToken() gives a fresh ID token
// (here minted with the test app's secret: HS256, iss/dest the shop, aud the API key, a new jti each
// time); fetch to the app's own origin gets one in its Authorization header; <ui-nav-menu> links are
// reported to the Shopify admin around the frame, which clicks the link when the merchant picks it (an
// unhandled click reloads the frame, as App Bridge does); <ui-title-bar>'s title and shopify.toast.show
// go to that admin too; shopify.scopes.request opens no modal and grants what it is asked for; the
// "shopify-reload" bounce page reloads its target with a fresh token.
(function () {
  "use strict";
  var SECRET = "__SECRET__", SHOP = "__SHOP__", SESSION = "__SESSION__";
  var meta = document.querySelector('meta[name="shopify-api-key"]');
  var apiKey = meta ? meta.content : (document.currentScript && document.currentScript.dataset.apiKey);
  if (!apiKey) { throw new Error("App Bridge: no shopify-api-key meta tag"); }
  var minted = 0;
  var tell = function (message) { window.parent.postMessage(message, "*"); };

  function base64url(bytes) {
    var text = "";
    bytes.forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  var encode = function (text) { return new TextEncoder().encode(text); };

  function idToken() {
    var now = Math.floor(Date.now() / 1000);
    minted += 1;
    var claims = {iss: "https://" + SHOP + "/admin", dest: "https://" + SHOP, aud: apiKey, sub: "7001",
                  exp: now + 60, nbf: now - 1, iat: now - 1, sid: SESSION,
                  jti: "jti-" + minted + "-" + Math.random().toString(36).slice(2)};
    var unsigned = base64url(encode(JSON.stringify({alg: "HS256", typ: "JWT"}))) + "." +
                   base64url(encode(JSON.stringify(claims)));
    return crypto.subtle.importKey("raw", encode(SECRET), {name: "HMAC", hash: "SHA-256"}, false, ["sign"])
      .then(function (key) { return crypto.subtle.sign("HMAC", key, encode(unsigned)); })
      .then(function (signature) { return unsigned + "." + base64url(new Uint8Array(signature)); });
  }

  var originalFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = new URL(typeof input === "string" ? input : input.url, location.href);
    init = init || {};
    var headers = new Headers(init.headers || {});
    if (url.origin !== location.origin || headers.has("Authorization")) { return originalFetch(input, init); }
    return idToken().then(function (token) {
      headers.set("Authorization", "Bearer " + token);
      return originalFetch(input, Object.assign({}, init, {headers: headers}));
    });
  };

  window.shopify = {
    config: {apiKey: apiKey, shop: SHOP},
    idToken: idToken,
    toast: {
      show: function (message, options) {
        tell({type: "toast", message: message, error: Boolean(options && options.isError)});
        return "toast-" + Date.now();
      },
      hide: function () {}
    }
  };
  // shopify.scopes.request: the merchant approves every scope asked for in Shopify's modal.
  var requested = [];
  window.shopify.scopes = {
    request: function (scopes) {
      requested.push(scopes.slice());
      tell({type: "scopes", scopes: scopes});
      return Promise.resolve({result: "granted-all", detail: {granted: scopes, required: [], optional: scopes}});
    }
  };
  window.__appBridgeStandIn = {minted: function () { return minted; }, requested: function () { return requested; }};

  // The "patch ID token" page: App Bridge reloads the target with a fresh token.
  var reload = new URL(location.href).searchParams.get("shopify-reload");
  if (reload) {
    idToken().then(function (token) {
      var target = new URL(reload, location.href);
      target.searchParams.set("id_token", token);
      location.replace(target.href);
    });
  }

  function reportMenu(menu) {
    var links = Array.prototype.map.call(menu.querySelectorAll("a"), function (a) {
      Array.prototype.forEach.call(a.attributes, function (attribute) {
        if (["href", "rel"].indexOf(attribute.name) < 0) {
          throw new Error("Unexpected attributes on <a>: " + attribute.name);  // as App Bridge refuses them
        }
      });
      return {href: a.getAttribute("href"), label: a.textContent.trim(), home: a.rel === "home"};
    });
    if (!links.length || !links[0].home) { throw new Error("App Bridge: the first nav link needs rel=home"); }
    tell({type: "nav", links: links});
  }

  customElements.define("ui-nav-menu", class extends HTMLElement {
    connectedCallback() {
      var menu = this;
      setTimeout(function () { if (menu.isConnected) { reportMenu(menu); } });
    }
  });
  customElements.define("ui-title-bar", class extends HTMLElement {
    static get observedAttributes() { return ["title"]; }
    connectedCallback() { tell({type: "title", title: this.getAttribute("title") || document.title}); }
    attributeChangedCallback() { if (this.isConnected) { this.connectedCallback(); } }
  });

  window.addEventListener("message", function (event) {
    var message = event.data || {};
    if (event.source !== window.parent || message.type !== "navigate") { return; }
    var menu = document.querySelector("ui-nav-menu");
    var link = menu && Array.prototype.find.call(menu.querySelectorAll("a"), function (a) {
      return a.getAttribute("href") === message.href;
    });
    if (!link) { return; }
    // A click nobody prevents follows the link: the frame reloads, as with App Bridge.
    link.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, view: window}));
  });
})();
