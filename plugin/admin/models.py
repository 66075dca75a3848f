"""Admin state kept on the server: signed-in browsers, sign-in links already used, and each shop's settings.

The session cookie only names a row here (``AdminSession``): deleting the row ends the session
wherever the cookie went, which a signed cookie alone cannot do (sign-out, re-install, uninstall,
idle time). Only SHA-256 digests are stored, so reading the table signs nobody in.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow


class AdminSession(Base):
    """One signed-in browser of one shop's admin (or, inside Shopify, the data of one Shopify session).

    ``last_seen_at`` is written at most once a minute (page views read it); the session ends when it
    is older than the idle lifetime, or at ``expires_at`` (the absolute cap) whatever the activity.
    Ended rows are deleted: by sign-out, by a new sign-in in the same browser, by every (re)install
    and uninstall of the shop, and by the housekeeping of each sign-in once they are stale.
    """

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The session's data, for a session the cookie cannot carry: the admin inside Shopify, whose
    # requests are signed in by ID tokens (plugin/admin/embedded.py). Null for cookie sessions.
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class SpentSignInLink(Base):
    """A sign-in link that has signed a browser in; the unique ``key_hash`` makes every link single-use.

    Spending is an INSERT that skips a conflict: of two requests carrying one link, on SQLite and
    PostgreSQL alike, exactly one inserts the row and signs in. ``key_hash`` is the SHA-256 of the
    link's kind and of what its signature binds (never of the link's text, which has other spellings
    with the same signature). The row can go once the link would fail its age check anyway
    (``expires_at``).
    """

    __tablename__ = "spent_sign_in_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ShopSetting(Base):
    """One shop's values of one settings section (a feature's, declared as ``Feature.settings``).

    ``values`` is what the section's schema dumped when the merchant saved (JSON); reading loads it
    through the schema again, over the section's defaults (``plugin.admin.shop_settings``). One row per
    shop and section: saving twice updates it.
    """

    __tablename__ = "shop_settings"
    __table_args__ = (UniqueConstraint("shop_id", "section"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # indexed by the unique constraint, which leads with it
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
