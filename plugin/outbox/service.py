"""Writing messages to the outbox, moving them through their states, and listing them for the admin.

``enqueue_message`` and the state changes write in the caller's session and never commit: a feature
calls them from its own use case (an event handler's transaction, a service), whose commit makes the
message and the fact that caused it durable together. ``cancel_for_merchant`` is the admin's use case
and commits.

States: ``waiting`` (until ``due_at``, then until a channel sends it) -> ``sent`` | ``failed`` |
``cancelled``. Each change is a compare-and-set on ``status = 'waiting'``, so of a send and a cancel
racing for one message exactly one wins. Sending arrives with chat (email delivery); it will take due
waiting messages and call ``mark_sent`` or ``mark_failed``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.outbox.kinds import message_kinds
from plugin.outbox.models import MESSAGE_STATUSES, OutboxMessage
from plugin.shops.models import Shop
from plugin.sync.models import Customer
from plugin.upsert import insert_ignore

CHANNELS = ("email",)


class OutboxError(Exception):
    """Root of the outbox's errors; messages are safe to show."""


class InvalidMessage(OutboxError):
    """A message cannot be written as asked; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class MessageNotFound(OutboxError):
    def __init__(self) -> None:
        super().__init__("no such message for this shop")


def enqueue_message(session: Session, shop_id: int, *, kind: str, source_key: str, reason: str,
                    customer_id: int | None = None, email: str | None = None, locale: str | None = None,
                    reason_params: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None,
                    due_at: datetime | None = None, channel: str = "email") -> OutboxMessage:
    """Write a waiting message to a shopper, once: asked again with the same ``(kind, source_key)`` it
    returns the message written first, whatever its state. ``reason`` is a catalogue message marked
    ``N_`` ("Order %(number)s was paid") filled with ``reason_params`` when shown; ``locale`` defaults
    to the customer's language, else the shop's; ``due_at`` to now."""
    if kind not in message_kinds(current_app):
        raise InvalidMessage("kind", f"no feature declares the message kind {kind!r}")
    source_key = (source_key or "").strip()
    if not source_key or len(source_key) > 128:
        raise InvalidMessage("source_key", "must have 1 to 128 characters")
    if not (reason or "").strip():
        raise InvalidMessage("reason", "must say why the message is sent")
    if channel not in CHANNELS:
        raise InvalidMessage("channel", f"must be one of {', '.join(CHANNELS)}")
    if due_at is not None and due_at.tzinfo is None:
        raise InvalidMessage("due_at", "must be timezone-aware")
    customer = None
    if customer_id is not None:
        customer = session.execute(select(Customer.id, Customer.locale).where(
            Customer.id == customer_id, Customer.shop_id == shop_id, Customer.deleted_at.is_(None))).first()
        if customer is None:
            raise InvalidMessage("customer_id", "is not a customer of this shop")
    email = (email or "").strip().lower() or None
    if email is not None and ("@" not in email or len(email) > 320):
        raise InvalidMessage("email", "is not an email address")
    if customer is None and email is None:
        raise InvalidMessage("customer_id", "a message needs a customer or an email address")
    locale = (locale or (customer.locale if customer else None)
              or session.scalar(select(Shop.locale).where(Shop.id == shop_id)) or "en")
    now = utcnow()
    insert_ignore(session, OutboxMessage.__table__, [{
        "shop_id": shop_id, "kind": kind, "source_key": source_key, "channel": channel,
        "customer_id": customer_id, "email": email, "locale": locale[:10], "reason": reason,
        "reason_params": dict(reason_params or {}), "context": dict(context or {}), "due_at": due_at or now,
        "status": "waiting", "created_at": now, "status_changed_at": now, "attempts": 0,
    }], ["shop_id", "kind", "source_key"])
    return session.scalars(select(OutboxMessage).where(
        OutboxMessage.shop_id == shop_id, OutboxMessage.kind == kind, OutboxMessage.source_key == source_key)
    ).one()


def _move(session: Session, where, status: str, **values) -> int:
    return session.execute(update(OutboxMessage).where(where, OutboxMessage.status == "waiting").values(
        status=status, status_changed_at=utcnow(), **values).execution_options(synchronize_session=False)).rowcount


def cancel_message(session: Session, shop_id: int, message_id: int) -> bool:
    """Cancel a waiting message; False when it was no longer waiting (sent, failed or cancelled)."""
    return bool(_move(session, and_(OutboxMessage.id == message_id, OutboxMessage.shop_id == shop_id),
                      "cancelled"))


def cancel_about(session: Session, shop_id: int, kind: str, source_key: str) -> bool:
    """Cancel the waiting message a feature wrote about ``source_key`` (an order refunded before its
    thank-you was due, a return withdrawn)."""
    return bool(_move(session, and_(OutboxMessage.shop_id == shop_id, OutboxMessage.kind == kind,
                                    OutboxMessage.source_key == source_key), "cancelled"))


def mark_sent(session: Session, shop_id: int, message_id: int) -> bool:
    return bool(_move(session, and_(OutboxMessage.id == message_id, OutboxMessage.shop_id == shop_id), "sent",
                      attempts=OutboxMessage.attempts + 1, last_error=None))


def mark_failed(session: Session, shop_id: int, message_id: int, error: str) -> bool:
    return bool(_move(session, and_(OutboxMessage.id == message_id, OutboxMessage.shop_id == shop_id), "failed",
                      attempts=OutboxMessage.attempts + 1, last_error=error[:2000]))


def cancel_for_merchant(session: Session, shop_id: int, message_id: int) -> bool:
    """The admin's Cancel: the message must be the shop's; commits. False when it was not waiting."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.id == message_id,
                                                     OutboxMessage.shop_id == shop_id)) is None:
        raise MessageNotFound()
    cancelled = cancel_message(session, shop_id, message_id)
    session.commit()
    return cancelled


# -- the admin's list

def list_messages(session: Session, shop_id: int, status: str | None = "waiting", kind: str | None = None,
                  page: int = 1):
    """Rows of (OutboxMessage, Customer | None): waiting ones soonest due first, others latest first."""
    from plugin.admin.service import paginate

    stmt = (select(OutboxMessage, Customer)
            .outerjoin(Customer, and_(Customer.id == OutboxMessage.customer_id, Customer.shop_id == shop_id))
            .where(OutboxMessage.shop_id == shop_id))
    if status in MESSAGE_STATUSES:
        stmt = stmt.where(OutboxMessage.status == status)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    if status == "waiting":
        stmt = stmt.order_by(OutboxMessage.due_at, OutboxMessage.id)
    else:
        stmt = stmt.order_by(OutboxMessage.status_changed_at.desc(), OutboxMessage.id.desc())
    return paginate(session, stmt, page, scalars=False)


def kinds_in_use(session: Session, shop_id: int) -> list[str]:
    return list(session.scalars(select(OutboxMessage.kind).where(OutboxMessage.shop_id == shop_id)
                                .group_by(OutboxMessage.kind).order_by(OutboxMessage.kind)))


def waiting_count(session: Session, shop_id: int) -> int:
    return session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.shop_id == shop_id, OutboxMessage.status == "waiting")) or 0


# -- privacy

def _of_shopper(shop_id: int, customer_ids: Iterable[int], emails: Iterable[str]):
    ids, addresses = list(customer_ids), [e.lower() for e in emails if e]
    return and_(OutboxMessage.shop_id == shop_id,
                or_(OutboxMessage.customer_id.in_(ids or [-1]), OutboxMessage.email.in_(addresses or [""])))


def messages_of(session: Session, shop_id: int, customer_ids: Iterable[int], emails: Iterable[str]) -> list:
    """A shopper's messages, for their data export."""
    return list(session.scalars(select(OutboxMessage).where(_of_shopper(shop_id, customer_ids, emails))
                                .order_by(OutboxMessage.id)))


def forget_shopper(session: Session, shop_id: int, customer_ids: Iterable[int], emails: Iterable[str],
                   scrub) -> int:
    """A customer's redaction: their waiting messages are cancelled, and every message to them loses its
    address and what its parameters and context said about them (``scrub``, the privacy subject's).
    Returns how many messages changed."""
    changed = 0
    for message in messages_of(session, shop_id, customer_ids, emails):
        if message.status == "waiting":
            message.status, message.status_changed_at = "cancelled", utcnow()
        message.email, message.last_error = None, None
        message.reason_params, message.context = scrub(message.reason_params), scrub(message.context)
        changed += 1
    return changed
