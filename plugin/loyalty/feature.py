"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from flask_babel import lazy_gettext

from plugin.features import Feature, Job, Schedule, SettingsSection
from plugin.loyalty.settings import DEFAULTS

FEATURE = Feature(
    name="loyalty",
    blueprints=("plugin.loyalty.templates_bp:bp",),
    jobs=(Job("loyalty.recalculate_tiers", "plugin.loyalty.tiers:recalculate_job",
              label=lazy_gettext("Recalculation of loyalty tiers")),),
    schedules=(Schedule("loyalty.recalculate_tiers_daily", 60, "plugin.loyalty.tiers:recalculate_everywhere"),),
    settings=SettingsSection("loyalty", lazy_gettext("Loyalty program"), "plugin.loyalty.settings:ProgramSettings",
                             "loyalty/settings.html", defaults=DEFAULTS),
)
