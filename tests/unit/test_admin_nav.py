"""The admin navigation registry: plain data per app, ordered, each endpoint once."""
from __future__ import annotations

import pytest
from flask import Flask

from plugin.admin.nav import NavError, NavItem, nav_items, register_nav


def test_items_come_back_in_order_whatever_order_they_were_registered_in():
    app = Flask(__name__)
    register_nav(app, NavItem("returns.index", "Returns", icon="returns", order=40))
    register_nav(app, NavItem("loyalty.index", "Loyalty", icon="star", order=30))
    register_nav(app, NavItem("chat.inbox", "Chat", order=30))

    assert [item.endpoint for item in nav_items(app)] == ["chat.inbox", "loyalty.index", "returns.index"]


def test_an_endpoint_is_registered_once():
    app = Flask(__name__)
    register_nav(app, NavItem("loyalty.index", "Loyalty"))

    with pytest.raises(NavError):
        register_nav(app, NavItem("loyalty.index", "Points"))


def test_each_app_has_its_own_navigation():
    one, two = Flask("one"), Flask("two")
    register_nav(one, NavItem("loyalty.index", "Loyalty"))

    assert nav_items(two) == []


def test_the_admin_feature_declares_its_six_sections_and_the_other_features_theirs(app):
    assert [(item.endpoint, item.icon) for item in nav_items(app)] == [
        ("admin.overview", "home"), ("admin.orders", "orders"), ("admin.customers", "customers"),
        ("loyalty_admin.members", "star"), ("outbox.messages", "inbox"), ("admin.connection", "sync"), ("admin.jobs", "jobs"),
        ("api_keys.index", "key"), ("admin.settings", "settings")]
    assert all(endpoint in app.view_functions for endpoint in (item.endpoint for item in nav_items(app)))
