// Storecare admin: small progressive enhancements; outside Shopify every page works without this file.
(function () {
  "use strict";
  // A form sends once: a second click while the first request is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    var button = event.submitter || form.querySelector("button[type=submit]");
    if (button) { button.setAttribute("aria-busy", "true"); }
  });
  // Coming back through the history cache: the forms are usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(release);
  });

  function release(form) {
    delete form.dataset.submitting;
    form.querySelectorAll("[aria-busy]").forEach(function (b) { b.removeAttribute("aria-busy"); });
  }

  // Inside Shopify (the page says so, and App Bridge is loaded): no request may depend on our cookie,
  // which the browser may refuse in Shopify's frame. Every link and form of the admin becomes a fetch
  // sent with a fresh ID token from App Bridge (Authorization: Bearer), never with cookies; the page
  // that comes back replaces this one's body, and the address follows in the history. Messages of
  // success become App Bridge toasts.
  var root = document.documentElement;
  if (!root.hasAttribute("data-embedded") || !window.shopify) { return; }
  var RETRY = "X-Shopify-Retry-Invalid-Session-Request";

  function adminUrl(href) {
    var url = new URL(href, location.href);
    return url.origin === location.origin && url.pathname.indexOf("/admin/") === 0 ? url : null;
  }

  function withoutToken(href) {
    var url = new URL(href, location.href);
    url.searchParams.delete("id_token");
    return url.href;
  }

  // Shopify's document load carries an ID token in the address: it is spent, leave it out of history.
  if (new URL(location.href).searchParams.has("id_token")) {
    history.replaceState(history.state, "", withoutToken(location.href));
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
        event.altKey) { return; }
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || (link.target && link.target !== "_self") || link.hasAttribute("download")) { return; }
    var url = adminUrl(link.getAttribute("href"));
    if (!url) { return; }
    var here = new URL(location.href);
    if (url.hash && url.pathname === here.pathname && url.search === here.search) { return; }
    event.preventDefault();  // App Bridge's nav menu clicks its links too: a prevented click is ours
    visit(url.href, {});
  });

  // "Approve permissions": App Bridge asks the merchant for the optional scopes the banner names, then
  // the form goes on (whatever the answer): the server asks Shopify what is granted now and says so.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var wanted = form.getAttribute("data-request-scopes");
    if (!wanted || form.dataset.scopesAsked === "1" || !window.shopify.scopes) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    window.shopify.scopes.request(wanted.split(" ")).then(function () {
      form.dataset.scopesAsked = "1";
      setTimeout(function () { form.requestSubmit(); });  // not while this submit event is still firing
    }, function () { release(form); });
  }, true);

  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    var form = event.target;
    var url = adminUrl(form.getAttribute("action") || location.href);
    if (!url) { return; }
    event.preventDefault();
    var data = formData(form, event.submitter);
    if ((form.getAttribute("method") || "get").toLowerCase() === "get") {
      url.search = new URLSearchParams(data).toString();
      visit(url.href, {form: form});
    } else {
      visit(url.href, {method: "POST", body: new URLSearchParams(data), form: form});
    }
  });

  window.addEventListener("popstate", function () { visit(location.href, {history: false}); });

  function formData(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    return data;
  }

  function send(href, options, retried) {
    return window.shopify.idToken().then(function (token) {
      return window.fetch(href, {
        method: options.method || "GET", body: options.body, credentials: "omit", cache: "no-store",
        headers: {"Authorization": "Bearer " + token, "Accept": "text/html"}
      });
    }).then(function (response) {
      if (response.status === 401 && response.headers.get(RETRY) === "1" && !retried) {
        return send(href, options, true);  // the token expired on the way: once more with a new one
      }
      return response;
    });
  }

  function visit(href, options) {
    return send(href, options, false).then(function (response) {
      var disposition = response.headers.get("Content-Disposition") || "";
      if (/^\s*attachment/i.test(disposition)) { return download(response, disposition, options); }
      return response.text().then(function (html) {
        var moved = response.redirected || !options.method;
        render(html);
        if (options.history !== false && moved) {
          var target = withoutToken(response.url || href);
          if (target === location.href) { history.replaceState({}, "", target); }
          else { history.pushState({}, "", target); }
        }
        // Scroll this frame only (scrollIntoView would scroll Shopify's page around it too).
        var hash = new URL(response.url || href).hash;
        var anchor = hash && document.getElementById(decodeURIComponent(hash.slice(1)));
        window.scrollTo(0, anchor ? anchor.getBoundingClientRect().top + window.scrollY : 0);
        var alert = document.querySelector("[data-form-errors]");
        if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus({preventScroll: true}); }
        announce();
      });
    }).catch(function () {
      if (options.form) { release(options.form); }
      window.shopify.toast.show(root.getAttribute("data-network-error") || "Network error", {isError: true});
    });
  }

  function download(response, disposition, options) {
    var match = /filename="?([^";]+)"?/i.exec(disposition);
    return response.blob().then(function (blob) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = match ? match[1] : "download";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
      if (options.form) { release(options.form); }
    });
  }

  function render(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    document.title = page.title;
    root.lang = page.documentElement.lang || root.lang;
    // The nav menu stays as it is when it did not change: App Bridge keeps Shopify's sidebar from it.
    var menu = document.querySelector("body > ui-nav-menu");
    var next = page.querySelector("body > ui-nav-menu");
    var keep = menu && next && menu.outerHTML === next.outerHTML;
    Array.prototype.slice.call(document.body.childNodes).forEach(function (node) {
      if (!(keep && node === menu)) { node.remove(); }
    });
    Array.prototype.slice.call(page.body.childNodes).forEach(function (node) {
      if (!(keep && node === next)) { document.body.appendChild(document.adoptNode(node)); }
    });
    document.body.className = page.body.className;
  }

  // What the server flashed after a save is said by App Bridge's toast; warnings stay on the page.
  function announce() {
    document.querySelectorAll("[data-flash=success], [data-flash=info]").forEach(function (banner) {
      window.shopify.toast.show(banner.textContent.trim());
      var list = banner.parentNode;
      banner.remove();
      if (list && !list.children.length) { list.remove(); }
    });
  }

  announce();
})();
