"""admin session data and shop settings

- ``shop_settings``: each shop's values of each settings section a feature declares (one row per shop
  and section), edited on the admin's Settings page.
- ``admin_sessions.data``: the admin inside Shopify is signed in by each request's ID token, never by a
  cookie, so what the cookie session holds elsewhere (the language chosen, a message shown after a
  redirect) is kept on the server, in the row the Shopify session names.

Revision ID: 0007_admin_session_data_and_shop
Revises: 0006_outbox
Create Date: 2026-12-05 22:09:35.907736
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_admin_session_data_and_shop'
down_revision: str | Sequence[str] | None = '0006_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('shop_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=64), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_settings_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_settings')),
    sa.UniqueConstraint('shop_id', 'section', name=op.f('uq_shop_settings_shop_id_section'))
    )
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.drop_column('data')

    op.drop_table('shop_settings')
