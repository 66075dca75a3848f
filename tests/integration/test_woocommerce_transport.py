"""Every call to a WooCommerce store goes through one transport (adapters/woocommerce/transport.py):
the connection start and every later call, here the backfill and the reconcile. What a store can no
longer do: redirect us somewhere, or resolve to an internal address after it was checked; what an
operator can allow: private stores in production. (The key handover: test_woocommerce_verification.py.)"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.jobs.models import JobRun
from plugin.sync import backfill
from plugin.sync.models import Order
from plugin.sync.reconcile import request_reconcile
from tests.contract.woocommerce_kit import LocalWooServer, build_store, install_shop
from tests.woocommerce_support import (  # noqa: F401 (fixtures)
    NAME,
    PUBLIC,
    connect,
    count,
    names,
    production,
    running,
    simulator,
    start,
)

# -- item 15: private stores, refused by default, allowed by the operator ---------------------------

@pytest.mark.parametrize(("allowed", "resolves_to", "accepted"), [
    ((), "10.20.3.4", False),
    (("10.20.0.0/16",), "10.20.3.4", True),
    (("shop.corp.example",), "10.20.3.4", True),
    (("10.20.0.0/16",), "192.168.1.5", False),  # outside what the operator allowed
    ((), "::ffff:10.20.3.4", False),
    ((), PUBLIC, True),
])
def test_a_private_store_is_refused_in_production_unless_the_operator_allows_it(
        production, names, allowed, resolves_to, accepted):
    names.records = {"shop.corp.example": [resolves_to]}
    with running(production(woocommerce_private_stores=allowed)) as app:
        form = start(app.test_client(), "https://shop.corp.example")
        wordpress = app.test_client().post("/connect/woocommerce/start", data={"store_url": "https://shop.corp.example"})

    if accepted:
        assert form.status_code == 302 and wordpress.status_code == 200
    else:
        assert form.status_code == 400 and "not reachable from the internet" in form.text
        assert wordpress.status_code == 400 and wordpress.json["errors"]["store_url"]


def test_an_allowed_private_store_connects_and_syncs_in_production(production, names):
    names.records = {NAME: ["127.0.0.1"]}
    with LocalWooServer() as server, running(production(woocommerce_private_stores=("127.0.0.1",))) as app:
        store = server.add(build_store(server.url(NAME), seed=31, orders=12, customers=3))
        answer, landing = connect(app.test_client(), store.base_url)

        assert answer.status_code == 200 and answer.json["status"] == "connected", answer.text
        assert landing.status_code == 302
        with app.app_context():
            app.extensions["storecare.queue"].drain()
        assert count(app.extensions["storecare.db"], Order) == 12


# -- item 3: every call checked, not only the address typed -----------------------------------------

def test_a_connected_store_now_resolving_inside_our_network_is_refused_by_backfill_and_reconcile(
        production, names):
    names.records = {NAME: ["127.0.0.1"]}
    with LocalWooServer() as server, running(production()) as app:
        store = server.add(build_store(server.url(NAME), seed=33, orders=5, customers=2))
        db, queue = app.extensions["storecare.db"], app.extensions["storecare.queue"]
        with app.app_context():
            shop_id = install_shop(db, store, domain=NAME)
            with db.uow() as session:
                backfill.request_backfill(session, shop_id)
                request_reconcile(session, shop_id)
                session.commit()

            queue.drain()

        with db.uow() as session:
            runs = session.scalars(select(JobRun).where(JobRun.shop_id == shop_id)).all()
            assert {(run.name, run.status, run.attempts) for run in runs} == {
                ("sync.backfill", "failed", 1), ("sync.reconcile", "failed", 1)}  # refused, not retried
            assert all("not on the public internet" in run.last_error for run in runs)
        assert store.requests == []


def test_a_backfill_page_and_a_reconcile_that_redirect_to_an_internal_address_fail_without_following(
        db, queue, simulator):
    store = simulator.add(build_store("https://ceramika.example", seed=36, orders=250, customers=5))
    internal = simulator._mock.get("http://10.0.0.1/admin", body="internal")
    store.redirect = lambda path, query: "http://10.0.0.1/admin" if path == "wc/v3/orders" and query.get(
        "page") == "2" or path == "wc/v3/webhooks" else None
    shop_id = install_shop(db, store)
    with db.uow() as session:
        backfill.request_backfill(session, shop_id)
        request_reconcile(session, shop_id)
        session.commit()

    queue.drain()

    with db.uow() as session:
        runs = {run.name: run for run in session.scalars(select(JobRun).where(JobRun.shop_id == shop_id))}
        assert (runs["sync.backfill"].status, runs["sync.backfill"].attempts) == ("failed", 1)
        assert (runs["sync.reconcile"].status, runs["sync.reconcile"].attempts) == ("failed", 1)
        # (the first page's events were dispatched meanwhile: that job succeeded)
        assert all("redirect to http://10.0.0.1/admin" in runs[name].last_error
                   for name in ("sync.backfill", "sync.reconcile"))
    assert internal.call_count == 0
