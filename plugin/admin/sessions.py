"""Admin sessions kept on the server, and single-use sign-in links (tables in plugin/admin/models.py).

A session lives ``IDLE_LIFETIME`` without a page view and ``ABSOLUTE_LIFETIME`` at most. Page views
write ``last_seen_at`` at most once every ``TOUCH_EVERY``, so an admin page is usually a read. These
functions never commit, except ``check_session`` when it records a page view (a small transaction
of its own at the start of the request): ``plugin.admin.auth`` owns the sign-in transaction.

A session of the admin inside Shopify is signed in by each request's ID token, not by this table; its
row only keeps what the cookie would keep elsewhere (``read_data``, ``write_data``), named by the
Shopify session the tokens belong to.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from plugin.admin.models import AdminSession, SpentSignInLink
from plugin.upsert import insert_ignore

IDLE_LIFETIME = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
# A spent link's row is kept this long past the link's own expiry: clocks of the servers that check
# the link's age may disagree by a little; deleting the row early would make the link usable again.
SPENT_LINK_MARGIN = timedelta(minutes=5)


class SessionEnded(Exception):
    """The browser's session is over. ``reason``: ``idle``, ``expired`` (the absolute cap) or ``ended``
    (signed out, replaced by a new sign-in, the shop re-installed or uninstalled, or never known)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LinkAlreadyUsed(Exception):
    """A single-use sign-in link came back after it had signed a browser in."""


@dataclass(frozen=True)
class SignInLink:
    """What makes a verified sign-in link unique: its ``kind`` (``login``, ``wordpress``) and the value
    its signature binds (``identity``), and when the link fails its own age check (``expires_at``)."""

    kind: str
    identity: str
    expires_at: datetime


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def spend_link(db: Session, shop_id: int, link: SignInLink, now: datetime) -> None:
    """Record ``link`` as used, or raise LinkAlreadyUsed. The caller commits (with the new session)."""
    db.execute(delete(SpentSignInLink).where(SpentSignInLink.expires_at < now - SPENT_LINK_MARGIN))
    spent = insert_ignore(db, SpentSignInLink.__table__, [{
        "key_hash": digest(f"{link.kind}|{link.identity}"), "kind": link.kind, "shop_id": shop_id,
        "used_at": now, "expires_at": link.expires_at}], ["key_hash"], returning=[SpentSignInLink.id])
    if not spent:
        raise LinkAlreadyUsed(link.kind)


def start_session(db: Session, shop_id: int, now: datetime, replacing: str | None = None) -> str:
    """A new session for ``shop_id``; returns the key for the browser's cookie. The session the browser
    carried before (``replacing``) ends, and stale sessions of every shop are cleared away. The caller
    commits."""
    if replacing:
        end_session(db, replacing)
    db.execute(delete(AdminSession).where(or_(AdminSession.expires_at <= now,
                                              AdminSession.last_seen_at <= now - IDLE_LIFETIME)))
    key = secrets.token_urlsafe(32)
    db.add(AdminSession(key_hash=digest(key), shop_id=shop_id, created_at=now, last_seen_at=now,
                        expires_at=now + ABSOLUTE_LIFETIME))
    db.flush()
    return key


def check_session(db: Session, key: str, now: datetime) -> AdminSession:
    """The live session ``key`` names, or SessionEnded. A page view more than ``TOUCH_EVERY`` after the
    last recorded one is recorded (and committed); the others write nothing."""
    row = db.scalar(select(AdminSession).where(AdminSession.key_hash == digest(key)))
    if row is None:
        raise SessionEnded("ended")
    if row.expires_at <= now:
        raise SessionEnded("expired")
    if row.last_seen_at + IDLE_LIFETIME <= now:
        raise SessionEnded("idle")
    if row.last_seen_at + TOUCH_EVERY <= now:
        db.execute(update(AdminSession).where(AdminSession.id == row.id,
                                              AdminSession.last_seen_at < now).values(last_seen_at=now))
        db.commit()
        row.last_seen_at = now
    return row


def read_data(db: Session, key: str, now: datetime) -> dict:
    """The data kept on the server for the session ``key`` (an admin inside Shopify, signed in by ID
    tokens: ``plugin.admin.embedded``), or an empty dict when it has none or it ended. A read records
    the page view like ``check_session`` (and commits when it writes)."""
    try:
        row = check_session(db, key, now)
    except SessionEnded:
        return {}
    return dict(row.data or {})


def write_data(db: Session, key: str, shop_id: int, data: dict, now: datetime) -> None:
    """Keep ``data`` for the session ``key`` of ``shop_id``: a session that ended starts again (with the
    usual lifetimes). The caller commits."""
    row = db.scalar(select(AdminSession).where(AdminSession.key_hash == digest(key)))
    live = row is not None and row.shop_id == shop_id and row.expires_at > now \
        and row.last_seen_at + IDLE_LIFETIME > now
    if live:
        row.data, row.last_seen_at = data, now
        return
    if row is not None:
        db.delete(row)
        db.flush()
    db.add(AdminSession(key_hash=digest(key), shop_id=shop_id, created_at=now, last_seen_at=now,
                        expires_at=now + ABSOLUTE_LIFETIME, data=data))
    db.flush()


def end_session(db: Session, key: str) -> None:
    """End one browser's session (sign-out, or a new sign-in in that browser). The caller commits."""
    db.execute(delete(AdminSession).where(AdminSession.key_hash == digest(key)))


def end_shop_sessions(db: Session, shop_id: int | None) -> None:
    """End every admin session of the shop: it was (re)installed, reconnected or uninstalled, so
    whoever holds an older cookie signs in again. The caller commits."""
    if shop_id is not None:
        db.execute(delete(AdminSession).where(AdminSession.shop_id == shop_id))
