"""reconcile reports count deleted orders

Revision ID: 0008_reconcile_reports_count_del
Revises: 0007_woocommerce_connections_rem
Create Date: 2026-12-05 20:51:43.840897
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_reconcile_reports_count_del'
down_revision: str | Sequence[str] | None = '0007_woocommerce_connections_rem'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_orders', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.drop_column('deleted_orders')
