"""Storefront use cases: what a shopper may read about themselves. Every query is scoped by shop and
customer; the ``Shopper`` comes from ``identity.py`` and is trusted here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from plugin.extensions import db
from plugin.shops.models import Shop
from plugin.storefront.identity import Shopper, ShopperTokenError, SignInRequired
from plugin.sync import revenue
from plugin.sync.models import Customer, LineItem, Order

RECENT_ORDERS = 10  # a page of the shopper's history; older ones come page by page (``OrderCursor``)


@dataclass(frozen=True)
class ShopInfo:
    name: str
    locale: str
    currency: str


@dataclass(frozen=True)
class Profile:
    shop: ShopInfo
    guest: bool
    first_name: str | None


@dataclass(frozen=True)
class OrderSummary:
    number: str
    created_at: datetime
    total: Decimal
    currency: str
    financial_status: str
    fulfillment_status: str
    items_count: int
    cancelled: bool = False  # cancelled in the store: nothing more will ship, whatever was paid


@dataclass(frozen=True)
class OrderCursor:
    """Where a page of the history ends: the last order's creation time and our id (ties broken by id,
    as the list is ordered), so the next page starts after it even while new orders arrive."""

    created_at: datetime
    order_id: int


@dataclass(frozen=True)
class OrderHistory:
    shop: ShopInfo
    orders: tuple[OrderSummary, ...]
    next: OrderCursor | None = None  # None: no older orders


def _shop_info(session: Session, shopper: Shopper) -> ShopInfo:
    shop = session.get(Shop, shopper.shop_id)
    if shop is None or shop.status != "installed":
        raise ShopperTokenError("The shop is no longer served.")
    return ShopInfo(name=shop.name or shop.domain, locale=shop.locale or "en", currency=shop.currency)


def load_profile(shopper: Shopper) -> Profile:
    with db.uow() as session:
        shop = _shop_info(session, shopper)
        first_name = None
        if shopper.customer_id is not None:
            first_name = session.scalar(select(Customer.first_name).where(
                Customer.shop_id == shopper.shop_id, Customer.id == shopper.customer_id))
        return Profile(shop=shop, guest=shopper.is_guest, first_name=first_name)


def list_recent_orders(shopper: Shopper, limit: int = RECENT_ORDERS,
                       after: OrderCursor | None = None) -> OrderHistory:
    """A page of the shopper's orders, newest first: the most recent ones, or (``after``) those older
    than where the previous page ended, with the cursor of the next page if there is one. Guests must
    sign in first."""
    if shopper.is_guest:
        raise SignInRequired("Sign in to see your orders")
    with db.uow() as session:
        shop = _shop_info(session, shopper)
        if shopper.customer_id is None:  # signed in, but not mirrored yet: nothing to show
            return OrderHistory(shop, ())
        query = (select(Order)
                 .where(Order.shop_id == shopper.shop_id, Order.customer_id == shopper.customer_id,
                        revenue.live_order())  # an order deleted in the store is gone for the shopper too
                 .order_by(Order.created_at.desc(), Order.id.desc()))
        if after is not None:
            query = query.where(or_(Order.created_at < after.created_at,
                                    and_(Order.created_at == after.created_at, Order.id < after.order_id)))
        orders = session.scalars(query.limit(limit + 1)).all()
        more = len(orders) > limit
        orders = orders[:limit]
        counts = dict(session.execute(
            select(LineItem.order_id, func.sum(LineItem.quantity))
            .where(LineItem.shop_id == shopper.shop_id, LineItem.order_id.in_([o.id for o in orders]))
            .group_by(LineItem.order_id)
        ).all()) if orders else {}
        return OrderHistory(shop, tuple(
            OrderSummary(number=o.number, created_at=o.created_at, total=o.total, currency=o.currency,
                         financial_status=o.financial_status, fulfillment_status=o.fulfillment_status,
                         items_count=int(counts.get(o.id) or 0), cancelled=o.cancelled_at is not None)
            for o in orders
        ), next=OrderCursor(orders[-1].created_at, orders[-1].id) if more else None)
