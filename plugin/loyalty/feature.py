"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from flask_babel import lazy_gettext

from plugin.admin.nav import NavItem
from plugin.features import Feature, Job, Schedule, SettingsSection, Subscriber
from plugin.loyalty.settings import DEFAULTS
from plugin.outbox.kinds import MessageKind
from plugin.rate_limits import RateLimit
from plugin.storefront.widgets import Widget

# A gift box (24x24, stroked).
GIFT = "M4 11h16v9H4v-9Zm-1-4h18v4H3V7Zm9 0v13M12 7S10.5 3 8 3.8C6 4.5 7.5 7 12 7Zm0 0s1.5-4 4-3.2C18 4.5 16.5 7 12 7Z"

FEATURE = Feature(
    name="loyalty",
    blueprints=("plugin.loyalty.templates_bp:bp", "plugin.loyalty.merchant_api:bp", "plugin.loyalty.admin:bp"),
    nav=(NavItem("loyalty_admin.members", lazy_gettext("Loyalty"), icon="star", order=35,
                 section="/admin/loyalty"),),
    jobs=(
        Job("loyalty.approve_points", "plugin.loyalty.tasks:approve_points_job",
            label=lazy_gettext("Approval of loyalty points")),
        Job("loyalty.daily", "plugin.loyalty.tasks:daily_job",
            label=lazy_gettext("Loyalty birthdays and expiring points")),
        Job("loyalty.import_history", "plugin.loyalty.importing:import_history_job", max_attempts=15,
            label=lazy_gettext("Import of past orders into the loyalty program")),
        Job("loyalty.publish", "plugin.loyalty.tasks:publish_job",
            label=lazy_gettext("Loyalty tiers and balances shown on the store")),
        # rewards and redemption
        Job("loyalty.finish_redemptions", "plugin.loyalty.redemption:finish_pending_job", max_attempts=3,
            label=lazy_gettext("Reward codes the store did not answer for")),
        # tiers and referrals
        Job("loyalty.recalculate_tiers", "plugin.loyalty.tiers:recalculate_job",
            label=lazy_gettext("Recalculation of loyalty tiers")),
        Job("loyalty.approve_referrals", "plugin.loyalty.referrals:approve_referrals_job",
            label=lazy_gettext("Approval of referral rewards")),
    ),
    schedules=(
        Schedule("loyalty.approve_every_hour", 60, "plugin.loyalty.tasks:enqueue_approvals"),
        Schedule("loyalty.daily_round", 60, "plugin.loyalty.tasks:enqueue_daily"),
        Schedule("loyalty.finish_redemptions", 5, "plugin.loyalty.redemption:schedule_finish_pending"),
        Schedule("loyalty.recalculate_tiers_daily", 60, "plugin.loyalty.tiers:recalculate_everywhere"),
        Schedule("loyalty.approve_referrals", 60, "plugin.loyalty.referrals:approve_everywhere"),
    ),
    subscribers=(
        Subscriber("loyalty.points", ("OrderPaid", "OrderRefunded", "OrderCancelled", "OrderFulfilled",
                                      "OrderDeleted", "CustomerCreated"), "plugin.loyalty.earning:handle", batch=True),
        Subscriber("loyalty.rewards_used", "OrderPaid", "plugin.loyalty.redemption:mark_used_in_run", batch=True),
        Subscriber("loyalty.referrals", ("OrderPaid", "OrderRefunded", "OrderCancelled"),
                   "plugin.loyalty.referrals:on_orders", batch=True),
    ),
    messages=(MessageKind("loyalty.points_expiring", lazy_gettext("Loyalty points about to expire")),),
    commands=("plugin.loyalty.cli:loyalty_cli",),  # with the rewards' commands (plugin/loyalty/cli_rewards.py)
    rate_limits=tuple(RateLimit(f"loyalty_api.{name}", "merchant_api", key="plugin.api.views:key_of_request")
                      for name in ("post_event", "members", "adjust")),
    storefront=("plugin.loyalty.storefront:routes", "plugin.loyalty.storefront_rewards:routes",
                "plugin.loyalty.storefront_referrals:routes"),
    widgets=(Widget("loyalty", script="widgets/loyalty.js", style="widgets/loyalty.css", mount="launcher",
                    label=lazy_gettext("Rewards"), icon=GIFT, enabled="plugin.loyalty.storefront:widget_enabled",
                    side="plugin.loyalty.storefront:launcher_side", budget=15 * 1024),
             # "Earn N points" on product and cart pages: <div data-storecare-widget="earn" data-amount="...">
             Widget("earn", script="widgets/earn.js", mount="inline",
                    enabled="plugin.loyalty.storefront:widget_enabled", budget=2 * 1024)),
    settings=SettingsSection("loyalty", lazy_gettext("Loyalty program"), "plugin.loyalty.settings:ProgramSettings",
                             "loyalty/settings.html", defaults=DEFAULTS,
                             on_save="plugin.loyalty.importing:on_program_saved"),
    platform_needs="plugin.loyalty.rewards:platform_needs",
)
