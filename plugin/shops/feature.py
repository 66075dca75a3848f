"""Shops: installing into Shopify and connecting WooCommerce stores, uninstall, privacy requests, and
the sandbox store's command line (the demo's and the tests' platform)."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job, Schedule

FEATURE = Feature(
    name="shops",
    blueprints=("plugin.shops.shopify_views:bp", "plugin.shops.woocommerce_views:bp"),
    jobs=(
        Job("shopify.subscribe_webhooks", "plugin.shops.shopify:subscribe_webhooks_job", max_attempts=8,
            label=lazy_gettext("Setting up notifications from your Shopify store")),
        Job("woocommerce.check_plugin", "plugin.shops.woocommerce_upkeep:check_plugin_job", max_attempts=3,
            label=lazy_gettext("Check of the Storecare plugin in WordPress")),
        Job("privacy.redact_shop", "plugin.shops.privacy_tasks:redact_shop_job",
            label=lazy_gettext("Erasure of your store's data")),
    ),
    schedules=(Schedule("storecare.woocommerce_upkeep", 60, "plugin.shops.woocommerce_upkeep:upkeep_task"),),
    commands=("plugin.shops.privacy_cli:privacy_cli", "plugin.sandbox_cli:sandbox_cli"),
)
