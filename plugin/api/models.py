"""Per-shop API keys for the merchant API: only a SHA-256 of each key is stored."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow


class ApiKey(Base):
    """A key the merchant created in the admin for their own scripts: it reads their shop's data through
    /api/v1 until revoked. The key is shown once, when it is created; ``key_hash`` (SHA-256 of the key,
    unique) finds it again, so reading the table gives nobody a key. ``hint`` is the key's first
    characters, for telling keys apart in the list. Revoked keys stay listed with ``revoked_at``."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    hint: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
