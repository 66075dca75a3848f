"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from flask_babel import lazy_gettext

from plugin.admin.nav import NavItem
from plugin.features import Feature, SettingsSection
from plugin.loyalty.settings import DEFAULTS

FEATURE = Feature(
    name="loyalty",
    blueprints=("plugin.loyalty.templates_bp:bp", "plugin.loyalty.admin:bp"),
    nav=(NavItem("loyalty_admin.members", lazy_gettext("Loyalty"), icon="star", order=35),),
    settings=SettingsSection("loyalty", lazy_gettext("Loyalty program"), "plugin.loyalty.settings:ProgramSettings",
                             "loyalty/settings.html", defaults=DEFAULTS),
)
