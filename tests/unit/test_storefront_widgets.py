"""Widgets as a registry: a feature declares its widgets once (``Feature.widgets``); a declaration that
cannot work stops start-up naming the feature and the widget. What each shop's manifest says is in
tests/integration/test_widget_manifest.py."""
from __future__ import annotations

import pytest
from flask_babel import force_locale, lazy_gettext

from plugin.features import FeatureError, install_features
from plugin.storefront.widgets import Widget, WidgetError, register_widget, registered


def test_the_orders_widget_is_the_storefront_features_launcher(app):
    with app.test_request_context(), force_locale("pl"):
        assert str(registered(app)[0].widget.label) == "Twoje zamówienia"
        assert str(registered(app)[1].widget.label) == "Nagrody"
    with app.test_request_context(), force_locale("en"):
        assert [(r.feature, r.widget.name, r.widget.mount, str(r.widget.label)) for r in registered(app)] == [
            ("storefront", "orders", "launcher", "Your orders"), ("loyalty", "loyalty", "launcher", "Rewards"),
            ("loyalty", "earn", "inline", "")]
    orders = registered(app)[0].widget
    assert (orders.script, orders.style) == ("widgets/orders.js", "widgets/orders.css")


def test_a_feature_adds_its_widgets_after_the_others(app):
    register_widget(app, "returns", Widget("returns", script="widgets/orders.js", mount="inline"))
    register_widget(app, "chat", Widget("chat", script="widgets/orders.js", label="Chat", icon="M4 4h16v12H4Z"))
    assert [(r.feature, r.widget.name) for r in registered(app)] == [
        ("storefront", "orders"), ("loyalty", "loyalty"), ("loyalty", "earn"), ("returns", "returns"),
        ("chat", "chat")]


@pytest.mark.parametrize(("widget", "message"), [
    (Widget("orders", script="widgets/orders.js", label="Again"), "'orders' is declared by 'storefront'"),
    (Widget("Bad Name", script="widgets/orders.js", label="x"), "widget name 'Bad Name'"),
    (Widget("floating", script="widgets/orders.js", label="x", mount="popup"), "mount must be one of"),
    (Widget("nameless", script="widgets/orders.js"), "a launcher needs a label"),
    (Widget("ghost", script="widgets/ghost.js", label=lazy_gettext("Orders")), "no file static/widgets/ghost.js"),
    (Widget("unstyled", script="widgets/orders.js", style="widgets/none.css", mount="inline"), "static/widgets/none.css"),
])
def test_a_widget_that_cannot_work_is_refused_naming_it(app, widget, message):
    with pytest.raises(WidgetError, match=message):
        register_widget(app, "loyalty", widget)


def test_only_a_launcher_has_a_side(app):
    with pytest.raises(WidgetError, match="'points': only a launcher has a side"):
        register_widget(app, "loyalty", Widget("points", script="widgets/orders.js", mount="inline"),
                        side=lambda session, shop: "left")


def test_a_feature_whose_widget_cannot_work_stops_start_up_naming_the_feature(app):
    with pytest.raises(FeatureError, match="feature 'broken-widget'.*'reviews'.*static/widgets/reviews.js"):
        install_features(app, ("tests.broken_widget_feature",))
