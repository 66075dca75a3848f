"""What the admin pages show, read from the mirror tables; every query is filtered by the shop.

Reads take the request's session and return rows or small dataclasses; the two writes (retry a job,
ask for a re-sync) commit the session they are given.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Generic, TypeVar

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.jobs.models import JOB_STATUSES, JobRun
from plugin.shops.models import Shop
from plugin.sync import revenue
from plugin.sync.models import Customer, LineItem, Order, Refund, SyncState, WebhookDelivery

PER_PAGE = 50
RECENT_DAYS = 30
OVERVIEW_LIMIT = 10
T = TypeVar("T")


class AdminError(Exception):
    """Root of the admin's errors; messages are safe to show the merchant."""


class RecordNotFound(AdminError):
    def __init__(self, kind: str):
        super().__init__(f"{kind} not found")
        self.kind = kind


class JobNotRetryable(AdminError):
    def __init__(self, status: str):
        super().__init__(f"only failed jobs can be retried; this one is {status}")
        self.status = status


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def paginate(session: Session, stmt: Select, number: int, per_page: int = PER_PAGE,
             scalars: bool = True) -> Page:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    last = max(1, -(-total // per_page))
    number = min(max(1, number), last)
    window = stmt.limit(per_page).offset((number - 1) * per_page)
    items = session.scalars(window).all() if scalars else session.execute(window).all()
    return Page(items=items, number=number, total=total, per_page=per_page)


# -- overview

@dataclass(frozen=True)
class Overview:
    """The overview's figures. ``orders`` counts every order synced (deleted ones aside); ``revenue``,
    ``paid_orders`` and ``recent_paid_orders`` are paid orders only (``plugin.sync.revenue``)."""

    orders: int
    paid_orders: int
    customers: int
    revenue: Decimal
    currency: str
    other_currency_orders: int
    recent_paid_orders: int
    sync_states: Sequence[SyncState]
    last_delivery: WebhookDelivery | None
    failed_deliveries: int
    failed_delivery_samples: Sequence[WebhookDelivery]
    failed_jobs: Sequence[JobRun]
    failed_jobs_total: int
    recent_days: int = RECENT_DAYS


def overview(session: Session, shop: Shop, now=None) -> Overview:
    now = now or utcnow()
    in_shop = Order.shop_id == shop.id
    orders = session.scalar(select(func.count(Order.id)).where(in_shop, revenue.live_order())) or 0
    paid = and_(in_shop, revenue.paid_order())
    customers = session.scalar(select(func.count(Customer.id)).where(
        Customer.shop_id == shop.id, Customer.deleted_at.is_(None))) or 0
    paid_orders, shop_revenue = session.execute(select(func.count(Order.id), revenue.paid_net_revenue()).where(
        paid, Order.currency == shop.currency)).one()
    other_currency = session.scalar(select(func.count(Order.id)).where(
        paid, Order.currency != shop.currency)) or 0
    recent = session.scalar(select(func.count(Order.id)).where(
        paid, Order.created_at >= now - timedelta(days=RECENT_DAYS))) or 0
    sync_states = session.scalars(select(SyncState).where(SyncState.shop_id == shop.id,
                                                          SyncState.resource.in_(("customers", "orders")))
                                  .order_by(SyncState.resource)).all()  # reconcile: on the Connection page
    deliveries = WebhookDelivery.shop_id == shop.id
    last_delivery = session.scalars(select(WebhookDelivery).where(deliveries)
                                    .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
                                    .limit(1)).first()
    failed = and_(deliveries, WebhookDelivery.status == "failed")
    failed_deliveries = session.scalar(select(func.count(WebhookDelivery.id)).where(failed)) or 0
    samples = session.scalars(select(WebhookDelivery).where(failed)
                              .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
                              .limit(5)).all()
    failed_jobs_stmt = _jobs_query(shop.id, "failed")
    failed_jobs = session.scalars(failed_jobs_stmt.limit(OVERVIEW_LIMIT)).all()
    failed_jobs_total = session.scalar(select(func.count()).select_from(
        failed_jobs_stmt.order_by(None).subquery())) or 0
    return Overview(orders=orders, paid_orders=paid_orders or 0, customers=customers,
                    revenue=revenue.as_money(shop_revenue), currency=shop.currency,
                    other_currency_orders=other_currency, recent_paid_orders=recent, sync_states=sync_states,
                    last_delivery=last_delivery, failed_deliveries=failed_deliveries,
                    failed_delivery_samples=samples, failed_jobs=failed_jobs,
                    failed_jobs_total=failed_jobs_total)


# -- orders

def list_orders(session: Session, shop_id: int, page: int = 1) -> Page:
    """Rows of (Order, Customer | None), newest first. Orders deleted on the platform are left out;
    ``order_detail`` still opens one (the page says it was deleted)."""
    stmt = (select(Order, Customer)
            .outerjoin(Customer, and_(Customer.id == Order.customer_id, Customer.shop_id == Order.shop_id))
            .where(Order.shop_id == shop_id, revenue.live_order())
            .order_by(Order.created_at.desc(), Order.id.desc()))
    return paginate(session, stmt, page, scalars=False)


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    customer: Customer | None
    line_items: Sequence[LineItem]
    refunds: Sequence[Refund]

    @property
    def discount_codes(self) -> list[dict]:
        """The order's codes as {"code", "amount"} whatever shape the platform mapping stored."""
        codes = []
        for entry in self.order.discount_codes or []:
            if isinstance(entry, dict):
                codes.append({"code": str(entry.get("code") or ""), "amount": entry.get("amount")})
            else:
                codes.append({"code": str(entry), "amount": None})
        return codes


def order_detail(session: Session, shop_id: int, order_id: int) -> OrderDetail:
    order = session.scalar(select(Order).where(Order.id == order_id, Order.shop_id == shop_id))
    if order is None:
        raise RecordNotFound("order")
    customer = None
    if order.customer_id is not None:
        customer = session.scalar(select(Customer).where(Customer.id == order.customer_id,
                                                         Customer.shop_id == shop_id))
    items = session.scalars(select(LineItem).where(LineItem.order_id == order.id, LineItem.shop_id == shop_id)
                            .order_by(LineItem.id)).all()
    refunds = session.scalars(select(Refund).where(Refund.order_id == order.id, Refund.shop_id == shop_id)
                              .order_by(Refund.created_at, Refund.id)).all()
    return OrderDetail(order=order, customer=customer, line_items=items, refunds=refunds)


# -- customers

def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_customers(session: Session, shop_id: int, search: str = "", page: int = 1) -> Page:
    stmt = select(Customer).where(Customer.shop_id == shop_id, Customer.deleted_at.is_(None))
    search = search.strip()
    if search:
        pattern = _like(search)
        full_name = func.coalesce(Customer.first_name, "") + " " + func.coalesce(Customer.last_name, "")
        stmt = stmt.where(or_(func.lower(Customer.email).like(pattern, escape="\\"),
                              func.lower(full_name).like(pattern, escape="\\")))
    stmt = stmt.order_by(Customer.last_order_at.desc().nulls_last(), Customer.id.desc())
    return paginate(session, stmt, page)


@dataclass(frozen=True)
class CustomerDetail:
    customer: Customer
    orders: Page


def customer_detail(session: Session, shop_id: int, customer_id: int, page: int = 1) -> CustomerDetail:
    """The customer and their orders, every state but deleted ones (their figures: paid orders only)."""
    customer = session.scalar(select(Customer).where(Customer.id == customer_id, Customer.shop_id == shop_id,
                                                     Customer.deleted_at.is_(None)))
    if customer is None:
        raise RecordNotFound("customer")
    orders = paginate(session, select(Order).where(Order.shop_id == shop_id, Order.customer_id == customer.id,
                                                   revenue.live_order())
                      .order_by(Order.created_at.desc(), Order.id.desc()), page)
    return CustomerDetail(customer=customer, orders=orders)


# -- jobs

def _jobs_query(shop_id: int, status: str | None) -> Select:
    stmt = select(JobRun).where(JobRun.shop_id == shop_id)
    if status:
        stmt = stmt.where(JobRun.status == status)
    return stmt.order_by(func.coalesce(JobRun.finished_at, JobRun.enqueued_at).desc(), JobRun.id.desc())


def list_jobs(session: Session, shop_id: int, status: str | None = None, page: int = 1) -> Page:
    if status not in JOB_STATUSES:
        status = None
    return paginate(session, _jobs_query(shop_id, status), page)


def subscriber_stops(session: Session, shop_id: int, jobs: Sequence[JobRun]) -> dict:
    """For the jobs that deliver events to a parked subscriber: where it stopped (job id -> Stop)."""
    from plugin.sync import dispatch

    return dispatch.stops(session, current_app.extensions["storecare.events"], shop_id,
                          [job.id for job in jobs if job.name == dispatch.SUBSCRIBER_JOB])


def retry_job(session: Session, shop_id: int, job_id: int) -> JobRun:
    """Queue a failed job of this shop again; commits."""
    run = session.scalar(select(JobRun).where(JobRun.id == job_id, JobRun.shop_id == shop_id))
    if run is None:
        raise RecordNotFound("job")
    if run.status != "failed":
        raise JobNotRetryable(run.status)
    current_app.extensions["storecare.queue"].retry(session, run.id)
    session.commit()
    return run


def request_reconcile(session: Session, shop_id: int) -> JobRun:
    """Queue a reconcile of the shop now (or return the one already queued); commits."""
    from plugin.sync.reconcile import request_reconcile as queue_reconcile

    run = queue_reconcile(session, shop_id)
    session.commit()
    return run


def request_resync(session: Session, shop_id: int) -> JobRun:
    """Queue a fresh backfill of the shop (or return the one already queued); commits."""
    from plugin.sync.backfill import request_backfill  # the sync package is imported only when asked

    run = request_backfill(session, shop_id)
    session.commit()
    return run
