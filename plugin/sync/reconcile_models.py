"""What the last reconciliation of a shop found: the platform's order count against ours, and what it fixed.

The run itself (status, rows pulled, finished_at, last error) is the shop's ``SyncState`` row with
resource "reconcile", like the backfill's; this row keeps the figures the admin shows beside it (the
platform's order count is the "total" of the backfill's progress, each webhook's state and what was
done about it) and what the next run needs to know: a count difference that a full pull could not
close is not chased again every quarter hour.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow


class ReconcileReport(Base):
    __tablename__ = "reconcile_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), unique=True)
    remote_orders: Mapped[int] = mapped_column(Integer, default=0)  # the platform's count
    local_orders: Mapped[int] = mapped_column(Integer, default=0)  # ours, after the run
    pulled_orders: Mapped[int] = mapped_column(Integer, default=0)  # fetched from the platform
    applied_orders: Mapped[int] = mapped_column(Integer, default=0)  # that changed our mirror
    subscriptions_created: Mapped[list] = mapped_column(JSON, default=list)
    # Each topic's subscription: [{"topic", "found": active|paused|disabled|missing,
    # "action": none|created|re_enabled|secret_reset}] (adapters.base.WebhookCheck).
    webhooks: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    pulled_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # None: everything
    # Set after a full pull that left the counts apart: that difference is not chased again.
    unresolved_difference: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Held here but gone from the platform (deleted without a webhook reaching us): marked deleted.
    deleted_orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
