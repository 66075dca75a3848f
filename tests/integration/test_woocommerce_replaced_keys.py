"""The WooCommerce key a reconnect replaces: deleted through our WordPress plugin (WooCommerce's REST API
cannot delete keys), or listed on the Connection page with where to delete it. Against the simulator,
whose plugin route follows includes/class-storecare-keys.php (tested in php in the unit tests)."""
from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from plugin.shops.models import Shop
from plugin.shops.service import credentials
from tests.contract.woocommerce_kit import WooSimulator, build_store
from tests.woocommerce_support import connect_store

STORE = "https://ceramika.woo.test"
HTML = {"Accept": "text/html"}


@pytest.fixture
def store():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        store = WooSimulator(mock).add(build_store(STORE, seed=51, orders=2, customers=1))
        store.plugin_connection = {"storefront_secret": "p" * 64, "plugin_version": "0.2.0"}
        yield store


def connect(client, store, user_id: int = 1):
    answer, landing, key = connect_store(client, store, user_id=user_id)
    assert answer.json["status"] == "connected", answer.text
    assert landing.status_code == 302
    return key


def held(db) -> dict:
    with db.uow() as session:
        return credentials(session.scalars(select(Shop)).one())


def test_a_reconnect_deletes_the_key_it_replaces_through_the_plugin(client, db, store):
    first = connect(client, store)

    second = connect(client, store)

    assert first.key_id not in store.key_ids() and second.key_id in store.key_ids()
    assert held(db)["consumer_key"] == second.consumer_key and "replaced_keys" not in held(db)
    assert 'data-section="replaced-keys"' not in client.get("/admin/connection", headers=HTML).text


def test_without_the_plugin_the_replaced_key_is_listed_with_where_to_delete_it(client, db, store):
    store.plugin_connection = None
    first = connect(client, store)

    connect(client, store)

    assert first.key_id in store.key_ids()  # still active in WooCommerce: only the merchant can delete it
    assert held(db)["replaced_keys"] == [{"key_id": str(first.key_id), "ending": first.truncated_key,
                                          "replaced_at": held(db)["replaced_keys"][0]["replaced_at"]}]
    html = client.get("/admin/connection", headers=HTML).text
    assert 'data-section="replaced-keys"' in html and f"…{first.truncated_key}" in html
    assert "WooCommerce > Settings > Advanced > REST API" in html
    assert first.consumer_secret not in html and first.consumer_key not in html
    polish = client.get("/admin/connection?lang=pl", headers=HTML).text
    assert "Stare klucze API do usunięcia w WooCommerce" in polish

    with client.session_transaction() as sess:
        sess["csrf"] = "test-csrf"
    done = client.post(f"/admin/connection/replaced-keys/{first.key_id}/dismiss",
                       data={"csrf_token": "test-csrf", "next": "/admin/connection"})

    assert done.status_code == 302 and done.headers["Location"] == "/admin/connection"
    assert held(db)["replaced_keys"] == []
    assert 'data-section="replaced-keys"' not in client.get("/admin/connection", headers=HTML).text


def test_a_key_the_plugin_refuses_to_delete_stays_listed(client, db, store):
    store.admins = set()  # the reconnecting user may not edit the user who approved the first key
    first = connect(client, store, user_id=2)

    connect(client, store, user_id=3)

    assert first.key_id in store.key_ids()
    assert [k["key_id"] for k in held(db)["replaced_keys"]] == [str(first.key_id)]


def test_only_the_signed_in_shops_keys_can_be_taken_off_its_list(app, client, db, store):
    store.plugin_connection = None
    first = connect(client, store)
    connect(client, store)
    stranger = app.test_client()
    with stranger.session_transaction() as sess:
        sess["csrf"] = "test-csrf"

    refused = stranger.post(f"/admin/connection/replaced-keys/{first.key_id}/dismiss",
                            data={"csrf_token": "test-csrf"}, headers={"Accept": "application/json"})

    assert refused.status_code == 401 and len(held(db)["replaced_keys"]) == 1
