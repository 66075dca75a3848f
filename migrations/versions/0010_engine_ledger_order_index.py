"""Loyalty ledger: an index on (shop, order), so an order's points are found without a scan (a refund,
a cancellation, a fulfilment, the import of history)

Revision ID: 0010_engine_ledger_order_index
Revises: 0009_loyalty_program
Create Date: 2026-12-06 01:26:31.238253
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010_engine_ledger_order_index'
down_revision: str | Sequence[str] | None = '0009_loyalty_program'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('loyalty_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_loyalty_ledger_shop_order', ['shop_id', 'order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('loyalty_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_loyalty_ledger_shop_order')
