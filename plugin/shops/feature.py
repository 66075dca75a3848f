"""Shops: installing into Shopify and connecting WooCommerce stores, uninstall, and the sandbox store's
command line (the demo's and the tests' platform). Privacy requests are a feature of their own
(plugin/privacy/)."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job, Schedule
from plugin.rate_limits import RateLimit

FEATURE = Feature(
    name="shops",
    blueprints=("plugin.shops.shopify_views:bp", "plugin.shops.woocommerce_views:bp",
                "plugin.shops.permissions_views:bp"),
    jobs=(
        Job("shopify.subscribe_webhooks", "plugin.shops.shopify:subscribe_webhooks_job", max_attempts=8,
            label=lazy_gettext("Setting up notifications from your Shopify store")),
        Job("woocommerce.check_plugin", "plugin.shops.woocommerce_upkeep:check_plugin_job", max_attempts=3,
            label=lazy_gettext("Check of the Storecare plugin in WordPress")),
    ),
    schedules=(Schedule("storecare.woocommerce_upkeep", 60, "plugin.shops.woocommerce_upkeep:upkeep_task"),),
    commands=("plugin.sandbox_cli:sandbox_cli",),
    rate_limits=(
        RateLimit("shopify_auth.install", "sign_in"),
        RateLimit("shopify_auth.callback", "sign_in"),
        RateLimit("woocommerce_connect.submit", "connect"),
        RateLimit("woocommerce_connect.start_from_wordpress", "connect"),
        RateLimit("woocommerce_connect.hello_from_wordpress", "connect"),
        # these look a pending connection up by the token in their address
        RateLimit("woocommerce_connect.go", "lookup"),
        RateLimit("woocommerce_connect.callback", "lookup"),
        RateLimit("woocommerce_connect.landing", "lookup"),
    ),
)
