"""Shop: the tenant. Every other row carries a shop_id."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, false
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
    # The platform refused our credentials (a refresh token or an access token, after one refresh): no more
    # platform calls until the merchant opens the app again (Shopify: token exchange) or reconnects.
    needs_reauth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Shop {self.id} {self.platform}:{self.domain}>"


class OAuthState(Base):
    """A single-use ``state`` nonce of the authorization-code grant, bound to one shop and one browser.

    Consumed by deleting the row (``DELETE ... WHERE nonce AND shop AND not expired``): of two callbacks
    carrying the same state, exactly one sees a deleted row, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    shop_domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PendingConnection(Base):
    """A WooCommerce connection in progress: the single-use ``user_id`` token we sent to the store's
    /wc-auth/v1/authorize, kept as a SHA-256 (the token itself travels in URLs and the store's logs).

    ``status``: pending -> connected (keys verified and stored) | failed (``error`` is shown to the
    merchant: a catalogue message, translated when shown, with ``error_params`` filled in). Claiming
    is a compare-and-set (``UPDATE ... WHERE status = 'pending'``), so of two callbacks with one token
    exactly one connects. ``browser_hash`` binds the return to the browser that started (our form) or
    first followed the WordPress plugin's link; ``landed_at`` makes the return's sign-in single-use too.

    ``intended_shop_id``: the shop whose admin the starting browser was signed in to (the Reconnect
    button): a connection that lands on that shop's store key has proven it is the same store.
    ``unused_key_ending``: a refused connection's key that WooCommerce created and we could not delete
    (the last 7 characters of the consumer key, as WooCommerce lists keys), named on the refusal page.
    """

    __tablename__ = "pending_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    store_url: Mapped[str] = mapped_column(String(2000))
    domain: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_params: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), nullable=True)
    intended_shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), nullable=True)
    unused_key_ending: Mapped[str | None] = mapped_column(String(7), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    landed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
