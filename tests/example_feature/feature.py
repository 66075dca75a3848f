from flask_babel import lazy_gettext

from plugin.admin.nav import NavItem
from plugin.features import Feature, Job, Schedule, Subscriber

FEATURE = Feature(
    name="example",
    blueprints=("tests.example_feature.views:bp",),
    nav=(NavItem("example.index", lazy_gettext("Orders"), icon="star", order=50),),
    jobs=(Job("example.count", "tests.example_feature.tasks:count_job", max_attempts=2, label=lazy_gettext("Count of orders")),),
    schedules=(Schedule("example.every_hour", 60, "tests.example_feature.tasks:every_hour"),),
    events=("ExampleHappened",),
    subscribers=(Subscriber("example.note_paid", "OrderPaid", "tests.example_feature.tasks:note_paid"),),
    commands=("tests.example_feature.tasks:example_cli",),
)
