"""What the store holds, as typed records, and the queries that load whole orders in a few round trips.

Records keep the store's own units (integer cents, UTC datetimes); ``mapping.py`` turns them into the
platform JSON the app receives, so the app never sees these classes.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from adapters.sandbox.schema import read_time


@dataclass(frozen=True)
class ShopRecord:
    domain: str
    name: str
    currency: str
    tax_rate_bp: int  # prices include tax at this rate, in basis points (2300 = 23 %)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    birthday: date | None
    accepts_marketing: bool
    locale: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LineRecord:
    id: int
    product_id: int | None
    title: str
    sku: str | None
    quantity: int
    price_cents: int


@dataclass(frozen=True)
class RefundRecord:
    id: int
    amount_cents: int
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class FulfillmentRecord:
    id: int
    status: str
    created_at: datetime


@dataclass(frozen=True)
class OrderRecord:
    id: int
    number: int
    email: str | None
    currency: str
    customer: CustomerRecord | None
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    total_cents: int
    discount_code: str | None
    financial_status: str
    fulfillment_status: str | None
    processed_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: tuple[LineRecord, ...] = ()
    refunds: tuple[RefundRecord, ...] = ()
    fulfillments: tuple[FulfillmentRecord, ...] = ()

    @property
    def refunded_cents(self) -> int:
        return sum(r.amount_cents for r in self.refunds)


@dataclass(frozen=True)
class ProductRecord:
    id: int
    title: str
    sku: str
    price_cents: int


@dataclass(frozen=True)
class DiscountCodeRecord:
    id: int
    code: str
    kind: str
    value: Decimal
    title: str
    customer_id: int | None
    ends_at: datetime | None
    minimum_subtotal: Decimal | None
    usage_limit: int | None
    times_used: int
    product_ids: tuple[int, ...] = ()
    shipping_cap: Decimal | None = None
    combines_with: tuple[str, ...] = ()
    customer_email: str | None = None  # lower case; only orders placed with it may use the code


@dataclass(frozen=True)
class StoreCreditRecord:
    id: int
    customer_id: int
    key: str
    amount_cents: int
    currency: str
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SubscriptionRecord:
    id: int
    topic: str
    address: str
    secret: str


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    webhook_id: str
    topic: str
    address: str
    attempt: int
    status_code: int | None
    error: str | None
    created_at: datetime

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


CUSTOMER_COLUMNS = ("id, email, first_name, last_name, birthday, accepts_marketing, locale, "
                    "created_at, updated_at")
_ORDER_COLUMNS = ("o.id, o.number, o.email, o.currency, o.subtotal_cents, o.discount_cents, o.tax_cents, "
                  "o.total_cents, o.discount_code, o.financial_status, o.fulfillment_status, o.processed_at, "
                  "o.cancelled_at, o.cancel_reason, o.closed_at, o.created_at, o.updated_at, o.customer_id")


def customer_from_row(row: Sequence) -> CustomerRecord:
    """A ``customers`` row selected with CUSTOMER_COLUMNS, as a record."""
    return CustomerRecord(
        id=row[0], email=row[1], first_name=row[2], last_name=row[3],
        birthday=date.fromisoformat(row[4]) if row[4] else None,
        accepts_marketing=bool(row[5]), locale=row[6],
        created_at=read_time(row[7]), updated_at=read_time(row[8]),
    )


def discount_code_from_row(row: Sequence) -> DiscountCodeRecord:
    return DiscountCodeRecord(
        id=row[0], code=row[1], kind=row[2], value=Decimal(row[3]), title=row[4], customer_id=row[5],
        ends_at=read_time(row[6]), minimum_subtotal=Decimal(row[7]) if row[7] is not None else None,
        usage_limit=row[8], times_used=row[9], product_ids=tuple(json.loads(row[10])),
        shipping_cap=Decimal(row[11]) if row[11] is not None else None, combines_with=tuple(json.loads(row[12])),
        customer_email=row[13],
    )


DISCOUNT_CODE_COLUMNS = ("id, code, kind, value, title, customer_id, ends_at, minimum_subtotal, usage_limit, "
                         "times_used, product_ids, shipping_cap, combines_with, customer_email")
STORE_CREDIT_COLUMNS = "id, customer_id, key, amount_cents, currency, expires_at, created_at"


def store_credit_from_row(row: Sequence) -> StoreCreditRecord:
    return StoreCreditRecord(id=row[0], customer_id=row[1], key=row[2], amount_cents=row[3], currency=row[4],
                             expires_at=read_time(row[5]), created_at=read_time(row[6]))


def load_orders(conn: sqlite3.Connection, shop: str, ids: Sequence[int]) -> list[OrderRecord]:
    """Whole orders (lines, refunds, fulfilments, customer) for ``ids`` of ``shop``, in the order of ``ids``.

    Four queries per page rather than four per order: a page of 250 orders loads in milliseconds.
    Ids that belong to another shop are simply absent from the result.
    """
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT {_ORDER_COLUMNS} FROM orders o WHERE o.shop = ? AND o.id IN ({marks})",
                        (shop, *ids)).fetchall()
    found = [row[0] for row in rows]
    if not found:
        return []
    lines = _children(conn, found, "SELECT order_id, id, product_id, title, sku, quantity, price_cents "
                                   "FROM line_items WHERE order_id IN ({}) ORDER BY id",
                      lambda r: LineRecord(*r))
    refunds = _children(conn, found, "SELECT order_id, id, amount_cents, note, created_at "
                                     "FROM refunds WHERE order_id IN ({}) ORDER BY created_at, id",
                        lambda r: RefundRecord(r[0], r[1], r[2], read_time(r[3])))
    fulfillments = _children(conn, found, "SELECT order_id, id, status, created_at "
                                          "FROM fulfillments WHERE order_id IN ({}) ORDER BY created_at, id",
                             lambda r: FulfillmentRecord(r[0], r[1], read_time(r[2])))
    customers = _customers(conn, {row[17] for row in rows if row[17] is not None})
    by_id = {}
    for row in rows:
        by_id[row[0]] = OrderRecord(
            id=row[0], number=row[1], email=row[2], currency=row[3], subtotal_cents=row[4],
            discount_cents=row[5], tax_cents=row[6], total_cents=row[7], discount_code=row[8],
            financial_status=row[9], fulfillment_status=row[10], processed_at=read_time(row[11]),
            cancelled_at=read_time(row[12]), cancel_reason=row[13], closed_at=read_time(row[14]),
            created_at=read_time(row[15]), updated_at=read_time(row[16]),
            customer=customers.get(row[17]),
            lines=tuple(lines.get(row[0], ())), refunds=tuple(refunds.get(row[0], ())),
            fulfillments=tuple(fulfillments.get(row[0], ())),
        )
    return [by_id[i] for i in ids if i in by_id]


def _children(conn: sqlite3.Connection, order_ids: list[int], sql: str, build) -> dict[int, list]:
    """Rows of a child table grouped by their order id (the first selected column)."""
    grouped: dict[int, list] = {}
    query = sql.format(",".join("?" * len(order_ids)))
    for row in conn.execute(query, order_ids):
        grouped.setdefault(row[0], []).append(build(row[1:]))
    return grouped


def _customers(conn: sqlite3.Connection, ids: set[int]) -> dict[int, CustomerRecord]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id IN ({marks})", tuple(ids))
    return {row[0]: customer_from_row(row) for row in rows}
