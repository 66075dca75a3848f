"""orders deleted on the platform: orders.deleted_at

Revision ID: 0003_orders_deleted_on_the_platf
Revises: 0002_platform_installs_privacy_a
Create Date: 2026-12-05 20:38:58.967669
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_orders_deleted_on_the_platf'
down_revision: str | Sequence[str] | None = '0002_platform_installs_privacy_a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')

