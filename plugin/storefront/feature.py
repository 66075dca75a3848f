"""Storefront: shopper identity (the app proxy, signed tokens), the widget API, the loader and the
demo store page."""
from plugin.features import Feature

FEATURE = Feature(name="storefront", blueprints=("plugin.storefront.views:bp",),
                  storefront=("plugin.storefront.views:routes",))
