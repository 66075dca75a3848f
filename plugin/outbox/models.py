"""OutboxMessage: one message to one shopper, from the feature that wrote it until it is sent or not."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow
from plugin.sync.models import BigId

MESSAGE_STATUSES = ("waiting", "sent", "cancelled", "failed")


class OutboxMessage(Base):
    """Who (a customer of the shop, or an address), which message (``kind``, declared by the feature
    that writes it), in which language, why (a catalogue message with its parameters, translated when
    shown), when it is due, and its state. ``(shop, kind, source_key)`` is unique: a feature that asks
    twice for the message about one thing (an event redelivered, a job re-run) gets the first one."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("shop_id", "kind", "source_key"),
        Index("ix_outbox_messages_shop_status_due", "shop_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "loyalty.points_expiring"
    source_key: Mapped[str] = mapped_column(String(128))  # what it is about, unique within the kind
    channel: Mapped[str] = mapped_column(String(16), default="email")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)  # when no customer (a guest)
    locale: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)  # a catalogue message (marked N_), translated when shown
    reason_params: Mapped[dict] = mapped_column(JSON, default=dict)
    context: Mapped[dict] = mapped_column(JSON, default=dict)  # what the sender needs (ids, amounts)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
