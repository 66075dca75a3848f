"""The mirror of a shop's customers and orders, the webhook inbox, sync state and domain events."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.db import Base, UTCDateTime, utcnow

Money = Numeric(18, 4)
# BigInteger primary keys, except on SQLite where only INTEGER PRIMARY KEY auto-increments.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _shop_fk():
    return mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("shop_id", "platform_id"), Index("ix_customers_shop_email", "shop_id", "email"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    platform_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    first_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    birthday: Mapped[date | None] = mapped_column(Date, nullable=True)
    accepts_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    platform_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.email or "")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_id"),
        Index("ix_orders_shop_created", "shop_id", "created_at"),
        Index("ix_orders_shop_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    platform_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    total_discounts: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_refunded: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    financial_status: Mapped[str] = mapped_column(String(32))
    fulfillment_status: Mapped[str] = mapped_column(String(32))
    discount_codes: Mapped[list] = mapped_column(JSON, default=list)
    cancel_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    platform_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Deleted (or trashed) on the platform: the row stays, so what other features hold about the order
    # keeps its reference, but a deleted order counts nowhere (lists, figures, aggregates, reconcile).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    line_items: Mapped[list[LineItem]] = relationship(order_by="LineItem.id",
                                                        viewonly=True)
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.created_at",
                                                   viewonly=True)
    customer: Mapped[Customer | None] = relationship(viewonly=True)


class LineItem(Base):
    __tablename__ = "line_items"
    __table_args__ = (UniqueConstraint("order_id", "platform_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sku: Mapped[str | None] = mapped_column(String(128), nullable=True)
    title: Mapped[str] = mapped_column(String(512))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("shop_id", "platform_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


DELIVERY_STATUSES = ("received", "processed", "ignored", "failed")


class WebhookDelivery(Base):
    """The webhook inbox: stored and committed before we answer 200, processed by a worker."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("platform", "shop_id", "delivery_id"),
        Index("ix_webhook_deliveries_shop_received", "shop_id", "received_at"),
        Index("ix_webhook_deliveries_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    shop_id: Mapped[int] = _shop_fk()
    topic: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SyncState(Base):
    """Backfill progress of one resource of one shop: resumable from ``cursor`` after a crash."""

    __tablename__ = "sync_states"
    __table_args__ = (UniqueConstraint("shop_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    resource: Mapped[str] = mapped_column(String(32))  # "customers" | "orders"
    status: Mapped[str] = mapped_column(String(16), default="idle")  # idle|running|done|failed
    cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @classmethod
    def of(cls, session, shop_id: int, resource: str) -> SyncState:
        """The shop's row for ``resource``, added (idle, flushed) if it has none yet."""
        state = session.scalars(select(cls).where(cls.shop_id == shop_id, cls.resource == resource)).first()
        if state is None:
            state = cls(shop_id=shop_id, resource=resource, status="idle", processed=0)
            session.add(state)
            session.flush()
        return state


class DomainEvent(Base):
    """An outbox of facts (OrderPaid, ...). The unique key makes emission idempotent.

    ``seq`` numbers a shop's events 1, 2, 3 ... in the order their transactions committed: it is given
    at commit, under the shop's ``EventStream`` row lock (plugin/sync/events.py), so an event is visible
    only once every event before it in its shop is. Subscribers read a shop's events by ``seq``."""

    __tablename__ = "domain_events"
    __table_args__ = (
        UniqueConstraint("shop_id", "name", "key"),
        UniqueConstraint("shop_id", "seq"),
        Index("ix_domain_events_shop_name_seq", "shop_id", "name", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # None until its transaction commits


class EventStream(Base):
    """A shop's event log: the last ``seq`` given (``head``), and who dispatches it.

    ``version`` grows with every commit that adds events; the dispatch job that is to look at the log
    again is ``dispatch_job_id``, cleared by that job only if ``version`` did not move while it worked
    (a compare-and-set), so an event is never left without a dispatcher and a burst needs one job."""

    __tablename__ = "event_streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), unique=True)
    head: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    dispatch_job_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"),
                                                        nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EventCursor(Base):
    """One subscriber's progress through one shop's events: every event up to ``position`` is done.

    Whoever delivers to the subscriber holds ``lease_token`` until ``lease_until`` (a compare-and-set on
    this row), and advances ``position`` in the handler's own transaction. A subscriber whose handler
    failed is parked: ``parked_job_id`` names the job that retries it from ``failed_seq`` (the shop's
    dispatcher leaves it alone meanwhile), ``last_error`` says why."""

    __tablename__ = "event_cursors"
    __table_args__ = (UniqueConstraint("shop_id", "subscriber"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = _shop_fk()
    subscriber: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    parked_job_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"),
                                                      nullable=True)
    failed_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
