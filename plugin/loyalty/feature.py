"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from flask_babel import lazy_gettext

from plugin.features import Feature, SettingsSection
from plugin.loyalty.settings import DEFAULTS

FEATURE = Feature(
    name="loyalty",
    blueprints=("plugin.loyalty.templates_bp:bp",),
    settings=SettingsSection("loyalty", lazy_gettext("Loyalty program"), "plugin.loyalty.settings:ProgramSettings",
                             "loyalty/settings.html", defaults=DEFAULTS),
)
