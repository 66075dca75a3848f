"""The outbox: messages to shoppers waiting to be sent, and the admin's Messages page."""
from flask_babel import lazy_gettext

from plugin.admin.nav import NavItem
from plugin.features import Feature

FEATURE = Feature(
    name="outbox",
    blueprints=("plugin.outbox.views:bp",),
    nav=(NavItem("outbox.messages", lazy_gettext("Messages"), icon="inbox", order=60),),
)
