"""Loyalty referrals: the friend's welcome code and amount, a digest of the shipping address they gave

Revision ID: 0011_tiers_referral_welcome_and
Revises: 0010_engine_ledger_order_index
Create Date: 2026-12-06 01:10:25.248832
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_tiers_referral_welcome_and'
down_revision: str | Sequence[str] | None = '0010_engine_ledger_order_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('loyalty_referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('welcome_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('welcome_amount', sa.Numeric(precision=18, scale=4), nullable=True))
        batch_op.add_column(sa.Column('address_key', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('loyalty_referrals', schema=None) as batch_op:
        batch_op.drop_column('address_key')
        batch_op.drop_column('welcome_amount')
        batch_op.drop_column('welcome_code')
