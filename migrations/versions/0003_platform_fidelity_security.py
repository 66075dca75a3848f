"""platform fidelity and security: orders.deleted_at (deleted or trashed on the platform); admin_sessions
and spent_sign_in_links (server-side admin sessions, single-use sign-in links); pending_connections
.error_params, .intended_shop_id and .unused_key_ending (why a WooCommerce connection failed, the shop a
reconnect was started from, a key WooCommerce made that we could not delete); reconcile_reports
.deleted_orders and .webhooks (what the last reconcile found)

Revision ID: 0003_platform_fidelity_security
Revises: 0002_platform_installs_privacy_a
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_platform_fidelity_security'
down_revision: str | Sequence[str] | None = '0002_platform_installs_privacy_a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))

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

    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_params', sa.JSON(), nullable=True))

    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intended_shop_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unused_key_ending', sa.String(length=7), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_pending_connections_intended_shop_id_shops'), 'shops',
                                    ['intended_shop_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_orders', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhooks', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.drop_column('webhooks')

    with op.batch_alter_table('reconcile_reports', schema=None) as batch_op:
        batch_op.drop_column('deleted_orders')

    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pending_connections_intended_shop_id_shops'), type_='foreignkey')
        batch_op.drop_column('unused_key_ending')
        batch_op.drop_column('intended_shop_id')

    with op.batch_alter_table('pending_connections', schema=None) as batch_op:
        batch_op.drop_column('error_params')

    with op.batch_alter_table('spent_sign_in_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spent_sign_in_links_shop_id'))
        batch_op.drop_index(batch_op.f('ix_spent_sign_in_links_expires_at'))

    op.drop_table('spent_sign_in_links')
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_sessions_shop_id'))
        batch_op.drop_index(batch_op.f('ix_admin_sessions_expires_at'))

    op.drop_table('admin_sessions')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
