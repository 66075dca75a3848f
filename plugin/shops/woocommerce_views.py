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
"""
from __future__ import annotations

import logging
import secrets

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext

from adapters.woocommerce.auth import StoreUrlError
from plugin.admin.auth import sign_in
from plugin.admin.csrf import check_csrf, csrf_token
from plugin.extensions import db
from plugin.problems import problem_response
from plugin.shops import woocommerce
from plugin.shops.woocommerce_failures import UNUSED_KEY

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


def _outcome(message: str, status: int = 400, params: dict | None = None):
    """The outcome page; ``message`` is translated when the catalogue has it (messages marked ``N_``),
    then ``params`` filled in. A ``key_end`` among them names the key WooCommerce kept unused."""
    params = dict(params or {})
    key_end = params.pop("key_end", None)
    text = gettext(message, **params) if params else gettext(message)
    note = gettext(UNUSED_KEY, key_end=key_end) if key_end else None
    return render_template("connect/woocommerce_outcome.html", message=text, note=note), status


@bp.get("")
def form():
    return _page(store_url=request.args.get("store_url", "")[:2000])


@bp.post("")
def submit():
    check_csrf()
    store_url = request.form.get("store_url", "")[:2000]
    with db.uow() as db_session:
        try:
            started = woocommerce.start(db_session, store_url, browser_binder=_binder())
        except StoreUrlError as exc:
            return _page(400, store_url=store_url, error=gettext(str(exc)))
        except woocommerce.ConnectError as exc:
            return _outcome(exc.message, exc.status)
        db_session.commit()
    return redirect(started.authorize_url)


@bp.post("/start")
def start_from_wordpress():
    data = request.get_json(silent=True) if request.is_json else request.form
    store_url = str((data or {}).get("store_url", ""))[:2000]
    with db.uow() as db_session:
        try:
            started = woocommerce.start(db_session, store_url, browser_binder=None)
        except StoreUrlError as exc:
            return problem_response(400, "Bad Request", str(exc), errors={"store_url": [str(exc)]})
        except woocommerce.ConnectError as exc:
            return problem_response(exc.status, "Unavailable", exc.message)
        db_session.commit()
    return jsonify({"redirect_url": started.go_url,
                    "expires_in": int(woocommerce.TOKEN_TTL.total_seconds())})


@bp.get("/go")
def go():
    with db.uow() as db_session:
        try:
            target = woocommerce.bind_browser(db_session, request.args.get("user_id", ""), _binder())
        except woocommerce.ConnectError as exc:
            return _outcome(exc.message, exc.status)
        db_session.commit()
    return redirect(target)


@bp.post("/callback")
def callback():
    try:
        shop = woocommerce.complete(db, request.get_json(silent=True, force=True))
    except woocommerce.KeysNotVerified as exc:
        # 200, or WooCommerce deletes the key and shows the merchant only its own generic error; with it,
        # the browser comes back to /return, which shows what was recorded (WooCommerce ignores this body).
        log.info("woocommerce keys received but not verified: %s", exc.english())
        return jsonify({"status": "not_connected", "reason": exc.english()})
    except woocommerce.ConnectError as exc:
        log.info("woocommerce key handover refused (%s): %s", exc.status, exc.message)
        titles = {400: "Bad Request", 401: "Unauthorized", 503: "Service Unavailable"}
        return problem_response(exc.status, titles.get(exc.status, "Error"), exc.message)
    return jsonify({"status": "connected", "shop": shop.domain})


@bp.get("/return")
def landing():
    with db.uow() as db_session:
        try:
            shop = woocommerce.land(db_session, request.args.get("user_id", ""), session.get(BINDER),
                                    success=request.args.get("success") == "1")
        except woocommerce.ConnectError as exc:
            db_session.commit()
            return _outcome(exc.message, exc.status, exc.params)
        db_session.commit()
        sign_in(shop)
    flash(gettext("%(store)s is connected. Its orders and customers are being imported; the numbers "
                  "update as they arrive.", store=shop.domain), "success")
    return redirect(url_for("admin.overview"))
