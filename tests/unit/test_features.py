"""A feature declares itself once (plugin/features.py) and create_app's walk installs every part."""
from __future__ import annotations

import pytest

from plugin.admin.nav import nav_items
from plugin.features import FEATURES, FeatureError, feature_of, install_features
from plugin.outbox.kinds import message_kinds
from plugin.sync import events
from tests.example_feature import tasks as example_tasks
from tests.factories import make_shop


def test_every_package_of_the_app_is_a_feature_with_a_name_of_its_own():
    names = [feature_of(package).name for package in FEATURES]

    assert names == ["shops", "privacy", "sync", "storefront", "admin", "outbox", "api", "loyalty"]


def test_a_feature_package_plugs_in_its_blueprint_navigation_job_command_and_subscriber(app, db, queue):
    install_features(app, ("tests.example_feature",))
    example_tasks.SEEN.clear()

    assert app.test_client().get("/example/").json == {"feature": "example"}
    rules = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    assert "POST" in rules["/storefront/api/v1/example/wishes"] and "POST" in rules["/proxy/api/v1/example/wishes"]
    assert "example_admin.page" in [item.endpoint for item in nav_items(app)]
    assert "example.count" in queue.registered()
    assert "example" in app.cli.commands
    assert app.extensions["storecare.events"].declared()["ExampleHappened"] == "example"
    assert "example.thank_you" in message_kinds(app)
    with db.uow() as session:
        shop = make_shop(session)
        events.record(session, shop.id, [(events.ORDER_PAID, "o-1", {"source": "webhook"})])
        session.commit()
    events.dispatch_pending(db, app.extensions["storecare.events"], shop.id)
    assert example_tasks.SEEN == [("OrderPaid", "o-1")]


def test_a_subscription_to_an_event_no_feature_declares_is_refused_naming_it(app):
    bus = app.extensions["storecare.events"]

    with pytest.raises(ValueError, match="ReturnOpened"):
        bus.subscribe("ReturnOpened", lambda session, event: None, name="loyalty.on_return")


def test_two_features_cannot_declare_one_event():
    bus = events.EventBus()
    bus.declare("OrderPaid", "sync")

    with pytest.raises(ValueError, match="'sync' and 'loyalty'"):
        bus.declare("OrderPaid", "loyalty")


def test_a_subscriber_name_is_unique_in_the_app(app):
    bus = app.extensions["storecare.events"]
    bus.subscribe("OrderPaid", lambda session, event: None, name="loyalty.award")

    with pytest.raises(ValueError, match="loyalty.award"):
        bus.subscribe("OrderRefunded", lambda session, event: None, name="loyalty.award")


def test_a_feature_installed_twice_is_an_error_naming_it(app):
    with pytest.raises(FeatureError, match="'sync' is installed twice"):
        install_features(app, ("plugin.sync",))


def test_a_part_that_cannot_be_found_names_its_feature(app):
    with pytest.raises(FeatureError, match="feature 'broken'.*no_such"):
        install_features(app, ("tests.broken_feature",))


def test_a_settings_section_is_installed_with_its_typed_defaults(app):
    from plugin.admin.shop_settings import section

    install_features(app, ("tests.example_feature",))

    example = section(app, "example")
    assert (example.template, example.defaults) == \
        ("example/settings.html", {"greeting": "Hello", "points_per_order": 10, "enabled": False})


def test_settings_defaults_the_schema_refuses_stop_start_up_naming_the_feature(app):
    with pytest.raises(FeatureError, match="feature 'broken_settings'.*defaults are not valid.*points_per_order"):
        install_features(app, ("tests.broken_settings_feature",))


def test_a_settings_section_name_is_unique_in_the_app(app):
    from plugin.admin.shop_settings import register_section
    from plugin.features import SettingsSection
    from tests.example_feature.settings import ExampleSettings

    install_features(app, ("tests.example_feature",))
    again = SettingsSection("example", "Again", "tests.example_feature.settings:ExampleSettings", "x.html")

    with pytest.raises(ValueError, match="'example' is declared twice"):
        register_section(app, again, ExampleSettings)
