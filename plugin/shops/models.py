"""Shop: the tenant. Every other row carries a shop_id."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Enum, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow

SHOP_STATUSES = ("installed", "uninstalled")


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("platform", "domain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[str] = mapped_column(Enum(*SHOP_STATUSES, name="shop_status", native_enum=False),
                                        default="installed")
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    # Fernet token of a JSON object (access token, refresh token, webhook secret, ...): never plaintext.
    credentials_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Shop {self.id} {self.platform}:{self.domain}>"
