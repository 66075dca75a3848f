"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job, Schedule, SettingsSection, Subscriber
from plugin.loyalty.settings import DEFAULTS

FEATURE = Feature(
    name="loyalty",
    blueprints=("plugin.loyalty.templates_bp:bp",),
    jobs=(Job("loyalty.recalculate_tiers", "plugin.loyalty.tiers:recalculate_job",
              label=lazy_gettext("Recalculation of loyalty tiers")),
          Job("loyalty.approve_referrals", "plugin.loyalty.referrals:approve_referrals_job",
              label=lazy_gettext("Approval of referral rewards"))),
    schedules=(Schedule("loyalty.recalculate_tiers_daily", 60, "plugin.loyalty.tiers:recalculate_everywhere"),
               Schedule("loyalty.approve_referrals", 60, "plugin.loyalty.referrals:approve_everywhere")),
    subscribers=(Subscriber("loyalty.referrals", ("OrderPaid", "OrderRefunded", "OrderCancelled"),
                            "plugin.loyalty.referrals:on_order"),),
    storefront=("plugin.loyalty.storefront_referrals:routes",),
    settings=SettingsSection("loyalty", lazy_gettext("Loyalty program"), "plugin.loyalty.settings:ProgramSettings",
                             "loyalty/settings.html", defaults=DEFAULTS),
)
