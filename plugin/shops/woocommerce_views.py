"""/connect/woocommerce: the ways into a WooCommerce connection (see plugin/shops/woocommerce.py).

- ``GET  /connect/woocommerce``           the form: the store's address (``?store_url=`` prefills it)
- ``POST /connect/woocommerce``           the form sent: friendly errors, else to the store's approval
- ``POST /connect/woocommerce/start``     the WordPress plugin, server to server: ``store_url`` in, our
                                          ``redirect_url`` out (JSON), for the plugin to send the admin to
- ``GET  /connect/woocommerce/go``        that link: binds this browser, then to the store's approval
- ``POST /connect/woocommerce/callback``  WooCommerce's key handover (unsigned JSON); 200 keeps the key
                                          and sends the merchant's browser to the return page, also
                                          when the keys failed their first call (the page says why)
- ``GET  /connect/woocommerce/return``    the merchant back: signed in to the admin, or told why not
- ``POST /connect/woocommerce/hello``     the WordPress plugin, not connected yet, asks us to check (202;
                                          see plugin/shops/woocommerce_upkeep.py: nothing it sends is trusted)

A browser signed in to a WooCommerce shop's admin that starts (or follows the plugin's link to) a
connection records that shop on it: a reconnect from our admin proves it is the same store.
"""
from __future__ import annotations

import logging
import secrets

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext

from adapters.woocommerce.auth import StoreUrlError
from plugin.admin.auth import SESSION_SHOP, sign_in
from plugin.admin.csrf import check_csrf, csrf_token
from plugin.extensions import db
from plugin.problems import problem_response
from plugin.shops import woocommerce, woocommerce_upkeep

log = logging.getLogger(__name__)
bp = Blueprint("woocommerce_connect", __name__, url_prefix="/connect/woocommerce")
BINDER = "woocommerce_connect"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; form-action 'self' https: http:; "
                               "base-uri 'none'; object-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the return URL carries the token: never leak it onwards
    "Cache-Control": "no-store",
}


@bp.after_request
def _secure(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _binder() -> str:
    value = session.get(BINDER)
    if not isinstance(value, str) or len(value) < 32:
        value = secrets.token_urlsafe(32)
        session[BINDER] = value
    return value


def _page(status: int = 200, **context):
    context.setdefault("store_url", "")
    context.setdefault("error", None)
    return render_template("connect/woocommerce.html", csrf_token=csrf_token, **context), status


def _outcome(message: str, status: int = 400, note: str | None = None, params: dict | None = None):
    """The outcome page; ``message`` (and ``note``, a second sentence) are translated when the catalogue
    has them (messages marked ``N_``), then ``params`` filled in."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    text = gettext(message, **params) if params else gettext(message)
    if note:
        text = f"{text} {gettext(note, **params)}"
    return render_template("connect/woocommerce_outcome.html", message=text), status


@bp.get("")
def form():
    return _page(store_url=request.args.get("store_url", "")[:2000])


@bp.post("")
def submit():
    check_csrf()
    store_url = request.form.get("store_url", "")[:2000]
    try:
        started = woocommerce.start(db, store_url, browser_binder=_binder(),
                                    signed_in_shop_id=session.get(SESSION_SHOP))
    except StoreUrlError as exc:
        return _page(400, store_url=store_url, error=gettext(str(exc)))
    except woocommerce.ConnectError as exc:
        return _outcome(exc.message, exc.status)
    return redirect(started.authorize_url)


@bp.post("/start")
def start_from_wordpress():
    data = request.get_json(silent=True) if request.is_json else request.form
    store_url = str((data or {}).get("store_url", ""))[:2000]
    try:
        started = woocommerce.start(db, store_url, browser_binder=None)
    except StoreUrlError as exc:
        return problem_response(400, "Bad Request", str(exc), errors={"store_url": [str(exc)]})
    except woocommerce.ConnectError as exc:
        return problem_response(exc.status, "Unavailable", exc.message)
    return jsonify({"redirect_url": started.go_url,
                    "expires_in": int(woocommerce.TOKEN_TTL.total_seconds())})


@bp.post("/hello")
def hello_from_wordpress():
    data = request.get_json(silent=True) if request.is_json else request.form
    store_url = str((data or {}).get("store_url", ""))[:2000]
    try:
        woocommerce_upkeep.hello(db, store_url)
    except StoreUrlError as exc:
        return problem_response(400, "Bad Request", str(exc), errors={"store_url": [str(exc)]})
    return jsonify({"status": "accepted"}), 202  # the same answer whether or not we know the store


@bp.get("/go")
def go():
    try:
        target = woocommerce.bind_browser(db, request.args.get("user_id", ""), _binder(),
                                          signed_in_shop_id=session.get(SESSION_SHOP))
    except woocommerce.ConnectError as exc:
        return _outcome(exc.message, exc.status)
    return redirect(target)


@bp.post("/callback")
def callback():
    try:
        shop = woocommerce.complete(db, request.get_json(silent=True, force=True))
    except (woocommerce.KeysNotVerified, woocommerce.StoreAlreadyConnected) as exc:
        # 200, or WooCommerce deletes the key and shows the merchant only its own generic error; with it,
        # the browser comes back to /return, which shows what was recorded (WooCommerce ignores this body).
        log.info("woocommerce key handover not used: %s", exc.english())
        status = "not_connected" if isinstance(exc, woocommerce.KeysNotVerified) else "refused"
        return jsonify({"status": status, "detail": exc.english()})
    except woocommerce.ConnectError as exc:
        log.info("woocommerce key handover refused (%s): %s", exc.status, exc.message)
        titles = {400: "Bad Request", 401: "Unauthorized", 503: "Service Unavailable"}
        return problem_response(exc.status, titles.get(exc.status, "Error"), exc.message)
    return jsonify({"status": "connected", "shop": shop.domain})


@bp.get("/return")
def landing():
    try:
        landing = woocommerce.land(db, request.args.get("user_id", ""), session.get(BINDER),
                                   success=request.args.get("success") == "1",
                                   signed_in_shop_id=session.get(SESSION_SHOP))
    except woocommerce.ConnectError as exc:
        return _outcome(exc.message, exc.status, exc.note, exc.params)
    if landing.already_signed_in:  # this browser opened the page again after it signed in here
        return redirect(url_for("admin.overview"))
    shop = landing.shop
    sign_in(shop)
    flash(gettext("%(store)s is connected. Its orders and customers are being imported; the numbers "
                  "update as they arrive.", store=shop.domain), "success")
    return redirect(url_for("admin.overview"))
