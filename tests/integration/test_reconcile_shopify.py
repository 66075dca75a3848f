"""The periodic reconcile against Shopify (the contract suite's GraphQL simulator over ``responses``):
subscriptions Shopify deleted are created again, and orders whose webhooks never came are pulled by
``updated_at``, with the platform's ordersCount to tell whether anything is still missing."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import responses
from sqlalchemy import func, select

from plugin.shops.service import store_credentials
from plugin.sync.models import Order
from plugin.sync.reconcile import request_reconcile
from plugin.sync.reconcile_models import ReconcileReport
from tests.contract.shopify_simulator import ShopifySimulator
from tests.contract.shopify_store import build_shop
from tests.factories import make_shop
from tests.shopify_auth_support import shopify_app

DOMAIN, TOKEN = "ceramika.myshopify.com", "shpat_reconcile"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shopify(db):
    simulator = ShopifySimulator()
    sim = simulator.add_shop(build_shop(DOMAIN, TOKEN, seed=21, orders=30, customers=8, id_base=0, now=NOW))
    with db.uow() as s:
        shop = make_shop(s, domain=DOMAIN, platform="shopify", currency="USD")
        store_credentials(shop, {"access_token": TOKEN})
        s.commit()
        shop_id = shop.id
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        yield sim, shop_id


def reconcile(db, queue, shop_id: int) -> ReconcileReport:
    with db.uow() as s:
        request_reconcile(s, shop_id)
        s.commit()
    queue.drain()
    with db.uow() as s:
        return s.scalars(select(ReconcileReport).where(ReconcileReport.shop_id == shop_id)).one()


def test_deleted_subscriptions_return_and_missed_orders_are_pulled(app, db, queue, shopify):
    sim, shop_id = shopify
    topics = app.config["STORECARE_MANIFEST"]["shopify"]["webhooks"]
    first = reconcile(db, queue, shop_id)
    assert (first.remote_orders, first.local_orders) == (30, 30)
    assert sorted(first.subscriptions_created) == sorted(topics)
    assert {s["uri"] for s in sim.subscriptions} == {"https://storecare.example/webhooks/shopify"}
    sim.subscriptions[:] = [s for s in sim.subscriptions if s["topic"] != "ORDERS_CREATE"]  # Shopify gave up on it
    newest = max(o.updated_at for o in sim.orders.values())
    template = next(iter(sim.orders.values()))
    for n in (1, 2):
        missed = dataclasses.replace(template, id=5_600_000_000 + n, number=2000 + n, refunds=[],
                                     created_at=newest + timedelta(hours=n), updated_at=newest + timedelta(hours=n))
        sim.orders[missed.id] = missed

    second = reconcile(db, queue, shop_id)

    assert second.subscriptions_created == ["orders/create"]
    assert (second.remote_orders, second.local_orders, second.applied_orders) == (32, 32, 2)
    assert second.pulled_orders < 10
    with db.uow() as s:
        assert s.scalar(select(func.count(Order.id)).where(
            Order.platform_id.in_(("5600000001", "5600000002")))) == 2
