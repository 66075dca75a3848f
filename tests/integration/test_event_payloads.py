"""What the sync package's events carry: our ids next to the platform's, money, line items, and whether
the fact is history (from before the shop installed Storecare) or news, however we learned it."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from adapters.sandbox import operations
from adapters.sandbox.operations import Delivery
from plugin.sync import events, payloads
from plugin.sync.backfill import request_backfill
from plugin.sync.models import Customer, DomainEvent, Order
from tests import sandbox_support


def recorded(db, shop_id: int, name: str, key: str) -> events.Event:
    with db.uow() as s:
        return events.as_event(s.scalars(select(DomainEvent).where(
            DomainEvent.shop_id == shop_id, DomainEvent.name == name, DomainEvent.key == key)).one())


def test_an_order_paid_carries_our_ids_its_money_and_its_line_items(app, db, queue):
    sandbox = sandbox_support.install(app, db, customers=6, orders=10)
    queue.drain()
    buyer = sandbox.store.top_customers(sandbox.domain, 1)[0][0]

    placed = operations.create_order(sandbox.store, sandbox.domain, customer_email=buyer.email, items=2,
                                     delivery=sandbox.delivery).subject
    queue.drain()

    event = recorded(db, sandbox.shop_id, "OrderPaid", placed.platform_id)
    with db.uow() as s:
        ours = s.scalars(select(Order).where(Order.platform_id == placed.platform_id)).one()
        customer_id = s.scalar(select(Customer.id).where(Customer.platform_id == str(buyer.id)))
    fact = event.data
    assert isinstance(fact, payloads.OrderPaid)
    assert (fact.order_id, fact.customer_id, fact.customer_platform_id) == (ours.id, customer_id, str(buyer.id))
    assert (fact.order_platform_id, fact.order_number, fact.currency) == (placed.platform_id, placed.number, "PLN")
    assert Decimal(fact.total) == placed.total and Decimal(fact.subtotal) == placed.subtotal
    assert [(li.product_id, li.title, li.quantity, Decimal(li.unit_price), Decimal(li.total))
            for li in fact.line_items] == [(li.product_id, li.title, li.quantity, li.unit_price, li.line_total)
                                           for li in placed.line_items]
    assert all(li.product_id for li in fact.line_items)
    assert (fact.source, fact.historical, fact.occurred_at) == ("webhook", False, placed.paid_at.isoformat())
    assert event.payload["total"] == payloads.money_text(placed.total)  # a string: Decimal(...) reads it exactly
    assert "email" not in str(event.payload) and buyer.email not in str(event.payload)


def test_a_backfill_brings_history_and_what_happens_after_install_is_news_however_we_learn_it(app, db, queue):
    sandbox = sandbox_support.install(app, db, customers=6, orders=12)  # seeded before the install
    queue.drain()
    with db.uow() as s:
        backfilled = s.scalars(select(DomainEvent).where(DomainEvent.shop_id == sandbox.shop_id)).all()
        old_order = s.scalars(select(Order).where(Order.financial_status == "paid").order_by(Order.id)).first()
    assert backfilled and {(e.payload["source"], e.payload["historical"]) for e in backfilled} == {("backfill", True)}

    refund = operations.create_refund(sandbox.store, sandbox.domain, int(old_order.number),
                                      delivery=sandbox.delivery).subject.refunds[-1]
    lost = Delivery(send=lambda url, body, headers: 200, retry_delays=())  # its webhooks never reach us
    missed = operations.create_order(sandbox.store, sandbox.domain, delivery=lost).subject
    queue.drain()
    with db.uow() as s:
        request_backfill(s, sandbox.shop_id)  # the merchant's Re-sync finds the order we missed
        s.commit()
    queue.drain()

    refunded = recorded(db, sandbox.shop_id, "OrderRefunded", refund.platform_id).data
    assert (refunded.order_id, refunded.source, refunded.historical) == (old_order.id, "webhook", False)
    assert Decimal(refunded.amount) == refund.amount
    found = recorded(db, sandbox.shop_id, "OrderPaid", missed.platform_id).data
    assert (found.source, found.historical) == ("backfill", False)  # learned late, but it happened after install
    still_history = recorded(db, sandbox.shop_id, "OrderPaid", old_order.platform_id).data
    assert (still_history.source, still_history.historical) == ("backfill", True)  # recorded once, as it came


def test_the_historical_rule():
    from datetime import UTC, datetime

    installed = datetime(2026, 6, 1, tzinfo=UTC)
    before, after = datetime(2026, 5, 31, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
    assert payloads.is_historical(before, installed, "webhook") is True
    assert payloads.is_historical(after, installed, "backfill") is False
    assert payloads.is_historical(None, installed, "backfill") is True
    assert payloads.is_historical(None, installed, "webhook") is False
