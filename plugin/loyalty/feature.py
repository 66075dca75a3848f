"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job, Schedule, SettingsSection, Subscriber
from plugin.loyalty.settings import DEFAULTS

FEATURE = Feature(
    name="loyalty",
    blueprints=("plugin.loyalty.templates_bp:bp",),
    jobs=(
        Job("loyalty.approve_points", "plugin.loyalty.tasks:approve_points_job",
            label=lazy_gettext("Approval of loyalty points")),
    ),
    schedules=(
        Schedule("loyalty.approve_every_hour", 60, "plugin.loyalty.tasks:enqueue_approvals"),
    ),
    subscribers=(
        Subscriber("loyalty.points", ("OrderPaid", "OrderRefunded", "OrderCancelled", "OrderFulfilled",
                                      "OrderDeleted", "CustomerCreated"), "plugin.loyalty.earning:handle"),
    ),
    commands=("plugin.loyalty.cli:loyalty_cli",),
    settings=SettingsSection("loyalty", lazy_gettext("Loyalty program"), "plugin.loyalty.settings:ProgramSettings",
                             "loyalty/settings.html", defaults=DEFAULTS),
)
