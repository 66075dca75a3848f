"""Who is signed in to the admin: one shop per browser session (``session["shop_id"]``).

For now the way in is a signed login link that lives ten minutes: ``login_url(shop_id)`` makes it
(the install callback, the WordPress plugin or ``flask admin login-link`` hand it to the merchant),
``GET /admin/auth?token=...`` checks it, rotates the session and signs the shop in. Every admin page
is wrapped in ``require_shop``, which loads the installed Shop into ``g.shop``; queries then filter
by ``g.shop.id``.
"""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, session
from flask_babel import gettext, refresh
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.problems import Problem
from plugin.shops.models import Shop

LOGIN_SALT = "storecare-admin-login"
LOGIN_MAX_AGE = 600  # seconds
SESSION_SHOP = "shop_id"


class LoginError(Exception):
    """A login link cannot be used. The message is user-safe."""


class LoginExpired(LoginError):
    pass


class LoginInvalid(LoginError):
    pass


def _serializer(app=None) -> URLSafeTimedSerializer:
    app = app or current_app
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=LOGIN_SALT)


def login_token(shop_id: int, *, app=None) -> str:
    return _serializer(app).dumps({"shop_id": int(shop_id)})


def login_url(shop_id: int, *, app=None) -> str:
    """The path (with its token) that signs a merchant in to ``shop_id``'s admin for ten minutes."""
    app = app or current_app
    urls = app.url_map.bind("localhost", script_name=app.config.get("APPLICATION_ROOT") or "/")
    return urls.build("admin.login", {"token": login_token(shop_id, app=app)})


def read_login_token(token: str, *, max_age: int = LOGIN_MAX_AGE, app=None) -> int:
    """The shop id a login token was made for; raises LoginError if it is expired or not ours."""
    try:
        data = _serializer(app).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LoginExpired("This sign-in link has expired.") from exc
    except BadData as exc:
        raise LoginInvalid("This sign-in link is not valid.") from exc
    shop_id = data.get("shop_id") if isinstance(data, dict) else None
    if not isinstance(shop_id, int) or isinstance(shop_id, bool):
        raise LoginInvalid("This sign-in link is not valid.")
    return shop_id


def request_session() -> Session:
    """The database session of this admin request, closed (and rolled back) when the request ends."""
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


def sign_in(shop: Shop) -> None:
    """Rotate the session (nothing from before survives, the CSRF token neither) and sign ``shop`` in."""
    session.clear()
    session[SESSION_SHOP] = shop.id


def signed_out() -> Problem:
    return Problem(401, "Unauthorized",
                   gettext("You are not signed in to Storecare, or your session has ended."))


def require_shop(view):
    """Load the signed-in, installed shop into ``g.shop`` or answer 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        shop = installed_shop(request_session(), session.get(SESSION_SHOP))
        if shop is None:
            session.pop(SESSION_SHOP, None)
            raise signed_out()
        g.shop = shop
        refresh()  # the locale may depend on the shop
        return view(*args, **kwargs)

    return wrapper
