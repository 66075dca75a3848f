"""Shops: installing into Shopify and connecting WooCommerce stores, uninstall, and the sandbox store's
command line (the demo's and the tests' platform). Privacy requests are a feature of their own
(plugin/privacy/)."""
from plugin.features import Feature, Job, Schedule

FEATURE = Feature(
    name="shops",
    blueprints=("plugin.shops.shopify_views:bp", "plugin.shops.woocommerce_views:bp"),
    jobs=(
        Job("shopify.subscribe_webhooks", "plugin.shops.shopify:subscribe_webhooks_job", max_attempts=8),
        Job("woocommerce.check_plugin", "plugin.shops.woocommerce_upkeep:check_plugin_job", max_attempts=3),
    ),
    schedules=(Schedule("storecare.woocommerce_upkeep", 60, "plugin.shops.woocommerce_upkeep:upkeep_task"),),
    commands=("plugin.sandbox_cli:sandbox_cli",),
)
