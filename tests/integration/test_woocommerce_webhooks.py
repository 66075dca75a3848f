"""WooCommerce deliveries as a WooCommerce 10 store sends them (the simulator in tests/contract): its
background queue delivers in bursts, and every delivery of one webhook within a second carries the same
X-WC-Webhook-Delivery-ID, so what identifies an event is that id together with the body."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from adapters.woocommerce import webhooks as woo_webhooks
from plugin.sync.models import Customer, DomainEvent, Order, WebhookDelivery
from tests.contract.woocommerce_kit import (  # noqa: F401 (fixture)
    NOW,
    adapter_for,
    build_store,
    install_shop,
    make_order,
    woo_simulator,
)

BASE_URL = "https://ceramika.example"
ADDRESS = "http://localhost:5000/webhooks/woocommerce"  # settings.app_url + /webhooks/woocommerce
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored", "customer.created",
          "customer.updated", "customer.deleted")


@pytest.fixture
def woo(woo_simulator, db, client):
    store = woo_simulator.add(build_store(BASE_URL, seed=3, orders=6, customers=4))
    shop_id = install_shop(db, store)
    adapter_for(store).subscribe_webhooks(ADDRESS, TOPICS, "our-secret")
    sent: list[tuple[dict, bytes]] = []

    def send(url: str, headers: dict, body: bytes) -> int:
        sent.append((headers, body))
        return client.post(urlsplit(url).path, data=body, headers=headers).status_code

    return store, shop_id, send, sent


def count(db, model, *where) -> int:
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_two_orders_created_in_one_second_are_both_stored(db, queue, woo):
    store, shop_id, send, sent = woo
    store.place_order(make_order(9001, created=NOW, email="ola@example.com"))
    store.place_order(make_order(9002, created=NOW, email="jan@example.com"))

    assert store.flush(send, at=NOW + timedelta(milliseconds=400)) == [200, 200]
    queue.drain()

    ids = {h[woo_webhooks.DELIVERY_HEADER] for h, _ in sent}
    assert len(sent) == 2 and len(ids) == 1  # one webhook, one second: WooCommerce's ids are equal
    assert count(db, WebhookDelivery, WebhookDelivery.shop_id == shop_id) == 2
    assert count(db, Order, Order.shop_id == shop_id, Order.platform_id.in_(("9001", "9002"))) == 2


def test_a_bulk_status_change_of_three_orders_stores_three(db, queue, woo):
    store, shop_id, send, sent = woo
    chosen = sorted(store.orders)[:3]
    for order_id in chosen:  # Orders > Bulk actions > Change status to completed: one request
        store.update_order(order_id, NOW, status="completed")

    store.flush(send, at=NOW + timedelta(seconds=30))
    queue.drain()

    assert len(sent) == 3 and len({h[woo_webhooks.DELIVERY_HEADER] for h, _ in sent}) == 1
    with db.uow() as s:
        held = s.execute(select(Order.platform_id, Order.fulfillment_status)
                         .where(Order.shop_id == shop_id).order_by(Order.platform_id)).all()
    assert held == [(str(order_id), "fulfilled") for order_id in chosen]


def test_an_identical_redelivery_is_stored_once(db, client, queue, woo):
    store, shop_id, send, sent = woo
    store.place_order(make_order(9003, created=NOW))
    store.flush(send, at=NOW)
    headers, body = sent[0]

    again = client.post("/webhooks/woocommerce", data=body, headers=headers)

    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert count(db, WebhookDelivery, WebhookDelivery.shop_id == shop_id) == 1


def test_a_staff_members_profile_edit_does_not_make_them_a_customer(db, queue, woo):
    store, shop_id, send, _ = woo
    customer_id = next(iter(store.customers))
    store.update_customer(1, NOW, first_name="Admin")  # the administrator: WooCommerce still sends it
    store.update_customer(customer_id, NOW, first_name="Ola")

    assert store.flush(send, at=NOW) == [200, 200]
    queue.drain()

    with db.uow() as s:
        held = s.execute(select(Customer.platform_id, Customer.first_name)
                         .where(Customer.shop_id == shop_id)).all()
        statuses = s.scalars(select(WebhookDelivery.status).order_by(WebhookDelivery.id)).all()
    assert held == [(str(customer_id), "Ola")] and statuses == ["ignored", "processed"]


# -- deleted orders: order.deleted fires when an order is trashed, order.restored when it comes back

def held_order(db, shop_id: int, order_id: int) -> Order:
    with db.uow() as s:
        return s.scalars(select(Order).where(Order.shop_id == shop_id, Order.platform_id == str(order_id))).one()


def deletion_events(db, shop_id: int) -> list[tuple[str, dict]]:
    with db.uow() as s:
        return [(e.key, e.payload) for e in s.scalars(select(DomainEvent).where(
            DomainEvent.shop_id == shop_id, DomainEvent.name == "OrderDeleted"))]


def test_a_trashed_order_is_marked_deleted_once_and_a_restore_brings_it_back(db, client, queue, woo):
    store, shop_id, send, sent = woo
    customer = store.customers[min(store.customers)]
    store.place_order(make_order(9101, customer=customer, created=NOW))
    store.flush(send, at=NOW)
    queue.drain()
    trashed_at = NOW + timedelta(hours=1)

    store.trash_order(9101, trashed_at)
    store.flush(send, at=trashed_at + timedelta(minutes=3))  # the background queue: minutes later
    queue.drain()

    assert held_order(db, shop_id, 9101).deleted_at == trashed_at
    order = held_order(db, shop_id, 9101)
    expected = [("9101", {"order_id": order.id, "order_platform_id": "9101", "order_number": "9101",
                          "customer_id": order.customer_id, "customer_platform_id": str(customer["id"]),
                          "currency": "USD", "total": "29.35", "source": "webhook",
                          "historical": False, "occurred_at": trashed_at.isoformat(),
                          "deleted_at": trashed_at.isoformat()})]
    assert deletion_events(db, shop_id) == expected
    headers, body = sent[-1]
    assert body == b'{"id": 9101}'
    again = client.post("/webhooks/woocommerce", data=body,  # the same event, sent again another second
                        headers={**headers, woo_webhooks.DELIVERY_HEADER: "0" * 32})
    assert again.json["status"] == "accepted"
    queue.drain()
    assert held_order(db, shop_id, 9101).deleted_at == trashed_at and deletion_events(db, shop_id) == expected

    store.restore_order(9101, trashed_at + timedelta(hours=2))
    store.flush(send, at=trashed_at + timedelta(hours=2, minutes=1))
    queue.drain()

    assert held_order(db, shop_id, 9101).deleted_at is None
    assert deletion_events(db, shop_id) == expected


def test_a_trash_and_its_restore_delivered_in_one_late_burst_leave_the_order_there(db, queue, woo):
    store, shop_id, send, _ = woo
    store.place_order(make_order(9102, created=NOW))
    store.flush(send, at=NOW)
    queue.drain()

    store.trash_order(9102, NOW + timedelta(minutes=5))
    store.restore_order(9102, NOW + timedelta(minutes=6))  # undone before WooCommerce sent anything
    assert store.flush(send, at=NOW + timedelta(minutes=20)) == [200, 200]  # order.deleted, order.restored
    queue.drain()

    order = held_order(db, shop_id, 9102)
    assert order.deleted_at is None and order.platform_updated_at == NOW + timedelta(minutes=6)
    assert deletion_events(db, shop_id) == []
