"""What a merchant or shopper does in the sandbox shop, each followed by its webhooks.

Every operation changes the store in one transaction, commits, and only then delivers the signed
webhooks to every subscription of each topic (so the receiver, reading the store back, sees the change).
Every webhook about an order carries the whole current order document, refunds/create included: the
app needs one reader for all order topics, and the refund is in the document's ``refunds`` list.

Each change moves the order's ``updated_at`` strictly forward, so the newest document always wins.
``delivery`` says how webhooks leave (its ``send`` and ``retry_delays`` go to ``webhooks.deliver``);
``now`` makes times reproducible.
"""
from __future__ import annotations

import random
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from adapters.base import Customer, Order
from adapters.errors import NotFound
from adapters.sandbox import discounts, mapping
from adapters.sandbox.catalogue import included_tax
from adapters.sandbox.records import DeliveryRecord, OrderRecord
from adapters.sandbox.schema import (
    INSERT_CUSTOMER,
    INSERT_FULFILLMENT,
    INSERT_LINE,
    INSERT_ORDER,
    INSERT_REFUND,
    db_time,
    to_cents,
)
from adapters.sandbox.store import (
    SandboxError,
    SandboxStore,
    bump,
    next_id,
    normalise_domain,
    order_in,
    shop_in,
)
from adapters.sandbox.webhooks import RETRY_DELAYS, Send, deliver

T = TypeVar("T")
_PAID = ("paid", "partially_refunded")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """The changed object as the app will read it, the document that was sent, and every attempt."""

    subject: T
    payload: Mapping
    deliveries: tuple[DeliveryRecord, ...]


@dataclass(frozen=True)
class Delivery:
    """How to deliver the webhooks of one operation (defaults: real HTTP, 0.2 s and 1 s retries)."""

    send: Send | None = None
    retry_delays: Sequence[float] = RETRY_DELAYS


def create_customer(store: SandboxStore, domain: str, *, email: str, first_name: str | None = None,
                    last_name: str | None = None, locale: str = "en", accepts_marketing: bool = False,
                    birthday: date | None = None, delivery: Delivery = Delivery(),
                    now: datetime | None = None) -> Outcome[Customer]:
    """Register a customer (emails are unique per shop, compared case-insensitively): customers/create."""
    domain, now = normalise_domain(domain), _now(now)
    email = email.strip().lower()
    if "@" not in email:
        raise SandboxError(f"{email!r} is not an email address")
    with store.writing() as conn:
        shop_in(conn, domain)
        if conn.execute("SELECT 1 FROM customers WHERE shop = ? AND email = ?", (domain, email)).fetchone():
            raise SandboxError(f"a customer with email {email} already exists in {domain}")
        customer_id = next_id(conn, "customers")
        stamp = db_time(now)
        conn.execute(INSERT_CUSTOMER, (customer_id, domain, email, first_name, last_name,
                                       birthday.isoformat() if birthday else None, int(accepts_marketing),
                                       locale, stamp, stamp))
    payload = mapping.customer_payload(store.customer(domain, customer_id))
    sent = deliver(store, domain, "customers/create", payload, send=delivery.send,
                   retry_delays=delivery.retry_delays, now=now)
    return Outcome(mapping.customer_from_payload(payload), payload, tuple(sent))


def create_order(store: SandboxStore, domain: str, *, customer_email: str | None = None, items: int = 2,
                 discount_code: str | None = None, paid: bool = True, guest_email: str | None = None,
                 delivery: Delivery = Delivery(), now: datetime | None = None) -> Outcome[Order]:
    """Place an order for a customer (by email) or a guest (``customer_email=None``).

    ``items`` distinct products are picked deterministically from the order number; a code limited to
    products (a free product) adds its first product when none was picked, as a shopper would put it in
    the cart to use the code. A paid order sends orders/create then orders/paid; an unpaid one
    (``paid=False``) stays pending.
    """
    domain, now = normalise_domain(domain), _now(now)
    with store.writing() as conn:
        shop = shop_in(conn, domain)
        customer = _customer_by_email(conn, domain, customer_email) if customer_email else None
        last = conn.execute("SELECT MAX(number) FROM orders WHERE shop = ?", (domain,)).fetchone()[0]
        number = (last or 1000) + 1
        lines = _pick_lines(conn, domain, number, items)
        if discount_code:
            lines = _with_code_product(conn, domain, discount_code, lines)
        subtotal = sum(price * quantity for _, _, _, quantity, price in lines)
        priced = [(product_id, quantity, price) for product_id, _, _, quantity, price in lines]
        email = customer[1] if customer else (guest_email or f"guest-{number}@example.net")
        discount, code = (discounts.redeem(conn, domain, discount_code, priced, customer[0] if customer else None,
                                           now, email)
                          if discount_code else (0, None))
        total = subtotal - discount
        order_id, stamp = next_id(conn, "orders"), db_time(now)
        conn.execute(INSERT_ORDER, (order_id, domain, number, email, customer[0] if customer else None,
                                    shop.currency, subtotal, discount, included_tax(total, shop.tax_rate_bp),
                                    total, code, "paid" if paid else "pending", None, stamp, None, None, None,
                                    stamp, stamp))
        first_line = next_id(conn, "line_items")
        conn.executemany(INSERT_LINE, [
            (first_line + i, order_id, product_id, title, sku, quantity, price, stamp, stamp)
            for i, (product_id, title, sku, quantity, price) in enumerate(lines)])
        record = order_in(conn, domain, order_id)
    topics = ("orders/create", "orders/paid") if paid else ("orders/create",)
    return _announce(store, domain, record, topics, delivery, now)


def create_refund(store: SandboxStore, domain: str, number: int, *, amount: Decimal | None = None,
                  reason: str | None = None, delivery: Delivery = Delivery(),
                  now: datetime | None = None) -> Outcome[Order]:
    """Refund ``amount`` (default: all that is left) of a paid order: refunds/create, orders/updated.

    Both webhooks carry the whole order document (not a Shopify refund object): the new refund is the
    last entry of its ``refunds`` list, so the app reads every order topic the same way.
    """
    domain, now = normalise_domain(domain), _now(now)
    with store.writing() as conn:
        order = _order_by_number(conn, domain, number)
        if order.financial_status not in _PAID:
            raise SandboxError(f"order #{number} is {order.financial_status}: only paid orders can be "
                               "refunded")
        left = order.total_cents - order.refunded_cents
        cents = left if amount is None else _refund_cents(amount)
        if not 0 < cents <= left:
            raise SandboxError(f"a refund of order #{number} must be above 0 and at most {_money(left)}")
        at = bump(order.updated_at, now)
        _insert_refund(conn, order.id, cents, reason, at)
        status = "refunded" if cents == left else "partially_refunded"
        conn.execute("UPDATE orders SET financial_status = ?, updated_at = ? WHERE id = ?",
                     (status, db_time(at), order.id))
        record = order_in(conn, domain, order.id)
    return _announce(store, domain, record, ("refunds/create", "orders/updated"), delivery, at)


def fulfil(store: SandboxStore, domain: str, number: int, *, delivery: Delivery = Delivery(),
           now: datetime | None = None) -> Outcome[Order]:
    """Ship everything on the order: orders/fulfilled, orders/updated. A paid order is then closed."""
    domain, now = normalise_domain(domain), _now(now)
    with store.writing() as conn:
        order = _order_by_number(conn, domain, number)
        if order.cancelled_at is not None:
            raise SandboxError(f"order #{number} is cancelled and cannot be fulfilled")
        if order.fulfillment_status == "fulfilled":
            raise SandboxError(f"order #{number} is already fulfilled")
        at = bump(order.updated_at, now)
        stamp = db_time(at)
        conn.execute(INSERT_FULFILLMENT, (next_id(conn, "fulfillments"), order.id, "success", stamp, stamp))
        closed = stamp if order.financial_status in (*_PAID, "refunded") else None
        conn.execute("UPDATE orders SET fulfillment_status = 'fulfilled', "
                     "closed_at = COALESCE(closed_at, ?), updated_at = ? WHERE id = ?",
                     (closed, stamp, order.id))
        record = order_in(conn, domain, order.id)
    return _announce(store, domain, record, ("orders/fulfilled", "orders/updated"), delivery, at)


def cancel(store: SandboxStore, domain: str, number: int, *, reason: str = "customer",
           delivery: Delivery = Delivery(), now: datetime | None = None) -> Outcome[Order]:
    """Cancel an unfulfilled order: orders/cancelled, orders/updated.

    Money follows the order: whatever was paid and not yet refunded is refunded in full; an unpaid
    order is voided. Shipped orders cannot be cancelled (refund them instead), as on Shopify.
    """
    domain, now = normalise_domain(domain), _now(now)
    with store.writing() as conn:
        order = _order_by_number(conn, domain, number)
        if order.cancelled_at is not None:
            raise SandboxError(f"order #{number} is already cancelled")
        if order.fulfillment_status is not None:
            raise SandboxError(f"order #{number} has been shipped: refund it instead of cancelling")
        at = bump(order.updated_at, now)
        status = order.financial_status
        if status in _PAID:
            _insert_refund(conn, order.id, order.total_cents - order.refunded_cents, "Order cancelled", at)
            status = "refunded"
        elif status in ("pending", "authorized"):
            status = "voided"
        stamp = db_time(at)
        conn.execute("UPDATE orders SET financial_status = ?, cancelled_at = ?, cancel_reason = ?, "
                     "closed_at = ?, updated_at = ? WHERE id = ?",
                     (status, stamp, reason, stamp, stamp, order.id))
        record = order_in(conn, domain, order.id)
    return _announce(store, domain, record, ("orders/cancelled", "orders/updated"), delivery, at)


def delete_order(store: SandboxStore, domain: str, number: int, *, delivery: Delivery = Delivery(),
                 now: datetime | None = None) -> Outcome[Order]:
    """Delete an order for good, as a Shopify merchant can: orders/delete, whose body is ``{"id": N}``.
    The outcome's subject is the order as it was."""
    domain, now = normalise_domain(domain), _now(now)
    with store.writing() as conn:
        record = _order_by_number(conn, domain, number)
        conn.execute("DELETE FROM orders WHERE id = ?", (record.id,))  # its lines, refunds... cascade
    payload = {"id": record.id}
    sent = deliver(store, domain, "orders/delete", payload, send=delivery.send,
                   retry_delays=delivery.retry_delays, now=now)
    return Outcome(mapping.order_from_payload(mapping.order_payload(record)), payload, tuple(sent))


def _announce(store: SandboxStore, domain: str, record: OrderRecord, topics: Sequence[str],
              delivery: Delivery, now: datetime) -> Outcome[Order]:
    payload = mapping.order_payload(record)
    sent: list[DeliveryRecord] = []
    for topic in topics:
        sent += deliver(store, domain, topic, payload, send=delivery.send, retry_delays=delivery.retry_delays,
                        now=now)
    return Outcome(mapping.order_from_payload(payload), payload, tuple(sent))


def _now(now: datetime | None) -> datetime:
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (now or datetime.now(UTC)).astimezone(UTC)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _refund_cents(amount: Decimal) -> int:
    try:
        return to_cents(Decimal(amount))
    except ValueError:
        raise SandboxError(f"{amount} is not an amount of money with at most two decimals") from None


def _insert_refund(conn: sqlite3.Connection, order_id: int, cents: int, note: str | None,
                   at: datetime) -> None:
    stamp = db_time(at)
    conn.execute(INSERT_REFUND, (next_id(conn, "refunds"), order_id, cents, note, stamp, stamp))


def _order_by_number(conn: sqlite3.Connection, domain: str, number: int) -> OrderRecord:
    shop_in(conn, domain)
    row = conn.execute("SELECT id FROM orders WHERE shop = ? AND number = ?", (domain, number)).fetchone()
    if row is None:
        raise NotFound(f"no order #{number} in shop {domain}")
    return order_in(conn, domain, row[0])


def _customer_by_email(conn: sqlite3.Connection, domain: str, email: str) -> tuple[int, str]:
    row = conn.execute("SELECT id, email FROM customers WHERE shop = ? AND email = ?",
                       (domain, email.strip().lower())).fetchone()
    if row is None:
        raise NotFound(f"no customer with email {email} in shop {domain}")
    return row[0], row[1]


def _with_code_product(conn: sqlite3.Connection, domain: str, code: str, lines: list[tuple]) -> list[tuple]:
    found = discounts.find_code(conn, domain, code)
    if found is None or not found.product_ids or any(line[0] in found.product_ids for line in lines):
        return lines
    row = conn.execute("SELECT id, title, sku, price_cents FROM products WHERE shop = ? AND id = ?",
                       (domain, found.product_ids[0])).fetchone()
    return lines if row is None else [*lines, (row[0], row[1], row[2], 1, row[3])]


def _pick_lines(conn: sqlite3.Connection, domain: str, number: int, items: int) -> list[tuple]:
    """``items`` distinct products, chosen from the order number so a rerun picks the same ones."""
    products = conn.execute("SELECT id, title, sku, price_cents FROM products WHERE shop = ? ORDER BY id",
                            (domain,)).fetchall()
    if not 1 <= items <= len(products):
        raise SandboxError(f"an order takes between 1 and {len(products)} items, not {items}")
    chosen = random.Random(f"{domain}:{number}").sample(products, items)
    return [(product_id, title, sku, 1, price) for product_id, title, sku, price in chosen]

