"""Initial schema.

Shops, the order and customer mirror, the webhook inbox, sync state, domain events and job runs.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23 18:27:39.127153
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BigInteger keys, except on SQLite where only INTEGER PRIMARY KEY auto-increments.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Money = sa.Numeric(precision=18, scale=4)
# plugin.db.UTCDateTime stores through this type.
UTCDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("status", sa.Enum("installed", "uninstalled", name="shop_status", native_enum=False),
                  nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column("installed_at", UTCDateTime, nullable=False),
        sa.Column("uninstalled_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
        sa.UniqueConstraint("platform", "domain", name=op.f("uq_shops_platform_domain")),
    )

    op.create_table(
        "customers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("accepts_marketing", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column("total_spent", Money, nullable=False),
        sa.Column("first_order_at", UTCDateTime, nullable=True),
        sa.Column("last_order_at", UTCDateTime, nullable=True),
        sa.Column("platform_created_at", UTCDateTime, nullable=True),
        sa.Column("platform_updated_at", UTCDateTime, nullable=True),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
        sa.Column("synced_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_customers_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("shop_id", "platform_id", name=op.f("uq_customers_shop_id_platform_id")),
    )
    op.create_index(op.f("ix_customers_shop_id"), "customers", ["shop_id"])
    op.create_index(op.f("ix_customers_shop_email"), "customers", ["shop_id", "email"])

    op.create_table(
        "orders",
        sa.Column("id", BigId, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("customer_id", BigId, nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", Money, nullable=False),
        sa.Column("total", Money, nullable=False),
        sa.Column("total_discounts", Money, nullable=False),
        sa.Column("total_tax", Money, nullable=False),
        sa.Column("total_refunded", Money, nullable=False),
        sa.Column("financial_status", sa.String(length=32), nullable=False),
        sa.Column("fulfillment_status", sa.String(length=32), nullable=False),
        sa.Column("discount_codes", sa.JSON(), nullable=False),
        sa.Column("cancel_reason", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("paid_at", UTCDateTime, nullable=True),
        sa.Column("cancelled_at", UTCDateTime, nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("fulfilled_at", UTCDateTime, nullable=True),
        sa.Column("platform_updated_at", UTCDateTime, nullable=False),
        sa.Column("synced_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_orders_customer_id_customers"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_orders_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("shop_id", "platform_id", name=op.f("uq_orders_shop_id_platform_id")),
    )
    op.create_index(op.f("ix_orders_shop_id"), "orders", ["shop_id"])
    op.create_index(op.f("ix_orders_shop_created"), "orders", ["shop_id", "created_at"])
    op.create_index(op.f("ix_orders_shop_customer"), "orders", ["shop_id", "customer_id"])

    op.create_table(
        "line_items",
        sa.Column("id", BigId, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("sku", sa.String(length=128), nullable=True),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", Money, nullable=False),
        sa.Column("total", Money, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_line_items_order_id_orders"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_line_items_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_items")),
        sa.UniqueConstraint("order_id", "platform_id", name=op.f("uq_line_items_order_id_platform_id")),
    )
    op.create_index(op.f("ix_line_items_shop_id"), "line_items", ["shop_id"])
    op.create_index(op.f("ix_line_items_order_id"), "line_items", ["order_id"])

    op.create_table(
        "refunds",
        sa.Column("id", BigId, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_refunds_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("shop_id", "platform_id", name=op.f("uq_refunds_shop_id_platform_id")),
    )
    op.create_index(op.f("ix_refunds_shop_id"), "refunds", ["shop_id"])
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("triggered_at", UTCDateTime, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_webhook_deliveries_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("platform", "shop_id", "delivery_id",
                            name=op.f("uq_webhook_deliveries_platform_shop_id_delivery_id")),
    )
    op.create_index(op.f("ix_webhook_deliveries_shop_id"), "webhook_deliveries", ["shop_id"])
    op.create_index(op.f("ix_webhook_deliveries_shop_received"), "webhook_deliveries",
                    ["shop_id", "received_at"])
    op.create_index(op.f("ix_webhook_deliveries_status"), "webhook_deliveries", ["status"])

    op.create_table(
        "sync_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_sync_states_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_states")),
        sa.UniqueConstraint("shop_id", "resource", name=op.f("uq_sync_states_shop_id_resource")),
    )
    op.create_index(op.f("ix_sync_states_shop_id"), "sync_states", ["shop_id"])

    op.create_table(
        "domain_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("dispatched_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_domain_events_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_events")),
        sa.UniqueConstraint("shop_id", "name", "key", name=op.f("uq_domain_events_shop_id_name_key")),
    )
    op.create_index(op.f("ix_domain_events_shop_id"), "domain_events", ["shop_id"])

    op.create_table(
        "job_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("enqueued_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_job_runs_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index(op.f("ix_job_runs_status"), "job_runs", ["status"])
    op.create_index(op.f("ix_job_runs_shop_status"), "job_runs", ["shop_id", "status"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes and constraints with it.
    for table in ("job_runs", "domain_events", "sync_states", "webhook_deliveries", "refunds",
                  "line_items", "orders", "customers", "shops"):
        op.drop_table(table)
