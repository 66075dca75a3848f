"""Storefront: shopper identity (the app proxy, signed tokens), the widget API, the loader and the
demo store page. Its widget is the shopper's orders, opened from a launcher in the corner."""
from flask_babel import lazy_gettext

from plugin.features import Feature
from plugin.storefront.widgets import Widget

# A shopping bag with a tick (24x24, stroked).
BAG = "M5 8h14l-1.2 12H6.2L5 8ZM9 8V6a3 3 0 0 1 6 0v2M9.5 13.5l1.8 1.8 3.4-3.6"

FEATURE = Feature(
    name="storefront",
    blueprints=("plugin.storefront.views:bp",),
    storefront=("plugin.storefront.views:routes",),
    widgets=(Widget("orders", script="widgets/orders.js", style="widgets/orders.css", mount="launcher",
                    label=lazy_gettext("Your orders"), icon=BAG, budget=7 * 1024),),
)
