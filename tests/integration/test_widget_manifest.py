"""The widget manifest on the direct storefront API, on SQLite and PostgreSQL: the widgets a shop has turned
on, labelled in the shopper's language, with versioned file URLs that are served and a launcher's side
where its widget declares one; public and cached briefly. (Its proxy twin is in test_shopify_proxy.py.)"""
from __future__ import annotations

import re

import pytest
from flask_babel import lazy_gettext

from plugin.storefront.widgets import Widget, register_widget
from tests.factories import make_shop

MANIFEST = "/storefront/api/v1/manifest"
PROBLEM = "application/problem+json"


def only_loyal(session, shop) -> bool:
    """A stand-in for a feature's settings: the widget is on where the shop's name says so."""
    return "loyal" in shop.domain


def left_where_loyal(session, shop) -> str:
    """A stand-in for a feature's setting: the launcher on the left where the shop's name says so."""
    return "left" if "loyal" in shop.domain else "right"


@pytest.fixture
def shops(db):
    with db.uow() as session:
        make_shop(session, domain="polski.sandbox.test", locale="pl")
        make_shop(session, domain="loyal.sandbox.test", locale="en")
        make_shop(session, domain="gone.sandbox.test", status="uninstalled")
        session.commit()


def manifest(client, query: str, **headers):
    return client.get(f"{MANIFEST}?{query}", headers=headers)


def test_a_shop_gets_the_orders_launcher_with_versioned_files_that_are_served(client, shops):
    response = manifest(client, "shop=loyal.sandbox.test")
    assert response.status_code == 200
    (orders,) = response.get_json()["widgets"]
    assert orders == {"name": "orders", "mount": "launcher", "label": "Your orders", "icon": orders["icon"],
                      "script": orders["script"], "style": orders["style"]}
    assert orders["icon"].startswith("M")
    assert re.fullmatch(r"/static/widgets/orders\.[0-9a-f]{12}\.js", orders["script"])
    assert re.fullmatch(r"/static/widgets/orders\.[0-9a-f]{12}\.css", orders["style"])
    for url in (orders["script"], orders["style"]):
        with client.get(url) as served:
            assert served.status_code == 200 and "immutable" in served.headers["Cache-Control"]


@pytest.mark.parametrize(("query", "label"), [
    ("shop=polski.sandbox.test", "Twoje zamówienia"),  # the shop's language
    ("shop=polski.sandbox.test&locale=en", "Your orders"),  # the storefront's, when it says
    ("shop=loyal.sandbox.test&locale=pl", "Twoje zamówienia"),
])
def test_labels_are_in_the_shoppers_language(client, shops, query, label):
    assert manifest(client, query).get_json()["widgets"][0]["label"] == label


def test_it_is_public_cached_briefly_and_revalidated_with_its_etag(client, shops):
    first = manifest(client, "shop=loyal.sandbox.test&locale=en")
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert "Origin" in first.headers["Vary"]
    again = manifest(client, "shop=loyal.sandbox.test&locale=en", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()


def test_a_storefront_of_the_shop_may_read_it_across_origins(client, shops):
    response = manifest(client, "shop=loyal.sandbox.test", Origin="https://loyal.sandbox.test")
    assert response.headers["Access-Control-Allow-Origin"] == "https://loyal.sandbox.test"


def test_each_shop_lists_the_widgets_it_has_turned_on_in_the_order_features_declared_them(app, client, shops):
    register_widget(app, "loyalty", Widget("points", script="widgets/orders.js", mount="inline",
                                           label=lazy_gettext("Orders")),
                    enabled=only_loyal)
    register_widget(app, "chat", Widget("chat", script="widgets/orders.js", label="Chat", icon="M4 4h16v12H4Z"))
    loyal = manifest(client, "shop=loyal.sandbox.test&locale=pl").get_json()["widgets"]
    assert [(w["name"], w["mount"], w["label"]) for w in loyal] == [
        ("orders", "launcher", "Twoje zamówienia"), ("points", "inline", "Zamówienia"), ("chat", "launcher", "Chat")]
    assert loyal[1]["style"] is None
    polski = manifest(client, "shop=polski.sandbox.test").get_json()["widgets"]
    assert [w["name"] for w in polski] == ["orders", "chat"]


def test_a_launcher_that_declares_a_side_has_the_shops_and_the_others_none(app, client, shops):
    register_widget(app, "chat", Widget("chat", script="widgets/orders.js", label="Chat", icon="M4 4h16v12H4Z"),
                    side=left_where_loyal)
    loyal = manifest(client, "shop=loyal.sandbox.test").get_json()["widgets"]
    assert [(w["name"], w.get("side")) for w in loyal] == [("orders", None), ("chat", "left")]
    polski = manifest(client, "shop=polski.sandbox.test").get_json()["widgets"]
    assert [(w["name"], w.get("side")) for w in polski] == [("orders", None), ("chat", "right")]


@pytest.mark.parametrize("query", ["shop=nowhere.sandbox.test", "shop=gone.sandbox.test"])
def test_a_shop_we_do_not_serve_has_no_manifest(client, shops, query):
    response = manifest(client, query)
    assert response.status_code == 404 and response.mimetype == PROBLEM


@pytest.mark.parametrize(("query", "field"), [("", "shop"), ("shop=loyal.sandbox.test&locale=xx", "locale"),
                                              ("shop=" + "x" * 256, "shop")])
def test_a_request_it_cannot_answer_names_the_field(client, shops, query, field):
    response = manifest(client, query)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert field in response.get_json()["errors"]


def test_a_woocommerce_store_in_a_sub_folder_is_found_by_the_name_its_plugin_gives(client, db):
    """Plugins older than store keys name the store by its bare host (as its shopper tokens do)."""
    with db.uow() as session:
        make_shop(session, domain="shop.example/store", platform="woocommerce", locale="pl")
        session.commit()
    for name in ("shop.example/store", "shop.example"):
        response = manifest(client, f"shop={name}")
        assert response.status_code == 200 and response.get_json()["widgets"][0]["label"] == "Twoje zamówienia"
