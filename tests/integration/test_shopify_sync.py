"""Shopify webhooks that name an order rather than carry it, the bulk export's finish webhook, and a
backfill that outlives its access token, on SQLite and PostgreSQL. Shopify is the contract suite's
GraphQL simulator behind ``responses``; webhooks go through the real inbox and the queue."""
from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from sqlalchemy import func, select

from adapters.errors import AuthRevoked
from adapters.shopify.oauth import OfflineToken
from plugin.shops.models import Shop
from plugin.shops.service import credentials, store_credentials
from plugin.sync import backfill
from plugin.sync.models import DomainEvent, Order, Refund, SyncState, WebhookDelivery
from tests.contract.shopify_simulator import FakeTime, ShopifySimulator, shopify_webhook
from tests.contract.shopify_store import SimRefund, build_shop, rest_order
from tests.factories import make_shop
from tests.shopify_auth_support import SECRET, granted, shopify_app, token_url

DOMAIN, TOKEN = "ceramika.myshopify.com", "shpat_sync"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shopify" / "webhooks"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def simulator():
    simulator = ShopifySimulator(bulk_polls=50)
    simulator.add_shop(build_shop(DOMAIN, TOKEN, seed=5, orders=12, customers=4, id_base=0, now=NOW))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        simulator.mock = mock
        yield simulator


@pytest.fixture
def shop_id(db) -> int:
    with db.uow() as s:
        shop = make_shop(s, domain=DOMAIN, platform="shopify", currency="USD")
        store_credentials(shop, {"access_token": TOKEN})
        s.commit()
        return shop.id


def deliver(client, topic: str, payload: dict, webhook_id: str):
    headers, body = shopify_webhook(DOMAIN, topic, payload, secret=SECRET, webhook_id=webhook_id)
    response = client.post("/webhooks/shopify", data=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


def delivery_status(db, webhook_id: str) -> str:
    with db.uow() as s:
        return s.scalars(select(WebhookDelivery.status).where(WebhookDelivery.delivery_id == webhook_id)).one()


def refund_payload(order_id: int) -> dict:
    payload = json.loads((FIXTURES / "refunds-create.json").read_text())
    return {**payload, "order_id": order_id}


def test_a_refund_webhook_fetches_its_whole_order_and_mirrors_the_refund(db, queue, client, simulator, shop_id):
    order = next(o for o in simulator.shops[DOMAIN].orders.values() if not o.refunds and not o.cancelled_at)
    order.refunds.append(SimRefund(id=990001, created_at=NOW, note="Chipped mug", amount=Decimal("12.50")))
    order.financial, order.updated_at = "partially_refunded", NOW

    deliver(client, "refunds/create", refund_payload(order.id), "refund-1")
    queue.drain()

    assert delivery_status(db, "refund-1") == "processed"
    assert [r["operationName"] for r in simulator.requests] == ["Order"]
    with db.uow() as s:
        mirrored = s.scalars(select(Order).where(Order.shop_id == shop_id,
                                                 Order.platform_id == str(order.id))).one()
        refunds = s.scalars(select(Refund).where(Refund.order_id == mirrored.id)).all()
        assert [(r.amount, r.reason) for r in refunds] == [(Decimal("12.50"), "Chipped mug")]
        assert mirrored.financial_status == "partially_refunded"


def test_a_fulfilment_webhook_fetches_the_order_it_belongs_to(db, queue, client, simulator, shop_id):
    order = next(iter(simulator.shops[DOMAIN].orders.values()))
    deliver(client, "fulfillments/create", {"id": 4451, "order_id": order.id, "status": "success"}, "ful-1")
    queue.drain()
    assert delivery_status(db, "ful-1") == "processed"
    with db.uow() as s:
        assert s.scalar(select(func.count(Order.id)).where(Order.platform_id == str(order.id))) == 1


def test_a_refund_webhook_without_an_order_id_fails_for_good_and_calls_nothing(db, queue, client, simulator,
                                                                             shop_id):
    payload = refund_payload(1)
    del payload["order_id"]
    deliver(client, "refunds/create", payload, "refund-bad")
    queue.drain()
    assert delivery_status(db, "refund-bad") == "failed"
    assert simulator.requests == []


def start_waiting_backfill(db, shop_id: int) -> str:
    """A backfill whose export is still running: the job would come back later."""
    with pytest.raises(backfill.BulkExportPending):
        backfill.run_backfill(db, shop_id, sleep=FakeTime().sleep)
    with db.uow() as s:
        cursor = s.scalars(select(SyncState.cursor).where(SyncState.shop_id == shop_id,
                                                          SyncState.resource == "orders")).one()
    return cursor.removeprefix(backfill.BULK_PREFIX)


def finish_payload(operation: str) -> dict:
    payload = json.loads((FIXTURES / "bulk_operations-finish.json").read_text())
    return {**payload, "admin_graphql_api_id": operation}


def mirrored_orders(db, shop_id: int) -> int:
    with db.uow() as s:
        return s.scalar(select(func.count(Order.id)).where(Order.shop_id == shop_id))


def test_the_finish_webhook_resumes_the_backfill_waiting_for_that_export(db, queue, client, simulator, shop_id):
    operation = start_waiting_backfill(db, shop_id)
    assert mirrored_orders(db, shop_id) == 0
    simulator.bulk_runs[operation].polls_left = 0  # Shopify finished the export

    deliver(client, "bulk_operations/finish", finish_payload(operation), "bulk-1")
    queue.drain()

    assert delivery_status(db, "bulk-1") == "processed"
    assert mirrored_orders(db, shop_id) == 12
    with db.uow() as s:
        state = s.scalars(select(SyncState).where(SyncState.shop_id == shop_id,
                                                  SyncState.resource == "orders")).one()
        assert (state.status, state.processed) == ("done", 12)


def test_a_finish_webhook_for_another_export_is_ignored(db, queue, client, simulator, shop_id):
    start_waiting_backfill(db, shop_id)
    deliver(client, "bulk_operations/finish", finish_payload("gid://shopify/BulkOperation/777"), "bulk-2")
    queue.drain()
    assert delivery_status(db, "bulk-2") == "ignored"
    assert mirrored_orders(db, shop_id) == 0


def expiring_shop(db, shop_id: int, access: str) -> None:
    with db.uow() as s:
        shop = s.get(Shop, shop_id)
        token = OfflineToken(access, ("read_orders",), datetime.now(UTC) + timedelta(hours=1), "shprt_old",
                             datetime.now(UTC) + timedelta(days=90))
        store_credentials(shop, token.as_credentials())
        s.commit()


def test_a_backfill_that_outlives_its_token_refreshes_once_and_goes_on(db, simulator, shop_id):
    """Shopify answers 401 to the token the job started with (it expired mid-run): one refresh, then
    the same call again with the new token."""
    expiring_shop(db, shop_id, access="shpat_expired")
    simulator.shops[DOMAIN].token = "shpat_fresh"
    simulator.bulk_polls = 0
    simulator.mock.post(token_url(DOMAIN), json=granted(access="shpat_fresh", refresh="shprt_new"))

    totals = backfill.run_backfill(db, shop_id, sleep=FakeTime().sleep)

    assert totals == {"customers": 4, "orders": 12}
    with db.uow() as s:
        shop = s.get(Shop, shop_id)
        stored = credentials(shop)
        assert (stored["access_token"], stored["refresh_token"], shop.needs_reauth) == (
            "shpat_fresh", "shprt_new", False)
    refreshes = [c for c in simulator.mock.calls if c.request.url == token_url(DOMAIN)]
    assert len(refreshes) == 1


def test_a_backfill_whose_refreshed_token_is_refused_too_marks_the_shop(db, simulator, shop_id):
    expiring_shop(db, shop_id, access="shpat_expired")
    simulator.shops[DOMAIN].token = "shpat_somebody_else"
    simulator.mock.post(token_url(DOMAIN), json=granted(access="shpat_fresh"))

    with pytest.raises(AuthRevoked):
        backfill.run_backfill(db, shop_id, sleep=FakeTime().sleep)

    with db.uow() as s:
        assert s.get(Shop, shop_id).needs_reauth is True
        state = s.scalars(select(SyncState).where(SyncState.shop_id == shop_id,
                                                  SyncState.resource == "customers")).one()
        assert "AuthRevoked" in state.last_error


def test_a_deleted_order_is_marked_and_an_older_update_arriving_after_it_does_not_bring_it_back(
        db, queue, client, simulator, shop_id):
    shop = simulator.shops[DOMAIN]
    order = next(o for o in shop.orders.values() if o.updated_at < NOW - timedelta(hours=1))
    deliver(client, "orders/updated", rest_order(order, shop.currency), "upd-1")
    queue.drain()
    late = dataclasses.replace(order, updated_at=order.updated_at + timedelta(minutes=5))  # made before the delete
    del shop.orders[order.id]  # the merchant deletes it (X-Shopify-Triggered-At: NOW)

    deliver(client, "orders/delete", {"id": order.id}, "del-1")
    deliver(client, "orders/updated", rest_order(late, shop.currency), "upd-late")  # a retry, hours late
    deliver(client, "orders/delete", {"id": order.id}, "del-2")  # and another subscription's delivery
    queue.drain()

    assert [delivery_status(db, i) for i in ("del-1", "upd-late", "del-2")] == ["processed"] * 3
    with db.uow() as s:
        held = s.scalars(select(Order).where(Order.shop_id == shop_id, Order.platform_id == str(order.id))).one()
        deleted = s.scalars(select(DomainEvent.key).where(DomainEvent.name == "OrderDeleted")).all()
    assert held.deleted_at == NOW + timedelta(microseconds=123456)  # X-Shopify-Triggered-At
    assert held.platform_updated_at == order.updated_at
    assert deleted == [str(order.id)]
