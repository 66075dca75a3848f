"""pending connections keep the parameters of their error

Revision ID: 0006_pending_connections_keep_th
Revises: 0005_customer_figures_from_paid
Create Date: 2026-12-05 20:51:41.173101
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_pending_connections_keep_th'
down_revision: str | Sequence[str] | None = '0005_customer_figures_from_paid'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.drop_column('error_params')
