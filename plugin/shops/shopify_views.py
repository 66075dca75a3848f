"""Shopify's ways in: the authorization-code grant and the embedded admin's entry point.

- ``bp`` (/auth/shopify): ``/install`` verifies Shopify's signed request and sends the merchant to the
  grant screen with a single-use state, also kept in a signed, short-lived cookie of this browser;
  ``/callback`` checks both, installs the shop and signs the merchant in to our admin.
- ``embedded`` (nested in the admin blueprint: /admin/shopify, so the admin's error pages, security
  headers and request session apply): the App URL Shopify loads in its iframe with ``id_token``, or
  that App Bridge calls with ``Authorization: Bearer <session token>``. A verified token installs the
  shop when we hold no offline token that works (token exchange) and the page goes on to the overview
  with the same token; an invalid one gets 401 with ``X-Shopify-Retry-Invalid-Session-Request: 1``,
  which makes App Bridge retry with a fresh token.

Inside Shopify's iframe a cookie of ours is a third-party cookie, which browsers that block them
(Safari) refuse: so nothing here signs in with a cookie. Every admin request from inside Shopify is
signed in by its own ID token (``plugin.admin.embedded``).
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import escape

from adapters.shopify.oauth import GrantRefused
from plugin.admin.auth import sign_in, sign_out
from plugin.admin.embedded import APP_BRIDGE, RETRY_HEADER, SHOPIFY_ADMIN, frame_ancestors  # noqa: F401
from plugin.admin.kit import public
from plugin.extensions import db
from plugin.problems import Problem, prefers_html, problem_response
from plugin.security import (
    InvalidSessionToken,
    InvalidShopDomain,
    SecurityError,
    shopify_shop_domain,
    verify_session_token,
)
from plugin.shops import shopify

log = logging.getLogger(__name__)
bp = Blueprint("shopify_auth", __name__, url_prefix="/auth/shopify")
embedded = Blueprint("shopify", __name__, url_prefix="/shopify")

STATE_COOKIE = "storecare_shopify_state"
STATE_SALT = "storecare-shopify-state"
RELOAD_PARAM = "shopify-reload"
# What the overview keeps of Shopify's query when the entry point hands the page on to it.
PASSED_ON = ("embedded", "host", "id_token", "locale", "shop")


# -- the authorization-code grant ----------------------------------------------------------------

def _state_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STATE_SALT)


def _browser_nonce() -> str | None:
    try:
        value = _state_serializer().loads(request.cookies.get(STATE_COOKIE, ""),
                                          max_age=int(shopify.STATE_TTL.total_seconds()))
    except BadData:
        return None
    return value if isinstance(value, str) else None


def _refused(exc: Exception):
    """Answer a refused install step: a page for a browser, a problem document otherwise."""
    status = 400 if isinstance(exc, InvalidShopDomain) else getattr(exc, "status", 401)
    detail = str(exc) if isinstance(exc, shopify.ShopifyAuthError) else \
        "This request did not come from Shopify or has expired. Start again from your Shopify admin."
    log.info("shopify install step refused (%s): %s", status, exc)
    if prefers_html():
        response = current_app.make_response(
            (render_template("admin/signed_out.html", detail=detail), status))
    else:
        titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 503: "Service Unavailable"}
        response = problem_response(status, titles.get(status, "Error"), detail)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(STATE_COOKIE, path=bp.url_prefix)
    return response


@bp.get("/install")
def install():
    try:
        start = shopify.begin_install(db, request.args.items(multi=True))
    except (SecurityError, shopify.ShopifyAuthError) as exc:
        return _refused(exc)
    return remember_state(redirect(start.authorize_url), start.nonce)


def remember_state(response, nonce: str, app=None):
    """``response`` (the redirect to Shopify's grant screen) with the grant's state bound to this browser:
    a signed, short-lived cookie that only the callback's path receives."""
    app = app or current_app
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(STATE_COOKIE, _state_serializer().dumps(nonce),
                        max_age=int(shopify.STATE_TTL.total_seconds()), path=bp.url_prefix, httponly=True,
                        secure=app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


@bp.get("/callback")
def callback():
    try:
        shop = shopify.complete_install(db, request.args.items(multi=True), _browser_nonce())
    except (SecurityError, shopify.ShopifyAuthError) as exc:
        return _refused(exc)
    sign_in(shop)
    response = redirect(url_for("admin.overview"))
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(STATE_COOKIE, path=bp.url_prefix)
    return response


# -- the embedded admin --------------------------------------------------------------------------

def _query_shop() -> str | None:
    try:
        return shopify_shop_domain(request.args.get("shop"))
    except InvalidShopDomain:
        return None


def _session_token() -> tuple[str | None, bool]:
    """(token, came in the Authorization header). A header that is not a Bearer token is an empty token."""
    header = request.headers.get("Authorization")
    if header is not None:
        return (header[7:].strip() if header.startswith("Bearer ") else ""), True
    return request.args.get("id_token") or None, False


def _invalid_session(from_header: bool, detail: str):
    """401 that App Bridge answers by retrying with a fresh session token; nobody stays signed in.

    Fetches get the problem document returned; document loads raise, so that the admin blueprint's
    error handler renders its signed-out page (with the same header) inside Shopify's iframe.
    """
    sign_out()
    headers = {RETRY_HEADER: "1"}
    if from_header or not prefers_html():
        return problem_response(401, "Unauthorized", detail, headers=headers)
    g.embedded_shop_domain = _query_shop()  # lets that shop's admin show the page; it holds no data
    raise Problem(401, "Unauthorized", detail, headers=headers)


@embedded.get("")
@public
def entry():
    try:
        client_id, secret = shopify.app_credentials()
    except shopify.ShopifyNotConfigured as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    token, from_header = _session_token()
    if token is None:  # a document load without its id_token: App Bridge fetches one and reloads
        shop = _query_shop()
        if shop is not None and prefers_html():
            query = [(k, v) for k, v in request.args.items(multi=True) if k != "id_token"]
            target = request.path + ("?" + urlencode(query) if query else "")
            return redirect(url_for(".session_token", shop=shop, **{RELOAD_PARAM: target}))
        return _invalid_session(from_header, "Open Storecare from your Shopify admin.")
    try:
        claims = verify_session_token(token, client_id=client_id, secret=secret)
    except InvalidSessionToken as exc:
        log.info("shopify session token refused: %s", exc)
        return _invalid_session(from_header, "Your Shopify session has expired. Reload the app.")
    try:
        shop = shopify.enter_embedded(db, claims, token)
    except GrantRefused as exc:
        log.info("shopify refused to exchange a session token for %s: %s", claims.shop, exc.error)
        return _invalid_session(from_header, "Your Shopify session has expired. Reload the app.")
    except shopify.InstallUnavailable as exc:
        raise Problem(503, "Service Unavailable", str(exc), headers={"Retry-After": "5"}) from None
    g.embedded_shop_domain = shop.domain
    if from_header:
        return jsonify({"shop": shop.domain, "signed_in": True})
    # The overview is signed in by the same, just verified token (Shopify's query carries it on).
    passed = [(key, value) for key, value in request.args.items(multi=True) if key in PASSED_ON]
    return redirect(url_for("admin.overview") + "?" + urlencode(passed))


def _own_path(target: str) -> bool:
    parts = urlsplit(target)
    return (not parts.scheme and not parts.netloc and "\\" not in target
            and parts.path == url_for(".entry"))


@embedded.get("/session-token")
@public
def session_token():
    """Shopify's "patch ID token" page: App Bridge gets a fresh session token, loads ``shopify-reload``."""
    try:
        client_id, _secret = shopify.app_credentials()
    except shopify.ShopifyNotConfigured as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    shop = _query_shop()
    if shop is None or not _own_path(request.args.get(RELOAD_PARAM, "")):
        raise Problem(400, "Bad Request", "Open Storecare from your Shopify admin.")
    body = (f'<!doctype html><meta charset="utf-8">'
            f'<script data-api-key="{escape(client_id)}" src="{APP_BRIDGE}"></script>')
    response = current_app.make_response((body, 200, {"Content-Type": "text/html; charset=utf-8"}))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {APP_BRIDGE}; connect-src 'self' https://*.shopify.com; "
        f"base-uri 'none'; object-src 'none'; frame-ancestors {frame_ancestors(shop)}")
    response.headers["Link"] = f'<{APP_BRIDGE}>; rel="preload"; as="script"'
    return response
