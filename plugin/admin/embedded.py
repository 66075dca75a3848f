"""The admin inside Shopify: every request is signed in by a fresh Shopify ID token, never by a cookie.

Inside Shopify's iframe our cookie is a third-party cookie, which Safari and Chrome with third-party
cookies blocked refuse. So an admin page of a Shopify shop loads App Bridge (``app_bridge_context``:
the ``shopify-api-key`` meta tag and Shopify's script, first in ``<head>``), and inside Shopify
(``is_embedded``) the page's script (static/admin/admin.js) makes every navigation and form post a
``fetch`` that App Bridge sends with ``Authorization: Bearer <ID token>``, a fresh token each time;
Shopify's own document loads carry one as ``?id_token=``. The server verifies it
(``plugin.security.verify_session_token``) and takes the shop from it (``installed_shop``); an invalid
one gets 401 with ``X-Shopify-Retry-Invalid-Session-Request: 1``, on which App Bridge retries with a
new token. Such a request needs no CSRF token: the browser never sends an ID token on its own.

What the cookie session holds elsewhere (the language chosen, messages shown after a redirect) lives
on the server for these requests, in the ``admin_sessions`` row that the token's Shopify session
(``sid``) names (``AdminSessionInterface``); no cookie is set. Navigation is App Bridge's nav menu and
title bar, and saves are confirmed with its toast (admin/layout.html, admin.js).
"""
from __future__ import annotations

import logging

from flask import current_app, g, has_request_context, request
from flask.sessions import SecureCookieSession
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.admin import sessions
from plugin.db import utcnow
from plugin.problems import Problem
from plugin.security import CookieSessionInterface, InvalidSessionToken, SessionToken, verify_session_token
from plugin.shops.models import Shop

log = logging.getLogger(__name__)

APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
APP_BRIDGE_ORIGIN = "https://cdn.shopify.com"
SHOPIFY_ADMIN = "https://admin.shopify.com"
RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"
ADMIN_ROOT = "/admin/"
_IDENTITY = "storecare.admin_identity"  # request.environ: the verified token's claims, or False
_SESSION_PREFIX = "shopify-id-token"


def frame_ancestors(shop_domain: str | None) -> str:
    """CSP frame-ancestors sources: the shop's admin for an embedded Shopify shop, else none."""
    return f"https://{shop_domain} {SHOPIFY_ADMIN}" if shop_domain else "'none'"


def _credentials(app) -> tuple[str, str] | None:
    settings = app.config["STORECARE_SETTINGS"]
    return (settings.shopify_api_key, settings.shopify_api_secret) if settings.shopify_enabled else None


def token_of(req) -> tuple[str | None, bool]:
    """(the ID token an admin request carries, whether it came in the Authorization header).

    App Bridge's ``fetch`` sends it in the header; Shopify's document loads in the ``id_token`` query
    parameter, which is read on GET only (a token in the address of a POST proves nothing a page did).
    """
    if not req.path.startswith(ADMIN_ROOT):
        return None, False
    header = req.headers.get("Authorization")
    if header is not None:
        return (header[7:].strip() if header.startswith("Bearer ") else ""), True
    if req.method in ("GET", "HEAD"):
        return req.args.get("id_token") or None, False
    return None, False


def _verified(req) -> SessionToken | None:
    """The claims of the request's ID token if it carries a valid one (cached for the request)."""
    cached = req.environ.get(_IDENTITY)
    if cached is not None:
        return cached or None
    token, _from_header = token_of(req)
    claims = None
    credentials = _credentials(current_app) if token is not None else None
    if credentials is not None:
        try:
            claims = verify_session_token(token, client_id=credentials[0], secret=credentials[1])
        except InvalidSessionToken as exc:
            log.info("admin request with an invalid shopify ID token: %s", exc)
    req.environ[_IDENTITY] = claims or False
    return claims


def identity(*, public: bool = False) -> SessionToken | None:
    """The verified ID token this admin request is signed in by, or None when it carries none.

    A request that carries one that is not valid (expired, forged, for another app) gets 401 with the
    header on which App Bridge retries with a fresh token; on a ``public`` view it counts as carrying
    none (the embedded entry point answers such tokens itself)."""
    token, _from_header = token_of(request)
    if token is None or _credentials(current_app) is None:
        return None
    claims = _verified(request)
    if claims is not None:
        return claims
    if public:
        return None
    detail = gettext("Your Shopify session has expired. Reload the app.")
    raise Problem(401, "Unauthorized", detail, headers={RETRY_HEADER: "1"})


def installed_shop(db: Session, claims: SessionToken) -> Shop:
    """The installed Shopify shop the token speaks for, or the 401 Problem (the merchant opens the app
    from Shopify again, which installs it: ``plugin.shops.shopify_views``)."""
    shop = db.scalar(select(Shop).where(Shop.platform == "shopify", Shop.domain == claims.shop,
                                        Shop.status == "installed"))
    if shop is None:
        g.embedded_shop_domain = claims.shop  # the signed-out page may show in that shop's admin
        raise Problem(401, "Unauthorized", gettext("Open Storecare from your Shopify admin."))
    return shop


def signed_in_quietly(db: Session) -> Shop | None:
    """The installed shop a valid ID token of this request speaks for, or None (error pages, which show
    the navigation to whoever is signed in and work for anyone)."""
    if not is_embedded():
        return None
    claims = _verified(request)
    return db.scalar(select(Shop).where(Shop.platform == "shopify", Shop.domain == claims.shop,
                                        Shop.status == "installed"))


def is_embedded() -> bool:
    """Whether this request came from an admin page inside Shopify (it carries a valid ID token)."""
    if not has_request_context() or token_of(request)[0] is None or _credentials(current_app) is None:
        return False
    return _verified(request) is not None


def loads_app_bridge(shop) -> bool:
    """A Shopify shop's admin pages load App Bridge (when this server is a Shopify app)."""
    return shop is not None and shop.platform == "shopify" and _credentials(current_app) is not None


def app_bridge_context(shop) -> dict | None:
    """What admin/layout.html needs to load App Bridge for ``shop``, or None."""
    if not loads_app_bridge(shop):
        return None
    return {"api_key": _credentials(current_app)[0], "script": APP_BRIDGE}


# -- the session of a request signed in by an ID token

class EmbeddedSession(SecureCookieSession):
    """Session data kept on the server under ``key`` (the Shopify user's session), never in a cookie."""

    def __init__(self, initial=None, *, key: str, shop: str):
        super().__init__(initial)
        self.key, self.shop = key, shop


def session_key(claims: SessionToken) -> str:
    """The shop and Shopify session (``sid``; the user, ``sub``, when a token has none) a token belongs to."""
    return f"{_SESSION_PREFIX}|{claims.shop}|{claims.session_id or claims.user_id or ''}"


class AdminSessionInterface(CookieSessionInterface):
    """The cookie session, except for admin requests signed in by a valid ID token: their session is
    read from and written to the server (``plugin.admin.sessions.read_data``/``write_data``)."""

    def open_session(self, app, req):
        claims = _verified(req) if token_of(req)[0] is not None else None
        if claims is None:
            return super().open_session(app, req)
        key = session_key(claims)
        with app.extensions["storecare.db"].uow() as db:
            data = sessions.read_data(db, key, utcnow())
        return EmbeddedSession(data, key=key, shop=claims.shop)

    def save_session(self, app, session, response):
        if not isinstance(session, EmbeddedSession):
            return super().save_session(app, session, response)
        if not session.modified:
            return None
        with app.extensions["storecare.db"].uow() as db:
            shop_id = db.scalar(select(Shop.id).where(Shop.platform == "shopify", Shop.domain == session.shop,
                                                      Shop.status == "installed"))
            if shop_id is not None:  # a shop not installed yet keeps nothing
                sessions.write_data(db, session.key, shop_id, dict(session), utcnow())
                db.commit()
        return None
