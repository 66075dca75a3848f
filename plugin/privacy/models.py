"""Privacy requests: the customer-data exports a merchant downloads, and the audit trail of every request.

``DataExport`` belongs to its shop (it goes when the shop is redacted). ``PrivacyAudit`` deliberately
has no foreign key to ``shops``: it must outlive a shop/redact, which deletes the shop row and
everything hanging from it. It names the shop by platform and domain (not personal data) and the
subject by platform ids only: no email, name or phone ever reaches this table.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow
from plugin.sync.models import BigId

EXPORT_STATUSES = ("ready", "purged")  # purged: the customer was redacted after the export was made


class DataExport(Base):
    """Everything we held on one customer when the platform asked (customers/data_request).

    The document is JSON encrypted with the token vault: it is personal data at rest. The request key
    (the platform's data-request id, else the webhook's delivery id) makes a repeated request harmless.
    """

    __tablename__ = "data_exports"
    __table_args__ = (UniqueConstraint("shop_id", "request_key"), Index("ix_data_exports_shop_created",
                                                                        "shop_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    request_key: Mapped[str] = mapped_column(String(128))
    customer_platform_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="ready")
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    document_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when the platform asked
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PrivacyAudit(Base):
    """Proof that a privacy request was carried out: what was asked, of which shop, and how many rows
    were exported, anonymised or deleted. Unique per request, so a re-run writes nothing new."""

    __tablename__ = "privacy_audits"
    __table_args__ = (
        UniqueConstraint("platform", "shop_domain", "topic", "request_key"),
        Index("ix_privacy_audits_shop_requested", "platform", "shop_domain", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    shop_domain: Mapped[str] = mapped_column(String(255))
    shop_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # no foreign key: outlives the shop
    topic: Mapped[str] = mapped_column(String(64))
    request_key: Mapped[str] = mapped_column(String(128))
    # platform ids only: {"customer_id": "191167", "order_ids": ["299938"]}
    subject: Mapped[dict] = mapped_column(JSON, default=dict)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # rows affected per table
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
