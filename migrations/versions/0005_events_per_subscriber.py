"""events per subscriber

Domain events get a number per shop (``seq``: 1, 2, 3 ... in the order they committed), each shop an
event stream (``event_streams``: the last number, the dispatch job) and each (shop, subscriber) a cursor
(``event_cursors``); ``dispatched_at`` goes (progress is per subscriber now). Events recorded before
this revision are numbered in the order they were recorded, and their payloads are rewritten to the
shape of plugin/sync/payloads.py from the mirror (our ids, amounts, line items, ``historical``). The
shape is written out here, not imported: a migration keeps doing what it did when it was written.

Revision ID: 0005_events_per_subscriber
Revises: 0004_customer_figures_from_paid
Create Date: 2026-12-05 22:04:39.012620
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = '0005_events_per_subscriber'
down_revision: str | Sequence[str] | None = '0004_customer_figures_from_paid'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTCDateTime = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
BATCH = 500

events = sa.table("domain_events", sa.column("id", sa.Integer), sa.column("shop_id", sa.Integer),
                  sa.column("name", sa.String), sa.column("key", sa.String), sa.column("payload", sa.JSON),
                  sa.column("seq", sa.BigInteger))
shops = sa.table("shops", sa.column("id", sa.Integer), sa.column("installed_at", UTCDateTime))
Money = sa.Numeric(18, 4)
orders = sa.table("orders", *(sa.column(c) for c in (
    "id", "shop_id", "platform_id", "number", "customer_id", "currency")), *(sa.column(c, Money) for c in (
    "subtotal", "total", "total_tax", "total_discounts", "total_refunded")), *(sa.column(c, UTCDateTime) for c in (
    "created_at", "paid_at", "cancelled_at", "fulfilled_at", "platform_updated_at")))
line_items = sa.table("line_items", *(sa.column(c) for c in ("id", "order_id", "product_id", "title", "quantity")),
                      sa.column("unit_price", Money), sa.column("total", Money))
refunds = sa.table("refunds", sa.column("order_id"), sa.column("platform_id"), sa.column("created_at", UTCDateTime))
customers = sa.table("customers", sa.column("id"), sa.column("shop_id"), sa.column("platform_id"),
                     sa.column("platform_created_at", UTCDateTime))
streams = sa.table("event_streams", sa.column("shop_id", sa.Integer), sa.column("head", sa.BigInteger),
                   sa.column("version", sa.BigInteger), sa.column("updated_at", UTCDateTime))


def upgrade() -> None:
    op.create_table('event_cursors',
    sa.Column('id', BigId, nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('subscriber', sa.String(length=100), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', UTCDateTime, nullable=True),
    sa.Column('parked_job_id', BigId, nullable=True),
    sa.Column('failed_seq', sa.BigInteger(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('failed_at', UTCDateTime, nullable=True),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['parked_job_id'], ['job_runs.id'], name=op.f('fk_event_cursors_parked_job_id_job_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_event_cursors_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_cursors')),
    sa.UniqueConstraint('shop_id', 'subscriber', name=op.f('uq_event_cursors_shop_id_subscriber'))
    )
    with op.batch_alter_table('event_cursors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_cursors_shop_id'), ['shop_id'], unique=False)

    op.create_table('event_streams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('head', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('dispatch_job_id', BigId, nullable=True),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['dispatch_job_id'], ['job_runs.id'], name=op.f('fk_event_streams_dispatch_job_id_job_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_event_streams_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_streams')),
    sa.UniqueConstraint('shop_id', name=op.f('uq_event_streams_shop_id'))
    )
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))

    _number_existing_events()
    _rewrite_existing_payloads()

    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.create_index('ix_domain_events_shop_name_seq', ['shop_id', 'name', 'seq'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_domain_events_shop_id_seq'), ['shop_id', 'seq'])
        batch_op.drop_column('dispatched_at')


def downgrade() -> None:
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched_at', UTCDateTime, nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_domain_events_shop_id_seq'), type_='unique')
        batch_op.drop_index('ix_domain_events_shop_name_seq')
        batch_op.drop_column('seq')

    op.drop_table('event_streams')
    with op.batch_alter_table('event_cursors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_cursors_shop_id'))

    op.drop_table('event_cursors')


def _number_existing_events() -> None:
    """Each shop's events 1, 2, 3 ... in the order they were recorded; each shop a stream at its last."""
    numbered = sa.select(events.c.id, sa.func.row_number().over(partition_by=events.c.shop_id,
                                                               order_by=events.c.id).label("n")).subquery()
    op.execute(events.update().where(events.c.id == numbered.c.id).values(seq=numbered.c.n))
    op.execute(streams.insert().from_select(
        ["shop_id", "head", "version", "updated_at"],
        sa.select(events.c.shop_id, sa.func.max(events.c.seq), sa.literal(0, sa.BigInteger),
                  sa.literal(datetime.now(UTC), UTCDateTime)).group_by(events.c.shop_id)))


def _utc(moment):
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment) -> str | None:
    moment = _utc(moment)
    return moment.isoformat() if moment is not None else None


def _money(value) -> str:
    """At least two decimal places, no trailing zeros past them ("29.35", "1500.00", "0.125")."""
    amount = Decimal(str(value if value is not None else 0)).normalize()
    if amount.as_tuple().exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:f}"


def _facts(source: str, occurred, installed) -> dict:
    occurred, installed = _utc(occurred), _utc(installed)
    historical = source != "webhook" if occurred is None or installed is None else occurred < installed
    return {"source": source, "historical": historical, "occurred_at": _iso(occurred)}


def _rewrite_existing_payloads() -> None:
    bind = op.get_bind()
    installed = dict(bind.execute(sa.select(shops.c.id, shops.c.installed_at)).all())
    last = 0
    while True:
        batch = bind.execute(sa.select(events.c.id, events.c.shop_id, events.c.name, events.c.key, events.c.payload)
                             .where(events.c.id > last).order_by(events.c.id).limit(BATCH)).all()
        if not batch:
            return
        last = batch[-1].id
        for row in batch:
            payload = _payload(bind, row, installed.get(row.shop_id))
            if payload is not None:
                bind.execute(events.update().where(events.c.id == row.id).values(payload=payload))


def _payload(bind, row, installed) -> dict | None:
    old = row.payload if isinstance(row.payload, dict) else {}
    source = str(old.get("source") or "backfill")
    if row.name == "CustomerCreated":
        found = bind.execute(sa.select(customers.c.id, customers.c.platform_created_at).where(
            customers.c.shop_id == row.shop_id, customers.c.platform_id == row.key)).first()
        if found is None:
            return None
        return {"customer_id": found.id, "customer_platform_id": row.key,
                **_facts(source, found.platform_created_at, installed)}
    platform_id = old.get("order_platform_id")
    if row.name not in ("OrderPaid", "OrderRefunded", "OrderCancelled", "OrderFulfilled", "OrderDeleted") \
            or platform_id is None:
        return None
    order = bind.execute(sa.select(orders).where(orders.c.shop_id == row.shop_id,
                                                 orders.c.platform_id == str(platform_id))).first()
    if order is None:
        return None
    common = {"order_id": order.id, "order_platform_id": order.platform_id, "order_number": order.number,
              "customer_id": order.customer_id, "customer_platform_id": bind.scalar(
                  sa.select(customers.c.platform_id).where(customers.c.id == order.customer_id))
              if order.customer_id is not None else None,
              "currency": order.currency, "total": _money(order.total)}
    items = [{"product_id": i.product_id, "title": i.title, "quantity": i.quantity,
              "unit_price": _money(i.unit_price), "total": _money(i.total)}
             for i in bind.execute(sa.select(line_items).where(line_items.c.order_id == order.id)
                                   .order_by(line_items.c.id))]
    if row.name == "OrderPaid":
        return {**common, **_facts(source, order.paid_at or order.created_at, installed),
                "subtotal": _money(order.subtotal), "total_tax": _money(order.total_tax),
                "total_discounts": _money(order.total_discounts), "line_items": items}
    if row.name == "OrderRefunded":
        when = bind.scalar(sa.select(refunds.c.created_at).where(refunds.c.order_id == order.id,
                                                                 refunds.c.platform_id == row.key))
        return {**common, **_facts(source, when, installed), "refund_platform_id": row.key,
                "amount": _money(old.get("amount")), "total_refunded": _money(order.total_refunded)}
    if row.name == "OrderCancelled":
        return {**common, **_facts(source, order.cancelled_at, installed), "reason": old.get("reason")}
    if row.name == "OrderFulfilled":
        return {**common, **_facts(source, order.fulfilled_at or order.platform_updated_at, installed),
                "line_items": items}
    deleted_at = old.get("deleted_at")
    return {**common, **_facts(source, deleted_at, installed), "deleted_at": _iso(deleted_at)}
