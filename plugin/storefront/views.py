"""The storefront surface: the JSON API the widgets call, and (demo/test only) the demo store.

``bp`` has no prefix; it nests ``api`` (/storefront/api/v1, CORS for the shop's own storefront and
our own origin), ``proxy`` (/proxy: Shopify's app proxy, same-origin for the storefront, so no CORS;
identity from the proxy's signature only) and ``demo.bp`` (/demo/store/<domain>, 404 in production).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import or_, select

from plugin.extensions import db
from plugin.i18n import SUPPORTED
from plugin.problems import Problem
from plugin.shops.models import Shop
from plugin.storefront import demo
from plugin.storefront.identity import (IDENTITY_SOURCES, PROXY_SOURCES, TOKEN_HEADER, Shopper,
                                        ShopperTokenError, SignInRequired, identify_shopper)
from plugin.storefront.schemas import (LocaleQuery, ManifestQuery, ManifestSchema, OrdersQuery, ProfileSchema,
                                       dump_orders)
from plugin.storefront.service import list_recent_orders, load_profile
from plugin.storefront.widgets import ShopNotServed, shop_manifest

bp = Blueprint("storefront", __name__)
api = Blueprint("api", __name__, url_prefix="/storefront/api/v1")
proxy = Blueprint("proxy", __name__, url_prefix="/proxy")  # app.yaml shopify.app_proxy.path

MANIFEST_MAX_AGE = 300  # how long a shop's storefronts may keep its widget list
TOKEN_PROBLEM = "urn:storecare:problem:shopper-token-invalid"
SIGN_IN_PROBLEM = "urn:storecare:problem:sign-in-required"
_CHALLENGE = {"WWW-Authenticate": 'Storecare-Shopper realm="storefront"'}
_PREFLIGHT_MAX_AGE = "600"


def _current_shopper(sources=IDENTITY_SOURCES) -> Shopper:
    """The request's shopper. Nobody named (a guest's page sends no token): 401 ``sign-in-required``,
    which the widget answers with its sign-in prompt; a token or signature that cannot be trusted:
    401 ``shopper-token-invalid``."""
    try:
        shopper = identify_shopper(request.headers, request.args, sources=sources)
    except SignInRequired:
        raise _sign_in_required() from None
    except ShopperTokenError as exc:
        raise Problem(401, "Unauthorized", str(exc), type_=TOKEN_PROBLEM, headers=_CHALLENGE) from None
    g.storefront_shop_id = shopper.shop_id
    return shopper


def _sign_in_required() -> Problem:
    return Problem(401, "Sign in to see your orders", "Guests have no order history here.",
                   type_=SIGN_IN_PROBLEM, headers=_CHALLENGE)


def _locale(shop_locale: str) -> str:
    chosen = LocaleQuery().load(request.args)["locale"]
    if chosen:
        return chosen
    return shop_locale[:2] if shop_locale[:2] in SUPPORTED else "en"


@api.get("/me")
def me():
    return _me(IDENTITY_SOURCES)


@api.get("/orders")
def orders():
    return _orders(IDENTITY_SOURCES)


@api.get("/manifest")
def manifest():
    """The shop's widgets for the loader; public (a storefront shows them to anyone), cached briefly."""
    query = ManifestQuery().load(request.args)
    return _manifest(domain=query["shop"], locale=query["locale"])


def _manifest(**shop):
    try:
        document = shop_manifest(**shop)
    except ShopNotServed as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    response = jsonify(ManifestSchema().dump(document))
    response.cache_control.public, response.cache_control.max_age = True, MANIFEST_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


def _me(sources):
    profile = load_profile(_current_shopper(sources))
    return jsonify(ProfileSchema().dump(profile))


def _orders(sources):
    shopper = _current_shopper(sources)
    query = OrdersQuery().load(request.args)
    try:
        history = list_recent_orders(shopper, after=query["cursor"])
    except SignInRequired:
        raise _sign_in_required() from None
    return jsonify(dump_orders(history, _locale(history.shop.locale)))


# -- CORS: only the shop's own storefront and our own origin, never a wildcard, no credentials ---

def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _origin_allowed(origin: str) -> bool:
    settings = current_app.config["STORECARE_SETTINGS"]
    if origin in (_origin(settings.app_url), _origin(request.host_url)):
        return True
    parts = urlsplit(origin)
    if parts.scheme != "https" or not parts.hostname or parts.path or f"https://{parts.netloc}" != origin:
        return False
    with db.uow() as session:
        # A WooCommerce store in a sub-folder is keyed host/path; its pages are still served from the host.
        served_here = or_(Shop.domain == parts.netloc, Shop.domain.startswith(parts.netloc + "/", autoescape=True))
        query = select(Shop.id).where(served_here, Shop.status == "installed")
        if g.get("storefront_shop_id") is not None:  # identified: only that shop's storefront
            query = query.where(Shop.id == g.storefront_shop_id)
        return session.scalar(query.limit(1)) is not None


@api.after_request
def _cors(response):
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not origin or not _origin_allowed(origin.lower()):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = "X-Request-Id"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = f"{TOKEN_HEADER}, Accept, X-Request-Id"
        response.headers["Access-Control-Max-Age"] = _PREFLIGHT_MAX_AGE
    return response


# -- Shopify's app proxy: /apps/storecare/<path> on the storefront arrives here as /proxy/<path> ---

@proxy.get("/api/v1/manifest")
def proxy_manifest():
    """The manifest through Shopify's app proxy: the shop from the signature; its files from our origin."""
    shopper = _current_shopper(PROXY_SOURCES)
    app_url = current_app.config["STORECARE_SETTINGS"].app_url.rstrip("/")
    return _manifest(shop_id=shopper.shop_id, locale=LocaleQuery().load(request.args)["locale"], base=app_url)


@proxy.get("/api/v1/me")
def proxy_me():
    return _me(PROXY_SOURCES)


@proxy.get("/api/v1/orders")
def proxy_orders():
    return _orders(PROXY_SOURCES)


bp.register_blueprint(api)
bp.register_blueprint(proxy)
bp.register_blueprint(demo.bp)
