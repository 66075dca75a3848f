"""The admin kit: what every admin page gets, whichever feature's blueprint it is on.

``admin_blueprint(name, import_name)`` makes a Flask blueprint (under ``/admin/<name>`` unless told
otherwise) whose views get, by construction:

- **sign-in**: a view runs only for a signed-in, installed shop, loaded into ``g.shop`` (every query
  then filters by ``g.shop.id``); anyone else gets the signed-out page (401). Inside Shopify the shop
  comes from the request's ID token (``plugin.admin.embedded``), elsewhere from the admin session
  (``plugin.admin.auth``). Views that must work signed out (sign-in links, the language switch) are
  marked ``@public``.
- **CSRF**: every POST, PUT, PATCH or DELETE carries the form's token (``plugin.admin.csrf``), except a
  request authenticated by a Shopify ID token, which the browser never sends on its own.
- **security headers**: a Content-Security-Policy whose ``frame-ancestors`` lets only a Shopify shop's
  own admin frame the page (nobody else's pages may), ``nosniff``, ``no-store``.
- **the layout**: ``admin/layout.html``'s context (navigation, language, the shop, formatting helpers,
  App Bridge inside Shopify), so a feature's template extends ``admin/layout.html`` and nothing more.
- **error pages**: a ``Problem``, a ``RecordNotFound`` or any HTTP error is a page in the layout for a
  browser and ``application/problem+json`` for API callers and under ``.../api/``.
- **teardown**: one request's shop and language never leak into the next; its database session closes.
- **ids in addresses**: the ``<id:...>`` converter takes 1 to 2^63 - 1 only, so an id past the
  database's integer range is no page (404) rather than an error from the database driver.

The same error pages serve the rest of the app (``install``): a browser that meets an error anywhere
gets a page in the admin's language, with its navigation when it is signed in; an API client gets the
problem document.
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, refresh
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from plugin.admin import embedded
from plugin.admin.auth import close_request_session, load_signed_in_shop, request_session, signed_in_quietly
from plugin.admin.csrf import check_csrf, csrf_token
from plugin.admin.formatting import LANGUAGES, day, money, status_label, status_tone, when
from plugin.admin.nav import nav_items
from plugin.admin.service import RecordNotFound
from plugin.admin.shopper_text import person_name, plain_text, shopper_text
from plugin.db import MAX_INTEGER
from plugin.problems import ERROR_PAGE_KEY, Problem, prefers_html, problem_response

log = logging.getLogger(__name__)

ADMIN_ROOT = "/admin/"
KIT_KEY = "storecare.admin_blueprints"  # names of the blueprints made here, registered in an app
BASE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'{scripts}; "
            "connect-src 'self'{connect}; form-action 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
MAX_ID = 2**63 - 1  # the largest id either database stores (SQLite INTEGER, PostgreSQL BIGINT)
ID32 = f"id(max={MAX_INTEGER})"  # ``<{ID32}:name>``: an id of a table whose ids are INTEGERs


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id in an address, 1 to 2^63 - 1. Anything else matches no route (404)."""

    def __init__(self, url_map, min: int = 1, max: int = MAX_ID) -> None:
        super().__init__(url_map, min=min, max=max)


def public(view):
    """Mark an admin view that works without a signed-in shop (sign-in links, the language switch)."""
    view.admin_public = True
    return view


def admin_blueprint(name: str, import_name: str, *, url_prefix: str | None = None, **options) -> Blueprint:
    """A blueprint whose views get the admin's sign-in, CSRF, security headers, layout, error pages and
    teardown (see the module's docstring). ``url_prefix`` defaults to ``/admin/<name>``."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix or f"/admin/{name}", **options)
    # Recorded before any route, so the converter exists when the blueprint's rules are added.
    bp.record_once(lambda state: state.app.url_map.converters.setdefault("id", IdConverter))
    bp.record(lambda state: state.app.extensions.setdefault(KIT_KEY, set()).add(state.name))
    bp.before_request(_start)
    bp.after_request(_secure)
    bp.teardown_request(_finish)
    bp.context_processor(layout_context)
    bp.register_error_handler(Problem, _problem)
    bp.register_error_handler(RecordNotFound, _not_found)
    return bp


def install(app) -> None:
    """App-wide parts: every request's admin database session closes (install callbacks sign in too),
    browsers get error pages, and admin requests signed in by an ID token keep their session data on
    the server (``plugin.admin.embedded.AdminSessionInterface``); templates get the merchant's words for
    background work (``plugin.admin.explanations``)."""
    from plugin.admin import explanations

    explanations.init_app(app)
    app.teardown_request(lambda _exc: close_request_session())
    app.extensions[ERROR_PAGE_KEY] = browser_error_page
    app.session_interface = embedded.AdminSessionInterface()


# -- request plumbing

def _is_public() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "admin_public", False))


def _start() -> None:
    g.pop("shop", None)  # an app context may outlive a request (tests): start clean
    g.pop("embedded_shop_domain", None)
    refresh()
    identity = embedded.identity(public=_is_public())
    if identity is None:
        check_csrf()
    if _is_public():
        return
    if identity is not None:
        g.shop = embedded.installed_shop(request_session(), identity)
    else:
        g.shop = load_signed_in_shop()
    refresh()  # the language may depend on the shop


def _secure(response):
    return secure(response)


def secure(response, shop=None):
    """The admin's security headers on ``response`` (those it already has are kept)."""
    shop = shop if shop is not None else g.get("shop")
    scripts = connect = ""
    if embedded.loads_app_bridge(shop):  # App Bridge's script, and the ID tokens and vitals it sends
        scripts, connect = f" {embedded.APP_BRIDGE_ORIGIN}", " https://*.shopify.com"
    csp = BASE_CSP.format(scripts=scripts, connect=connect)
    response.headers.setdefault("Content-Security-Policy",
                                f"{csp}; frame-ancestors {embedded.frame_ancestors(_embedding_shop(shop))}")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _embedding_shop(shop) -> str | None:
    if shop is not None and shop.platform == "shopify":
        return shop.domain
    return g.get("embedded_shop_domain")  # set by the embedded entry point once it knows the shop


def _finish(_exc) -> None:
    g.pop("shop", None)
    refresh()


# -- the layout

def layout_context() -> dict:
    shop = g.get("shop")
    return {
        "csrf_token": csrf_token, "money": money, "when": when, "day": day,
        "status_label": status_label, "status_tone": status_tone,
        "languages": LANGUAGES, "current_lang": str(get_locale() or "en"), "here": _here(),
        "shop": shop, "nav": _navigation() if shop is not None else [],
        "bdi": shopper_text, "person": person_name, "plain_text": plain_text,
        "reauth_url": _reauth_url(shop), "embedded": embedded.is_embedded(),
        "app_bridge": embedded.app_bridge_context(shop), "permissions": _pending_permissions(shop),
    }


def _reauth_url(shop) -> str | None:
    """Where the merchant of a shop whose platform refused our credentials goes to fix it (the banner)."""
    from plugin.admin import connection as connection_page

    return connection_page.reauth_url(shop) if shop is not None and shop.needs_reauth else None


def _pending_permissions(shop):
    """The permissions the shop has not granted yet, for the banner "Storecare needs new permissions"
    (None for a shop that lacks none, or whose platform's access is all or nothing)."""
    from plugin.admin import connection as connection_page
    from plugin.shops.permissions import pending_permissions

    if shop is None or shop.needs_reauth:  # the re-authorisation banner says more, and fixes both
        return None
    pending = pending_permissions(request_session(), shop)
    if pending is None:
        return None
    return {"labels": pending.labels, "required": pending.required, "optional": pending.optional,
            "in_shopify_url": connection_page.reauth_url(shop)}


def _navigation() -> list[dict]:
    entries = [{"item": item, "url": url_for(item.endpoint)} for item in nav_items(current_app)]
    for entry in entries:
        entry["covers"] = (entry["item"].section or entry["url"]).rstrip("/")
    matching = [e for e in entries if request.path == e["covers"] or request.path.startswith(e["covers"] + "/")]
    active = max(matching, key=lambda e: len(e["covers"]), default=None)
    for entry in entries:
        entry["active"] = entry is active
    return entries


def _here() -> str:
    """This page's address, for forms that come back to it (the ID token of Shopify's load left out)."""
    query = urlencode([(key, value) for key, value in request.args.items(multi=True) if key != "id_token"])
    return request.path + (f"?{query}" if query else "")


def back(default: str = "admin.overview"):
    """Redirect to the form's ``next`` if it is a page of the admin, else to the endpoint ``default``."""
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if target.startswith(ADMIN_ROOT) and not parts.scheme and not parts.netloc and "\\" not in target:
        return redirect(target)
    return redirect(url_for(default))


# -- errors

def _is_api() -> bool:
    """Under /admin/, an address with an ``api`` part is for scripts: it answers problem documents."""
    return request.path.startswith(ADMIN_ROOT) and "/api/" in request.path[len(ADMIN_ROOT) - 1:]


def error_response(status: int, title: str, detail: str | None, headers: dict | None = None,
                   type_: str = "about:blank"):
    """An admin error: a page for a browser (the signed-out page for 401), else a problem document."""
    if _is_api() or not (status == 401 or prefers_html()):
        return problem_response(status, title, detail, type_, headers=headers)
    page = browser_error_page(status, title, detail, headers, as_given=True)
    return page if page is not None else problem_response(status, title, detail, type_, headers=headers)


def _problem(exc: Problem):
    return error_response(exc.status, exc.title, exc.detail, exc.headers, exc.type)


def _not_found(exc: RecordNotFound):
    details = {
        "order": gettext("This order is not in your store's synced orders."),
        "customer": gettext("This customer is not in your store's synced customers."),
        "job": gettext("This job is not one of your store's jobs."),
        "export": gettext("This export is not one of your store's privacy requests."),
    }
    return error_response(404, "Not Found", details.get(exc.kind, gettext("We could not find that.")))


def _page_detail(status: int, detail: str | None, exc: BaseException | None, as_given: bool) -> str | None:
    """What a browser's error page says: our own words for HTTP errors (werkzeug's are English only)."""
    if as_given or isinstance(exc, Problem):
        return detail
    if status == 404:
        if request.path.startswith(ADMIN_ROOT):
            return gettext("This page is not part of Storecare's admin. Check the address, or start from "
                           "the overview.")
        return gettext("There is no page at this address. Check the address, or open Storecare from your "
                       "store's admin.")
    if status == 405:
        return gettext("This address does not take that kind of request.")
    if status == 413:
        return gettext("What was sent is larger than Storecare accepts.")
    if status == 429:
        return gettext("Too many requests in a short time. Wait a moment and try again.")
    if status >= 500:
        return gettext("Something went wrong on our side. Quote the request id if you contact us.")
    return detail if not isinstance(exc, HTTPException) else None


def browser_error_page(status: int, title: str, detail: str | None, headers: dict | None = None,
                       exc: BaseException | None = None, *, as_given: bool = False):
    """The page a browser gets for an error no blueprint answered (no route, a 500, a problem raised
    outside the admin), and for the admin's own errors: in the layout with the navigation when the
    browser is signed in, else on a card; in the language the admin speaks to it. ``detail`` is shown as
    given (``as_given``, a ``Problem``) or replaced by our words for the status. None if the page cannot
    be drawn (the caller then answers with the problem document). Addresses for scripts
    (``/admin/.../api/...``) get no page."""
    if _is_api():
        return None
    found = None
    try:
        if status >= 500 and "admin_db" in g:
            request_session().rollback()  # the failed transaction is over; the page may read the shop
        shop = g.get("shop")
        if shop is None and status != 401:
            shop = found = embedded.signed_in_quietly(request_session()) or signed_in_quietly()
            if found is not None:
                g.shop = found  # for the language and the layout of this page only
        refresh()  # the language of the shop, or of the choice, whichever request this is
        text = _page_detail(status, detail, exc, as_given)
        if status == 401:
            page = render_template("admin/signed_out.html", status=status, detail=text, **layout_context())
        elif shop is not None:
            page = render_template("admin/error.html", status=status, detail=text, **layout_context())
        else:
            page = render_template("admin/error_card.html", status=status, detail=text,
                                   back=request.path.startswith(ADMIN_ROOT), **layout_context())
        response = current_app.make_response((page, status, headers or {}))
        return secure(response, shop)
    except Exception:  # an error page must never fail the answer
        log.exception("the error page could not be drawn; answering with the problem document")
        return None
    finally:
        if found is not None:
            g.pop("shop", None)

