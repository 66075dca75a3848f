"""Sync: the webhook inbox, the mirror of orders and customers, backfill, reconciliation, and the
domain events the mirror records (``OrderPaid`` ...), which other features subscribe to."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job, Schedule

FEATURE = Feature(
    name="sync",
    blueprints=("plugin.sync.views:bp",),
    jobs=(
        Job("sync.process_delivery", "plugin.sync.tasks:process_delivery_job",
            label=lazy_gettext("Applying an update from your store")),
        Job("sync.process_deliveries", "plugin.sync.tasks:process_deliveries_job",
            label=lazy_gettext("Applying updates from your store")),
        Job("sync.backfill", "plugin.sync.tasks:backfill_job", max_attempts=8,
            label=lazy_gettext("Import of orders and customers")),
        Job("sync.dispatch_events", "plugin.sync.tasks:dispatch_events_job",
            label=lazy_gettext("Passing order and customer changes to Storecare's features")),
        Job("sync.deliver_events", "plugin.sync.tasks:deliver_events_job",
            label=lazy_gettext("Passing order and customer changes to one of Storecare's features")),
        # the next quarter hour tries again anyway
        Job("sync.reconcile", "plugin.sync.tasks:reconcile_job", max_attempts=3,
            label=lazy_gettext("Reconciliation with your store")),
    ),
    schedules=(
        Schedule("storecare.reconcile", 15, "plugin.sync.tasks:reconcile_everywhere"),
        Schedule("storecare.dispatch_events", 5, "plugin.sync.tasks:dispatch_everywhere"),
    ),
    events=("OrderPaid", "OrderRefunded", "OrderCancelled", "OrderFulfilled", "OrderDeleted", "CustomerCreated"),
    commands=("plugin.sync.cli:sync_cli",),
)
