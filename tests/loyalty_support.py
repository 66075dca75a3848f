"""Helpers for the loyalty program's tests: turn the program on, send a shop's order events through
the real subscriber (recorded as the sync records them, delivered by the dispatcher), and a sandbox
shop with its program on, a member with points, and rewards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import delete, select

from plugin.admin import shop_settings
from plugin.admin.shop_settings import save, section
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember, Reward
from plugin.loyalty.rewards import create_reward
from plugin.loyalty.settings import DEFAULTS
from plugin.sync import events, payloads
from plugin.sync.models import Customer, EventCursor, Order
from tests import sandbox_support
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


@dataclass
class Program:
    sandbox: sandbox_support.InstalledSandbox
    shop_id: int
    customer_id: int
    email: str
    member_id: int


def turn_on(db, shop_id: int, **changes) -> None:
    with db.uow() as s:
        save(s, shop_id, section(current_app, "loyalty"), {**DEFAULTS, "enabled": True, **changes})


def give(db, member_id: int, points: int, source_id: str = "gift") -> None:
    with db.uow() as s:
        member = s.get(LoyaltyMember, member_id)
        ledger.credit(s, member, points, source="manual", source_id=source_id, reason="Gift")
        s.commit()


def member_of(db, shop_id: int, customer_id: int) -> int:
    with db.uow() as s:
        member = ensure_member(s, shop_id, customer_id)
        s.commit()
        return member.id


def program(app, db, queue, *, domain: str = sandbox_support.DOMAIN, points: int = 0,
            address: str = "http://localhost") -> Program:
    """A seeded sandbox shop, mirrored, its program on, and a member (a customer of the mirror)."""
    sandbox = sandbox_support.install(app, db, customers=4, orders=6, domain=domain, address=address)
    queue.drain()
    turn_on(db, sandbox.shop_id, history="zero")  # the member's points are the test's own
    queue.drain()
    with db.uow() as s:  # and the rewards: not the defaults turning the program on gave the shop
        s.execute(delete(Reward).where(Reward.shop_id == sandbox.shop_id))
        s.commit()
    with db.uow() as s:
        customer = s.scalars(select(Customer).where(Customer.shop_id == sandbox.shop_id,
                                                    Customer.email.is_not(None)).order_by(Customer.id)).first()
    member_id = member_of(db, sandbox.shop_id, customer.id)
    if points:
        give(db, member_id, points)
    return Program(sandbox, sandbox.shop_id, customer.id, customer.email, member_id)


def reward(db, shop_id: int, **values) -> int:
    data = {"name": "10 off", "kind": "fixed_amount", "cost": 500, "value": "10.00", **values}
    with db.uow() as s:
        made = create_reward(s, shop_id, data)
        s.commit()
        return made.id


def balance(db, member_id: int) -> dict:
    with db.uow() as s:
        return ledger.balance(s.get(LoyaltyMember, member_id))
