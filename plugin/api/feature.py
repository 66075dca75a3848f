"""The API kit's feature: the merchant API (/api/v1, per-shop API keys), its admin page and the OpenAPI
document (/api/openapi.json) describing every declared operation of every feature."""
from flask_babel import lazy_gettext

from plugin.admin.nav import NavItem
from plugin.features import Feature
from plugin.rate_limits import RateLimit

_PER_KEY = "plugin.api.views:key_of_request"

FEATURE = Feature(
    name="api",
    blueprints=("plugin.api.views:bp", "plugin.api.openapi:bp", "plugin.api.admin_views:bp"),
    nav=(NavItem("api_keys.index", lazy_gettext("API access"), icon="key", order=85),),
    rate_limits=tuple(RateLimit(f"merchant_api.{name}", "merchant_api", key=_PER_KEY)
                      for name in ("orders", "order", "customers", "customer")),
)
