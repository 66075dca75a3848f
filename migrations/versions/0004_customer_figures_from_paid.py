"""customer figures from paid orders

Customers' orders_count, total_spent and first/last order counted every order that was not cancelled
(pending and on-hold ones too). They now count paid orders only, net of refunds, deleted orders never
(plugin/sync/revenue.py). The mirror refreshes a customer's figures when one of their orders changes;
this computes them once for every customer, so that customers without a new order are right too.
The rule is written out here, not imported: a migration keeps doing what it did when it was written.

Revision ID: 0004_customer_figures_from_paid
Revises: 0003_platform_fidelity_security
Create Date: 2026-12-05 20:46:46.278402
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_customer_figures_from_paid'
down_revision: str | Sequence[str] | None = '0003_platform_fidelity_security'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAID = ("paid", "partially_refunded")


def _refresh(counted) -> None:
    customers = sa.table("customers", sa.column("id"), sa.column("shop_id"), sa.column("orders_count"),
                         sa.column("total_spent"), sa.column("first_order_at"), sa.column("last_order_at"))
    orders = sa.table("orders", sa.column("shop_id"), sa.column("customer_id"), sa.column("total"),
                      sa.column("total_refunded"), sa.column("financial_status"), sa.column("cancelled_at"),
                      sa.column("deleted_at"), sa.column("created_at"))
    theirs = (orders.c.shop_id == customers.c.shop_id) & (orders.c.customer_id == customers.c.id) & counted(orders)
    net = sa.func.coalesce(sa.func.sum(orders.c.total - sa.func.coalesce(orders.c.total_refunded, 0)), 0)
    op.execute(customers.update().values(
        orders_count=sa.select(sa.func.count()).where(theirs).scalar_subquery(),
        total_spent=sa.select(net).where(theirs).scalar_subquery(),
        first_order_at=sa.select(sa.func.min(orders.c.created_at)).where(theirs).scalar_subquery(),
        last_order_at=sa.select(sa.func.max(orders.c.created_at)).where(theirs).scalar_subquery(),
    ))


def upgrade() -> None:
    _refresh(lambda o: o.c.financial_status.in_(PAID) & o.c.cancelled_at.is_(None) & o.c.deleted_at.is_(None))


def downgrade() -> None:
    _refresh(lambda o: o.c.cancelled_at.is_(None))  # the rule before this revision
