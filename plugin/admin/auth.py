"""Who is signed in to the admin: one shop per browser session, kept on the server.

The ways in: a single-use login link that lives ten minutes (``login_url(shop_id)``; ``flask admin
login-link`` and the demo hand it out), the WordPress plugin's single-use "Open Storecare" link, the
end of an install, and the embedded Shopify admin's session token. Each calls ``sign_in``, which ends
the session the browser carried before, starts a new one (``plugin.admin.sessions``) and rotates the
cookie; the cookie holds the shop id and a random key naming the server-side row. Every admin page is
checked before its view runs (``load_signed_in_shop``, called by ``plugin.admin.kit`` for every admin
blueprint): the row's idle and absolute lifetimes (deleted rows are ended sessions), then the installed
Shop, loaded into ``g.shop``; queries then filter by ``g.shop.id``. Inside Shopify the admin is signed
in by the ID token of each request instead (``plugin.admin.embedded``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from flask import current_app, g, session
from flask_babel import gettext, ngettext, refresh
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.admin import sessions
from plugin.admin.sessions import SessionEnded, SignInLink
from plugin.db import utcnow
from plugin.i18n import SUPPORTED
from plugin.problems import Problem
from plugin.security import random_secret
from plugin.shops.models import Shop

LOGIN_SALT = "storecare-admin-login"
LOGIN_MAX_AGE = 600  # seconds
SESSION_SHOP = "shop_id"
SESSION_KEY = "admin_session"
KEPT_AT_SIGN_OUT = ("lang",)  # the signed-out page still speaks the language the merchant chose


class LoginError(Exception):
    """A login link cannot be used. The message is user-safe."""


class LoginExpired(LoginError):
    pass


class LoginInvalid(LoginError):
    pass


@dataclass(frozen=True)
class LoginLink:
    """A verified login link: the shop it signs in to, and what makes it single-use."""

    shop_id: int
    single_use: SignInLink


def _serializer(app=None) -> URLSafeTimedSerializer:
    app = app or current_app
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=LOGIN_SALT)


def login_token(shop_id: int, *, app=None) -> str:
    """A signed token for ``shop_id`` with a random nonce: every link is a different, single-use one."""
    return _serializer(app).dumps({"shop_id": int(shop_id), "nonce": random_secret(16)})


def login_url(shop_id: int, *, app=None) -> str:
    """The path (with its token) that signs a merchant in to ``shop_id``'s admin, once, within ten minutes."""
    app = app or current_app
    urls = app.url_map.bind("localhost", script_name=app.config.get("APPLICATION_ROOT") or "/")
    return urls.build("admin.login", {"token": login_token(shop_id, app=app)})


def read_login_token(token: str, *, max_age: int = LOGIN_MAX_AGE, app=None) -> LoginLink:
    """The shop a login token was made for and its single-use key; LoginError if it is expired or not
    ours. Tokens without a nonce (made before links were single-use) are not valid."""
    try:
        data, signed_at = _serializer(app).loads(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired as exc:
        raise LoginExpired("This sign-in link has expired.") from exc
    except BadData as exc:
        raise LoginInvalid("This sign-in link is not valid.") from exc
    shop_id = data.get("shop_id") if isinstance(data, dict) else None
    nonce = data.get("nonce") if isinstance(data, dict) else None
    if not isinstance(shop_id, int) or isinstance(shop_id, bool) or not isinstance(nonce, str) \
            or not 16 <= len(nonce) <= 64:
        raise LoginInvalid("This sign-in link is not valid.")
    return LoginLink(shop_id, SignInLink("login", nonce, signed_at + timedelta(seconds=max_age)))


def request_session() -> Session:
    """The database session of this request, closed (and rolled back) when the request ends."""
    if "admin_db" not in g:
        g.admin_db = current_app.extensions["storecare.db"].session()
    return g.admin_db


def close_request_session() -> None:
    db_session = g.pop("admin_db", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()


def installed_shop(db_session: Session, shop_id: object) -> Shop | None:
    if not isinstance(shop_id, int) or isinstance(shop_id, bool):
        return None
    return db_session.scalar(select(Shop).where(Shop.id == shop_id, Shop.status == "installed"))


def _browser_key() -> str | None:
    key = session.get(SESSION_KEY)
    return key if isinstance(key, str) and key else None


def sign_in(shop: Shop, *, link: SignInLink | None = None) -> None:
    """Sign this browser in to ``shop``: spend ``link`` (LinkAlreadyUsed if it was used before, and
    then nothing changes), end the session this browser carried, start a new one, commit, and rotate
    the cookie (nothing from before survives, the CSRF token neither)."""
    db = request_session()
    now = utcnow()
    try:
        if link is not None:
            sessions.spend_link(db, shop.id, link, now)
        key = sessions.start_session(db, shop.id, now, replacing=_browser_key())
        db.commit()
    except BaseException:
        db.rollback()
        raise
    session.clear()
    session[SESSION_SHOP] = shop.id
    session[SESSION_KEY] = key


def sign_out() -> None:
    """End this browser's session on the server and forget it in the cookie (the language it spoke in
    stays: the merchant's choice, else the shop's)."""
    key = _browser_key()
    if key is not None:
        db = request_session()
        sessions.end_session(db, key)
        db.commit()
    kept = {name: session[name] for name in KEPT_AT_SIGN_OUT if name in session}
    if "lang" not in kept:  # the shop's language, which its admin spoke without a choice
        shop = installed_shop(request_session(), session.get(SESSION_SHOP))
        if shop is not None and (shop.locale or "")[:2] in SUPPORTED:
            kept["lang"] = shop.locale[:2]
    session.clear()
    session.update(kept)


def _forget() -> None:
    session.pop(SESSION_SHOP, None)
    session.pop(SESSION_KEY, None)


def _live_session():
    """This browser's live server-side session (recording the page view), or SessionEnded."""
    key = _browser_key()
    if key is None:
        raise SessionEnded("none")
    row = sessions.check_session(request_session(), key, utcnow())
    if row.shop_id != session.get(SESSION_SHOP):
        raise SessionEnded("ended")
    return row


def signed_in_shop_id() -> int | None:
    """The shop this browser is signed in to right now, if any."""
    try:
        return _live_session().shop_id
    except SessionEnded:
        return None


def signed_out() -> Problem:
    return Problem(401, "Unauthorized",
                   gettext("You are not signed in to Storecare, or your session has ended."))


def session_ended(reason: str) -> Problem:
    """The 401 for a browser whose session is over, saying why when we know."""
    if reason == "idle":
        minutes = int(sessions.IDLE_LIFETIME.total_seconds() // 60)
        detail = ngettext("Your Storecare session ended after %(num)d minute without activity.",
                          "Your Storecare session ended after %(num)d minutes without activity.", minutes)
    elif reason == "none":
        return signed_out()
    else:
        detail = gettext("Your Storecare session has ended.")
    return Problem(401, "Unauthorized", detail)


def load_signed_in_shop() -> Shop:
    """The installed shop this browser's live session is signed in to, or the 401 Problem."""
    try:
        row = _live_session()
    except SessionEnded as exc:
        _forget()
        raise session_ended(exc.reason) from None
    shop = installed_shop(request_session(), row.shop_id)
    if shop is None:
        _forget()
        raise signed_out()
    return shop


def signed_in_quietly() -> Shop | None:
    """The shop this browser is signed in to, or None: for pages that show the navigation to a signed-in
    merchant and work for anyone (error pages). A request without the admin's cookie reads nothing."""
    if _browser_key() is None:
        return None
    try:
        return load_signed_in_shop()
    except Problem:
        return None


def require_shop(view):
    """Load the signed-in, installed shop into ``g.shop`` or answer 401. Views of blueprints made by
    ``plugin.admin.kit.admin_blueprint`` have it already; this is for any other view."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("shop") is None:
            g.shop = load_signed_in_shop()
            refresh()  # the locale may depend on the shop
        return view(*args, **kwargs)

    return wrapper
