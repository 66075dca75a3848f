"""The payloads of the sync package's domain events: one frozen dataclass per event, defined once.

What a subscriber can rely on (the README lists the fields):

- our own ids (``order_id``, ``customer_id``: rows of ``orders`` and ``customers``) next to the
  platform's (``order_platform_id``, ``customer_platform_id``);
- money as strings of decimals (``Decimal(payload["total"])``), in ``currency``: what the platform
  books the order in (Shopify: the shop's currency, ``shopMoney``; WooCommerce: the order's currency,
  the store's unless a currency plugin changed it);
- line items (``product_id``, ``title``, ``quantity``, ``unit_price``, ``total``) where the fact is
  about what was bought (``OrderPaid``, ``OrderFulfilled``);
- ``source``: how we learned it (``webhook``, ``backfill``, ``reconcile``), ``occurred_at``: when it
  happened on the platform, and ``historical``: whether it happened before the shop installed
  Storecare (its current installation). A backfill right after install brings the shop's history
  (historical); an order placed after install is news (not historical) however we learned it, a
  re-sync or a reconcile that finds an order whose webhook was lost included.
- no personal data (names, emails, addresses, notes): a handler reads those from the mirror, and a
  customer's redaction has nothing to erase from the log.

``Event.data`` (plugin/sync/events.py) parses a stored payload back into its dataclass.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from adapters import base as dto

WEBHOOK, BACKFILL, RECONCILE = "webhook", "backfill", "reconcile"


class PayloadError(ValueError):
    """A stored payload does not have its event's shape."""


def is_historical(occurred_at: datetime | None, installed_at: datetime | None, source: str) -> bool:
    """A fact is history when it happened before the shop's current installation. When its time is
    unknown, what a webhook brings is news and anything else (a backfill's page) history."""
    if occurred_at is None or installed_at is None:
        return source != WEBHOOK
    return occurred_at < installed_at


CENTS = Decimal("0.01")


def money_text(value: Decimal | None) -> str:
    """An amount as payloads carry it: a decimal string with at least two places and no trailing zeros
    past them ("29.35", "1500.00", "0.125"), the same whether it came from a platform or our columns."""
    amount = (Decimal(0) if value is None else Decimal(value)).normalize()
    if amount.as_tuple().exponent > -2:
        amount = amount.quantize(CENTS)
    return f"{amount:f}"


_money = money_text


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True)
class LineItemData:
    product_id: str | None
    title: str
    quantity: int
    unit_price: str  # Decimal as a string, in the order's currency
    total: str  # the line's total after its discounts

    @classmethod
    def of(cls, item: dto.LineItem) -> LineItemData:
        return cls(item.product_id, item.title, item.quantity, _money(item.unit_price), _money(item.line_total))


_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, kw_only=True)
class EventPayload:
    """Fields every event of the sync package carries."""

    name: ClassVar[str]
    source: str
    historical: bool
    occurred_at: str | None  # ISO 8601 (UTC) on the platform's clock

    def to_json(self) -> dict[str, Any]:
        """The payload as stored (what ``dataclasses.asdict`` gives, several times faster: a backfill
        writes one or two of these per order)."""
        names = _FIELDS.get(type(self))
        if names is None:
            names = _FIELDS[type(self)] = tuple(f.name for f in fields(self))
        data = {name: getattr(self, name) for name in names}
        if "line_items" in data:
            data["line_items"] = [{"product_id": li.product_id, "title": li.title, "quantity": li.quantity,
                                   "unit_price": li.unit_price, "total": li.total} for li in data["line_items"]]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventPayload:
        try:
            values = {f.name: data[f.name] for f in fields(cls)}
        except KeyError as missing:
            raise PayloadError(f"{cls.name} payload lacks {missing}") from None
        if "line_items" in values:
            values["line_items"] = tuple(LineItemData(**item) for item in values["line_items"])
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class OrderPayload(EventPayload):
    order_id: int
    order_platform_id: str
    order_number: str
    customer_id: int | None  # None: a guest order no customer of the shop matches
    customer_platform_id: str | None
    currency: str
    total: str


@dataclass(frozen=True, kw_only=True)
class OrderPaid(OrderPayload):
    name: ClassVar[str] = "OrderPaid"
    subtotal: str
    total_tax: str
    total_discounts: str
    line_items: tuple[LineItemData, ...]


@dataclass(frozen=True, kw_only=True)
class OrderRefunded(OrderPayload):
    name: ClassVar[str] = "OrderRefunded"
    refund_platform_id: str
    amount: str  # this refund
    total_refunded: str  # every refund of the order known when this one was recorded


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(OrderPayload):
    name: ClassVar[str] = "OrderCancelled"
    reason: str | None  # the platform's reason code (Shopify: customer, fraud, inventory, declined, other)


@dataclass(frozen=True, kw_only=True)
class OrderFulfilled(OrderPayload):
    name: ClassVar[str] = "OrderFulfilled"
    line_items: tuple[LineItemData, ...]


@dataclass(frozen=True, kw_only=True)
class OrderDeleted(OrderPayload):
    name: ClassVar[str] = "OrderDeleted"
    deleted_at: str  # ISO 8601: when the platform deleted (WooCommerce: trashed) it


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(EventPayload):
    name: ClassVar[str] = "CustomerCreated"
    customer_id: int
    customer_platform_id: str


PAYLOADS: dict[str, type[EventPayload]] = {cls.name: cls for cls in (
    OrderPaid, OrderRefunded, OrderCancelled, OrderFulfilled, OrderDeleted, CustomerCreated)}


def parse(name: str, data: dict[str, Any]) -> EventPayload | dict[str, Any]:
    """The dataclass of event ``name`` read from ``data``; ``data`` itself for events defined elsewhere."""
    cls = PAYLOADS.get(name)
    return cls.from_json(data) if cls is not None else data


# -- building them from what the mirror applied

def order_facts(order: dto.Order, *, order_id: int, customer_id: int | None, source: str,
                installed_at: datetime | None) -> list[OrderPayload]:
    """The facts an order's state implies, in the order they happened: paid, refunded (each refund),
    cancelled, fulfilled. Recording is idempotent, so a fact already recorded is not recorded again."""
    def common(occurred_at: datetime | None) -> dict[str, Any]:
        return {"order_id": order_id, "order_platform_id": order.platform_id, "order_number": order.number,
                "customer_id": customer_id,
                "customer_platform_id": order.customer.platform_id if order.customer else None,
                "currency": order.currency, "total": _money(order.total), "source": source,
                "historical": is_historical(occurred_at, installed_at, source), "occurred_at": _iso(occurred_at)}

    items = tuple(LineItemData.of(item) for item in order.line_items)
    out: list[OrderPayload] = []
    if order.paid_at is not None or order.financial_status in (
            dto.FinancialStatus.PAID, dto.FinancialStatus.PARTIALLY_REFUNDED, dto.FinancialStatus.REFUNDED):
        out.append(OrderPaid(**common(order.paid_at or order.created_at), subtotal=_money(order.subtotal),
                             total_tax=_money(order.total_tax), total_discounts=_money(order.total_discounts),
                             line_items=items))
    for refund in order.refunds:
        out.append(OrderRefunded(**common(refund.created_at), refund_platform_id=refund.platform_id,
                                 amount=_money(refund.amount), total_refunded=_money(order.total_refunded)))
    if order.cancelled_at is not None:
        out.append(OrderCancelled(**common(order.cancelled_at), reason=order.cancel_reason))
    if order.fulfillment_status == dto.FulfillmentStatus.FULFILLED:
        out.append(OrderFulfilled(**common(order.fulfilled_at or order.updated_at), line_items=items))
    return out


def fact_key(fact: EventPayload) -> str:
    """The event's idempotency key: the refund for OrderRefunded, the order or customer otherwise."""
    if isinstance(fact, OrderRefunded):
        return fact.refund_platform_id
    if isinstance(fact, OrderPayload):
        return fact.order_platform_id
    if isinstance(fact, CustomerCreated):
        return fact.customer_platform_id
    raise TypeError(f"no key rule for {type(fact).__name__}")
