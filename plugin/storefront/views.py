"""The storefront surface: the widgets' endpoints, the loader's files through the proxy, the demo store.

``routes`` are the storefront feature's own endpoints (``/me``, ``/orders``), mounted by
``plugin/storefront/routes.py`` under the direct API (/storefront/api/v1, CORS for the shop's own
storefront) and Shopify's app proxy (/proxy/api/v1, identity from the proxy's signature only).
``bp`` has no prefix; it nests ``proxy`` (/proxy: the loader and widget files, same-origin for the
storefront) and ``demo.bp`` (/demo/store/<domain>, 404 in production).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app

from plugin.api.operations import Reply
from plugin.i18n import SUPPORTED
from plugin.storefront import demo
from plugin.storefront.identity import SignInRequired
from plugin.storefront.routes import StorefrontRoutes, current_shopper, sign_in_required
from plugin.storefront.schemas import LocaleQuery, OrderListSchema, ProfileSchema
from plugin.storefront.service import list_recent_orders, load_profile

bp = Blueprint("storefront", __name__)
proxy = Blueprint("proxy", __name__, url_prefix="/proxy")  # app.yaml shopify.app_proxy.path
routes = StorefrontRoutes("storefront")


@routes.get("/me", summary="The shop and who is shopping", response=ProfileSchema)
def me():
    """A guest of the shop (named, not signed in) gets ``guest: true``."""
    return load_profile(current_shopper())


@routes.get("/orders", summary="The shopper's recent orders", query=LocaleQuery, response=OrderListSchema)
def orders(query):
    """The signed-in customer's ten most recent orders, newest first; a guest is asked to sign in."""
    try:
        history = list_recent_orders(current_shopper())
    except SignInRequired:
        raise sign_in_required("Sign in to see your orders", "Guests have no order history here.") from None
    shop_locale = history.shop.locale[:2] if history.shop.locale[:2] in SUPPORTED else "en"
    return Reply(history, context={"locale": query["locale"] or shop_locale})


# -- Shopify's app proxy: /apps/storecare/<path> on the storefront arrives here as /proxy/<path> ---

PROXY_ASSETS = ("loader.js", "widgets/")  # what the theme app extension's embed block loads through it


@proxy.get("/static/<path:filename>")
def proxy_asset(filename: str):
    """The loader and its widgets, public files: same-origin for the storefront through the proxy."""
    if not filename.startswith(PROXY_ASSETS) or ".." in filename:
        abort(404)
    response = current_app.send_static_file(filename)
    response.cache_control.public, response.cache_control.max_age = True, 300
    return response


bp.register_blueprint(proxy)
bp.register_blueprint(demo.bp)
