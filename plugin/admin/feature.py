"""The merchant admin: its pages, their navigation, and ``flask admin``."""
from flask_babel import lazy_gettext

from plugin.admin.nav import NavItem
from plugin.features import Feature

FEATURE = Feature(
    name="admin",
    blueprints=("plugin.admin.views:bp",),
    nav=(
        NavItem("admin.overview", lazy_gettext("Overview"), icon="home", order=0),
        NavItem("admin.orders", lazy_gettext("Orders"), icon="orders", order=10),
        NavItem("admin.customers", lazy_gettext("Customers"), icon="customers", order=20),
        NavItem("admin.connection", lazy_gettext("Connection"), icon="sync", order=70),
        NavItem("admin.jobs", lazy_gettext("Jobs"), icon="jobs", order=80),
        NavItem("admin.settings", lazy_gettext("Settings"), icon="settings", order=90),
    ),
    commands=("plugin.admin.cli:admin_cli",),
    init_app="plugin.admin.explanations:init_app",
)
