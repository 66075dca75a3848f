"""reconcile reports keep each webhook's state

Revision ID: 0009_reconcile_reports_keep_each
Revises: 0008_reconcile_reports_count_del
Create Date: 2026-12-05 21:08:49.142244
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_reconcile_reports_keep_each'
down_revision: str | Sequence[str] | None = '0008_reconcile_reports_count_del'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhooks', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.drop_column('webhooks')
