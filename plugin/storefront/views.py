"""The storefront surface: the widgets' endpoints, the widget manifest, the demo store.

``routes`` are the storefront feature's own endpoints (``/me``, ``/orders``), mounted by
``plugin/storefront/routes.py`` under the direct API (/storefront/api/v1, CORS for the shop's own
storefront) and Shopify's app proxy (/proxy/api/v1, identity from the proxy's signature only).
The manifest (the shop's widgets, for the loader) is public, so it is served beside them: under the
direct API for the shop the loader names (``?shop=``), and through the proxy for the shop that signed.
``bp`` has no prefix; it nests those two and ``demo.bp`` (/demo/store/<domain>, 404 in production).
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext

from plugin.api.operations import Reply
from plugin.i18n import shop_language
from plugin.problems import Problem
from plugin.storefront import demo
from plugin.storefront.identity import PROXY_SOURCES, SignInRequired
from plugin.storefront.routes import StorefrontRoutes, cors, current_shopper, sign_in_required
from plugin.storefront.schemas import (
    LocaleQuery,
    ManifestQuery,
    ManifestSchema,
    OrderListSchema,
    OrdersQuery,
    ProfileSchema,
)
from plugin.storefront.service import list_recent_orders, load_profile
from plugin.storefront.widgets import ShopNotServed, shop_manifest

bp = Blueprint("storefront", __name__)
manifest_api = Blueprint("manifest", __name__, url_prefix="/storefront/api/v1")
proxy = Blueprint("proxy", __name__, url_prefix="/proxy")  # app.yaml shopify.app_proxy.path
routes = StorefrontRoutes("storefront")
MANIFEST_MAX_AGE = 300  # how long a shop's storefronts may keep its widget list


@routes.get("/me", summary="The shop and who is shopping", response=ProfileSchema)
def me():
    """A guest of the shop (named, not signed in) gets ``guest: true``."""
    return load_profile(current_shopper())


@routes.get("/orders", summary="The shopper's orders, a page at a time", query=OrdersQuery, response=OrderListSchema)
def orders(query):
    """The signed-in customer's orders, newest first, ten at a time (``?cursor=`` from the previous
    page's ``next_cursor`` for older ones); a guest is asked to sign in."""
    try:
        history = list_recent_orders(current_shopper(), after=query["cursor"])
    except SignInRequired:
        raise sign_in_required(gettext("Sign in to see your orders"),
                               gettext("Guests have no order history here.")) from None
    return Reply(history, context={"locale": query["locale"] or shop_language(history.shop)})


# -- the widget manifest: public, cached briefly ------------------------------------------------

@manifest_api.get("/manifest")
def manifest():
    """The shop's widgets for the loader; public (a storefront shows them to anyone), cached briefly."""
    query = ManifestQuery().load(request.args)
    return _manifest(domain=query["shop"], locale=query["locale"])


manifest_api.after_request(cors)


@proxy.get("/api/v1/manifest")
def proxy_manifest():
    """The manifest through Shopify's app proxy: the shop from the signature; its files from our origin."""
    g.storefront_sources = PROXY_SOURCES
    shopper = current_shopper()
    app_url = current_app.config["STORECARE_SETTINGS"].app_url.rstrip("/")
    return _manifest(shop_id=shopper.shop_id, locale=LocaleQuery().load(request.args)["locale"], base=app_url)


def _manifest(**shop):
    try:
        document = shop_manifest(**shop)
    except ShopNotServed as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    response = jsonify(ManifestSchema().dump(document))
    response.cache_control.public, response.cache_control.max_age = True, MANIFEST_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


bp.register_blueprint(manifest_api)
bp.register_blueprint(proxy)
bp.register_blueprint(demo.bp)
