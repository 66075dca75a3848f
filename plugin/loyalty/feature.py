"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job, Schedule, SettingsSection, Subscriber
from plugin.loyalty.settings import DEFAULTS

FEATURE = Feature(
    name="loyalty",
    blueprints=("plugin.loyalty.templates_bp:bp",),
    settings=SettingsSection("loyalty", lazy_gettext("Loyalty program"), "plugin.loyalty.settings:ProgramSettings",
                             "loyalty/settings.html", defaults=DEFAULTS),
    # rewards and redemption
    jobs=(Job("loyalty.finish_redemptions", "plugin.loyalty.redemption:finish_pending_job", max_attempts=3,
              label=lazy_gettext("Reward codes the store did not answer for")),),
    schedules=(Schedule("loyalty.finish_redemptions", 5, "plugin.loyalty.redemption:schedule_finish_pending"),),
    subscribers=(Subscriber("loyalty.rewards_used", "OrderPaid", "plugin.loyalty.redemption:mark_used"),),
    storefront=("plugin.loyalty.storefront_rewards:routes",),
    commands=("plugin.loyalty.cli_rewards:loyalty_cli",),
    platform_needs="plugin.loyalty.rewards:platform_needs",
)
