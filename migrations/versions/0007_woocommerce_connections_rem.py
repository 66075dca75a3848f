"""woocommerce connections remember the intended shop: pending_connections.intended_shop_id and
.unused_key_ending (a refused connection's key we could not delete)

Revision ID: 0007_woocommerce_connections_rem
Revises: 0006_pending_connections_keep_th
Create Date: 2026-12-05 20:49:30.566273
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_woocommerce_connections_rem'
down_revision: str | Sequence[str] | None = '0006_pending_connections_keep_th'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intended_shop_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unused_key_ending', sa.String(length=7), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_pending_connections_intended_shop_id_shops'), 'shops',
                                    ['intended_shop_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pending_connections_intended_shop_id_shops'), type_='foreignkey')
        batch_op.drop_column('unused_key_ending')
        batch_op.drop_column('intended_shop_id')
