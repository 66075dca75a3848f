"""admin sessions and spent sign-in links

Revision ID: 0004_admin_sessions_and_spent_si
Revises: 0003_orders_deleted_on_the_platf
Create Date: 2026-12-05 20:48:53.907344
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_admin_sessions_and_spent_si'
down_revision: str | Sequence[str] | None = '0003_orders_deleted_on_the_platf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('admin_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_admin_sessions_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_admin_sessions_key_hash'))
    )
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_sessions_shop_id'), ['shop_id'], unique=False)

    op.create_table('spent_sign_in_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_spent_sign_in_links_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spent_sign_in_links')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_spent_sign_in_links_key_hash'))
    )
    with op.batch_alter_table('spent_sign_in_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spent_sign_in_links_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_spent_sign_in_links_shop_id'), ['shop_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('spent_sign_in_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spent_sign_in_links_shop_id'))
        batch_op.drop_index(batch_op.f('ix_spent_sign_in_links_expires_at'))

    op.drop_table('spent_sign_in_links')
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_sessions_shop_id'))
        batch_op.drop_index(batch_op.f('ix_admin_sessions_expires_at'))

    op.drop_table('admin_sessions')
