"""Helpers for the loyalty program's tests: turn the program on, and send a shop's order events through
the real subscriber (recorded as the sync records them, delivered by the dispatcher)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from plugin.admin import shop_settings
from plugin.loyalty.settings import DEFAULTS
from plugin.sync import events, payloads
from plugin.sync.models import EventCursor, Order
from tests.factories import T0


def program_on(db, shop_id: int, **changes) -> dict:
    """Save the shop's program settings: the defaults, on, with ``changes``; returns them typed."""
    data = {**DEFAULTS, "enabled": True, **changes}
    with db.uow() as session:
        return shop_settings.save(session, shop_id, shop_settings.section(current_app, "loyalty"), data)


def _common(order: Order, when: datetime | None, historical: bool) -> dict:
    return {"order_id": order.id, "order_platform_id": order.platform_id, "order_number": order.number,
            "customer_id": order.customer_id, "customer_platform_id": None, "currency": order.currency,
            "total": payloads.money_text(order.total), "source": "webhook", "historical": historical,
            "occurred_at": (when or order.paid_at or T0).isoformat()}


def line(product_id: str, total: str, quantity: int = 1) -> payloads.LineItemData:
    return payloads.LineItemData(product_id, f"Product {product_id}", quantity, total, total)


def paid(order: Order, *, tax: str = "0", subtotal: str | None = None, lines=None, when=None,
         historical: bool = False) -> payloads.OrderPaid:
    return payloads.OrderPaid(**_common(order, when, historical),
                              subtotal=subtotal or payloads.money_text(order.subtotal), total_tax=tax,
                              total_discounts="0.00",
                              line_items=tuple(lines or (line("p1", payloads.money_text(order.total)),)))


def refunded(order: Order, key: str, amount: str, total_refunded: str) -> payloads.OrderRefunded:
    return payloads.OrderRefunded(**_common(order, None, False), refund_platform_id=key, amount=amount,
                                  total_refunded=total_refunded)


def fulfilled(order: Order, when: datetime) -> payloads.OrderFulfilled:
    return payloads.OrderFulfilled(**_common(order, when, False), line_items=())


def cancelled(order: Order) -> payloads.OrderCancelled:
    return payloads.OrderCancelled(**_common(order, None, False), reason="customer")


def deleted(order: Order) -> payloads.OrderDeleted:
    return payloads.OrderDeleted(**_common(order, None, False), deleted_at=T0.isoformat())


def customer_created(customer, historical: bool = False) -> payloads.CustomerCreated:
    return payloads.CustomerCreated(customer_id=customer.id, customer_platform_id=customer.platform_id,
                                    source="webhook", historical=historical, occurred_at=T0.isoformat())


def deliver(db, shop_id: int, *facts: payloads.EventPayload) -> None:
    """Record the facts (as the sync does: a fact recorded twice is one event) and dispatch them."""
    with db.uow() as session:
        events.record_facts(session, shop_id, facts)
        session.commit()
    events.dispatch_pending(db, current_app.extensions["storecare.events"], shop_id)
    with db.uow() as session:
        errors = session.scalars(select(EventCursor.last_error).where(
            EventCursor.shop_id == shop_id, EventCursor.subscriber == "loyalty.points",
            EventCursor.parked_job_id.is_not(None))).all()
    assert not errors, errors


def as_decimal(text: str) -> Decimal:
    return Decimal(text)
