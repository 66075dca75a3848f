"""The smallest feature package: what a new feature of plugin/ writes to plug in (tests install it)."""
from flask_babel import lazy_gettext

from plugin.admin.nav import NavItem
from plugin.features import Feature, Job, Schedule, SettingsSection, Subscriber
from plugin.outbox.kinds import MessageKind

FEATURE = Feature(
    name="example",
    blueprints=("tests.example_feature.views:bp", "tests.example_feature.admin:bp"),
    nav=(NavItem("example_admin.page", lazy_gettext("Example"), icon="star", order=50),),
    jobs=(Job("example.count", "tests.example_feature.tasks:count_job", max_attempts=2,
             label=lazy_gettext("Count of orders")),),
    schedules=(Schedule("example.every_hour", 60, "tests.example_feature.tasks:every_hour"),),
    events=("ExampleHappened",),
    subscribers=(Subscriber("example.note_paid", "OrderPaid", "tests.example_feature.tasks:note_paid"),),
    messages=(MessageKind("example.thank_you", "Thank-you note"),),
    commands=("tests.example_feature.tasks:example_cli",),
    settings=SettingsSection("example", lazy_gettext("Example"), "tests.example_feature.settings:ExampleSettings",
                             "example/settings.html",
                             defaults={"greeting": "Hello", "points_per_order": 10, "enabled": False},
                             on_save="tests.example_feature.settings:on_save"),
    storefront=("tests.example_feature.storefront:routes",),
    platform_needs="tests.example_feature.settings:platform_needs",
)
