"""The periodic reconcile against a WooCommerce store (the ``responses`` simulator of the contract suite):
WooCommerce disables a webhook after repeated failures and never retries, so the reconcile turns it back
on, creates what is missing, and pulls the orders modified since the newest one we hold."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.admin.auth import login_url
from plugin.sync.models import DomainEvent, Order
from plugin.sync.reconcile import request_reconcile
from plugin.sync.reconcile_models import ReconcileReport
from tests.contract.woocommerce_kit import NOW, build_store, install_shop, make_order, woo_simulator  # noqa: F401 (fixture)

BASE_URL = "https://ceramika.example"
ADDRESS = "http://localhost:5000/webhooks/woocommerce"  # settings.app_url + /webhooks/woocommerce
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored", "customer.created",
          "customer.updated", "customer.deleted")


@pytest.fixture
def woo(woo_simulator, db):
    store = woo_simulator.add(build_store(BASE_URL, seed=5, orders=40, customers=10))
    return store, install_shop(db, store)



def reconcile(db, queue, shop_id: int) -> ReconcileReport:
    with db.uow() as s:
        request_reconcile(s, shop_id)
        s.commit()
    queue.drain()
    with db.uow() as s:
        return s.scalars(select(ReconcileReport).where(ReconcileReport.shop_id == shop_id)).one()


def test_disabled_webhooks_come_back_and_missed_orders_are_pulled(db, queue, woo):
    store, shop_id = woo
    first = reconcile(db, queue, shop_id)  # an empty mirror and no backfill: everything, and every webhook
    assert (first.remote_orders, first.local_orders, first.pulled_since) == (40, 40, None)
    assert sorted(first.subscriptions_created) == sorted(TOPICS)
    hooks = {h["topic"]: h for h in store.webhooks.values()}
    assert {(h["delivery_url"], h["status"], h["secret"]) for h in hooks.values()} == {(ADDRESS, "active",
                                                                                        "our-secret")}
    hooks["order.updated"]["status"] = "disabled"  # five failed deliveries
    del store.webhooks[hooks["customer.created"]["id"]]
    newest = max(o["date_modified_gmt"] for o in store.orders.values())
    for offset, order_id in enumerate((9001, 9002), start=1):  # placed while the webhook was disabled
        at = datetime.fromisoformat(newest).replace(tzinfo=NOW.tzinfo) + timedelta(hours=offset)
        store.add_order(make_order(order_id, created=at, email=f"late{order_id}@example.com"))

    second = reconcile(db, queue, shop_id)

    assert store.webhooks[hooks["order.updated"]["id"]]["status"] == "active"
    assert second.subscriptions_created == ["customer.created"]
    assert sorted(h["topic"] for h in store.webhooks.values() if h["status"] == "active") == sorted(TOPICS)
    with db.uow() as s:
        assert s.scalar(select(func.count(Order.id)).where(Order.platform_id.in_(("9001", "9002")))) == 2
    assert (second.remote_orders, second.local_orders, second.applied_orders) == (42, 42, 2)
    assert second.pulled_orders < 10  # modified_after, not the whole store again


def test_orders_deleted_without_a_webhook_reaching_us_are_found_and_shown(client, db, queue, woo):
    store, shop_id = woo
    first = reconcile(db, queue, shop_id)
    assert (first.remote_orders, first.local_orders, first.deleted_orders) == (40, 40, 0)
    gone, trashed = sorted(store.orders)[:2]
    store.delete_order(gone)  # Delete permanently, straight away: WooCommerce sends nothing
    store.trash_order(trashed, NOW)  # its order.deleted never arrived (the webhook was disabled)

    second = reconcile(db, queue, shop_id)

    assert (second.remote_orders, second.local_orders, second.deleted_orders) == (38, 38, 2)
    assert second.unresolved_difference is None
    with db.uow() as s:
        marked = dict(s.execute(select(Order.platform_id, Order.deleted_at)
                                .where(Order.deleted_at.is_not(None))).all())
        events = s.scalars(select(DomainEvent.key).where(DomainEvent.name == "OrderDeleted")).all()
    assert set(marked) == {str(gone), str(trashed)} and marked[str(trashed)] == NOW  # when it was trashed
    assert sorted(events) == sorted(marked)
    assert client.get(login_url(shop_id)).status_code == 302
    html = client.get("/admin/connection").text
    assert re.search(r'data-fact="reconcile-deleted">2<', html)
    assert re.search(r'data-fact="remote-orders">38<', html) and re.search(r'data-fact="local-orders">38<', html)

    third = reconcile(db, queue, shop_id)  # nothing new: nothing listed again
    assert (third.deleted_orders, third.local_orders) == (0, 38)
