"""What the storefront keeps: the answers of POSTs sent with an ``Idempotency-Key``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow


class IdempotentRequest(Base):
    """One shopper's POST under one ``Idempotency-Key``: reserved before the endpoint acts, then its
    answer. The unique (shop, shopper, key) is what makes a retried POST act once, on SQLite and
    PostgreSQL alike: of two requests carrying one key, one inserts the row and acts, the other reads
    it (the answer, or "still in progress"). ``fingerprint`` is a SHA-256 of the endpoint and the body,
    so the same key with another body is refused. ``shopper`` is the platform's customer id, empty
    for a guest. ``status`` is NULL while the first request is still running."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopper", "key"),
        Index("ix_idempotent_requests_shop_created", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopper: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
