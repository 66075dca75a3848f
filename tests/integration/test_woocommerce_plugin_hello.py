"""A store connected from our admin, and our WordPress plugin installed afterwards: the plugin says hello
(its php builds the request), we read its connection route with the keys we hold, and the store is
connected on both sides with no second key. The hourly upkeep does the same for plugins that never
confirmed. Against the store simulator."""
from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from sqlalchemy import func, select

from plugin.jobs.models import JobRun
from plugin.shops import woocommerce_upkeep
from plugin.shops.models import Shop
from plugin.shops.service import credentials
from tests.contract.woocommerce_kit import WooSimulator, build_store
from tests.unit.test_woocommerce_wordpress import hello_request, run_php
from tests.woocommerce_support import approve, start, token_of

STORE = "https://ceramika.woo.test/sklep"
KEY = "ceramika.woo.test/sklep"
PLUGIN_SECRET = "9" * 64


@pytest.fixture
def store():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock).add(build_store(STORE, seed=61, orders=2, customers=1))


def connect_from_our_admin(client, store):
    """Connected from our form while the store has no plugin yet."""
    answer, key = approve(client, store, token_of(start(client, STORE)))
    assert answer.json["status"] == "connected"
    return key


def say_hello(client, home_url: str = STORE + "/"):
    """What the plugin's settings page sends (the request its php builds), as WordPress would post it."""
    request = hello_request("http://localhost:5000", home_url)
    return client.post(request["url"].removeprefix("http://localhost:5000"), data=request["args"]["body"],
                       headers=request["args"]["headers"])


def checks(db) -> int:
    with db.uow() as session:
        return session.scalar(select(func.count()).select_from(JobRun).where(
            JobRun.name == woocommerce_upkeep.CHECK_JOB))


def held(db) -> dict:
    with db.uow() as session:
        return credentials(session.scalars(select(Shop).where(Shop.domain == KEY)).one())


def test_a_plugin_installed_after_connecting_from_our_admin_is_connected_without_a_new_key(
        app, client, db, queue, store):
    connect_from_our_admin(client, store)
    queue.drain()
    keys_before = store.key_ids()
    store.plugin_connection = {"storefront_secret": PLUGIN_SECRET, "plugin_version": "0.2.0"}  # installed now

    answer = say_hello(app.test_client())

    assert answer.status_code == 202 and answer.json == {"status": "accepted"}
    assert store.plugin_connected_at is None  # nothing is called during the unauthenticated request
    queue.drain()
    assert store.plugin_connected_at is not None  # the plugin now counts itself connected
    assert held(db)["storefront_secret"] == PLUGIN_SECRET and held(db)["plugin_confirmed_at"]
    assert store.key_ids() == keys_before
    domain = run_php("echo Storecare_Signing::shop_domain($argv[1]);", STORE + "/")
    link = run_php("echo Storecare_Signing::admin_link('', $argv[1], $argv[2], time());", PLUGIN_SECRET, domain)
    merchant = app.test_client()
    assert merchant.get(link).status_code == 302  # its "Open Storecare" works at once
    assert merchant.get("/admin/", headers={"Accept": "application/json"}).status_code == 200


def test_hello_is_the_same_for_unknown_stores_and_queues_one_check_a_minute(app, client, db, queue, store):
    connect_from_our_admin(client, store)
    queue.drain()

    unknown = say_hello(app.test_client(), "https://elsewhere.woo.test/")
    first, second = say_hello(app.test_client()), say_hello(app.test_client())

    assert unknown.status_code == first.status_code == second.status_code == 202
    assert unknown.json == first.json
    assert checks(db) == 1


def test_hello_with_an_unusable_address_names_the_field(client, db):
    answer = client.post("/connect/woocommerce/hello", data={"store_url": "ftp://shop.example"})

    assert answer.status_code == 400 and answer.json["errors"]["store_url"]
    assert checks(db) == 0


def test_no_check_for_a_shop_whose_keys_were_refused(client, db, queue, store):
    connect_from_our_admin(client, store)
    queue.drain()
    with db.uow() as session:
        session.scalars(select(Shop)).one().needs_reauth = True
        session.commit()

    assert say_hello(client).status_code == 202 and checks(db) == 0


def test_the_hourly_upkeep_confirms_a_plugin_installed_later_and_deletes_the_keys_it_lists(
        app, client, db, queue, store):
    first = connect_from_our_admin(client, store)
    connect_from_our_admin(client, store)  # a reconnect without the plugin: the first key is listed
    queue.drain()
    assert [k["key_id"] for k in held(db)["replaced_keys"]] == [str(first.key_id)]
    assert woocommerce_upkeep.upkeep(app.extensions["storecare.db"]) != []
    queue.drain()
    assert "plugin_confirmed_at" not in held(db)  # no plugin yet: nothing to confirm, the key stays
    assert first.key_id in store.key_ids()
    store.plugin_connection = {"storefront_secret": PLUGIN_SECRET, "plugin_version": "0.2.0"}
    with db.uow() as session:  # an hour later
        for run in session.scalars(select(JobRun)):
            run.enqueued_at -= timedelta(hours=1)
        session.commit()

    due = woocommerce_upkeep.upkeep(app.extensions["storecare.db"])
    queue.drain()

    assert len(due) == 1 and held(db)["plugin_confirmed_at"] and held(db)["replaced_keys"] == []
    assert first.key_id not in store.key_ids()
    assert woocommerce_upkeep.upkeep(app.extensions["storecare.db"]) == []  # confirmed, nothing listed
