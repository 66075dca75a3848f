"""Paid net revenue: the one definition every money figure and order count of Storecare rests on.

**A paid order** is an order of the mirror
- whose neutral financial status is ``paid`` or ``partially_refunded``,
- that was not cancelled (``cancelled_at`` is empty), and
- that was not deleted or trashed on the platform (``deleted_at`` is empty).

**Its paid net amount** is its total minus what was refunded of it. **Paid net revenue** is the sum of
the paid net amounts of paid orders. Orders that were never paid (pending, on hold, failed, a lapsed
authorisation), cancelled ones and fully refunded ones count nowhere: not in revenue, not in a
customer's total spent, not in their number of orders, not as their first or last order. The metrics
built later (average order value, lifetime value, retention) take the same orders.

The platform's own statuses become the neutral one in each adapter's ``mapping.py``, so per platform:

- **WooCommerce**: ``processing`` and ``completed`` count (WooCommerce's own paid statuses,
  ``wc_get_is_paid_statuses()``), as does a status a plugin adds once the order has ``date_paid``;
  ``pending``, ``on-hold``, ``failed``, ``checkout-draft`` (unpaid), ``cancelled`` (voided),
  ``refunded`` and an order whose refunds reach its total (refunded) do not. WooCommerce's customer
  "total spent" (``WC_Customer::get_total_spent``) sums the same orders but does not subtract partial
  refunds; its Analytics "Total spend" subtracts them but also counts on-hold orders. Here a partial
  refund is subtracted: the figure is money the shop kept.
- **Shopify**: ``PAID`` and ``PARTIALLY_REFUNDED`` count; ``PENDING``, ``AUTHORIZED``,
  ``PARTIALLY_PAID`` (pending), ``REFUNDED``, ``VOIDED`` and ``EXPIRED`` (voided) do not, nor does an
  order cancelled while still paid.
- **Sandbox**: its ``financial_status`` is the neutral status itself; a cancelled sandbox order is
  refunded or voided.

Two forms of the same rule live here and are tested against the same cases: SQL expressions over the
``orders`` table for queries (``paid_order``, ``paid_net_amount``, ``paid_net_revenue``) and their
pure-Python twins for rows already in memory (``is_paid_order``, ``order_paid_net``, ``sum_paid_net``).
``live_order`` is the weaker filter for lists and "orders synced" counts: every order not deleted.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from adapters.base import FinancialStatus
from plugin.sync.models import Order

PAID_FINANCIAL_STATUSES = frozenset({FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED})
_PAID_VALUES = tuple(sorted(str(status) for status in PAID_FINANCIAL_STATUSES))
ZERO = Decimal(0)


class OrderFigures(Protocol):
    """What the rule reads of an order: an ``Order`` row, or anything with these attributes."""

    financial_status: str
    cancelled_at: datetime | None
    deleted_at: datetime | None
    total: Decimal
    total_refunded: Decimal


# -- SQL: for queries over the orders table (the ORM entity, or an alias of it) ------------------

def live_order(order=Order) -> ColumnElement[bool]:
    """The order still exists on the platform: it may be listed and counted as synced."""
    return order.deleted_at.is_(None)


def paid_order(order=Order) -> ColumnElement[bool]:
    """The order is a paid order (see the module's docstring)."""
    return (order.financial_status.in_(_PAID_VALUES) & order.cancelled_at.is_(None)
            & order.deleted_at.is_(None))


def paid_net_amount(order=Order) -> ColumnElement:
    """An order's paid net amount: total minus refunds. Use it only on rows ``paid_order`` selects."""
    return order.total - func.coalesce(order.total_refunded, 0)


def paid_net_revenue(order=Order) -> ColumnElement:
    """SUM of the paid net amounts, 0 when there is none: aggregate it over rows ``paid_order``
    selects. SQLite sums NUMERIC as floating point: read the result through ``as_money``."""
    return func.coalesce(func.sum(paid_net_amount(order)), 0)


def as_money(value) -> Decimal:
    """A sum as the database returned it (SQLite: a float), as cents."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


# -- pure Python: the same rule for orders already loaded -----------------------------------------

def is_paid_order(order: OrderFigures) -> bool:
    return (order.financial_status in _PAID_VALUES and order.cancelled_at is None
            and order.deleted_at is None)


def order_paid_net(order: OrderFigures) -> Decimal:
    """The order's paid net amount, or 0 when it is not a paid order."""
    if not is_paid_order(order):
        return ZERO
    return Decimal(order.total) - Decimal(order.total_refunded or 0)


def sum_paid_net(orders: Iterable[OrderFigures]) -> Decimal:
    return sum((order_paid_net(o) for o in orders), ZERO)
