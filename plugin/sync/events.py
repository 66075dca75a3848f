"""Domain events: facts the mirror learns (OrderPaid, ...), recorded once and dispatched to subscribers.

Emission is idempotent: (shop, name, key) is unique, so a redelivered webhook or a re-run backfill
records nothing new. Dispatch is at-least-once and in order per shop; handlers must be idempotent
(loyalty keys its ledger entries by the event key).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from sqlalchemy import select, update

from plugin.db import utcnow
from plugin.sync.models import DomainEvent
from plugin.upsert import insert_ignore

ORDER_PAID = "OrderPaid"
ORDER_REFUNDED = "OrderRefunded"
ORDER_CANCELLED = "OrderCancelled"
ORDER_FULFILLED = "OrderFulfilled"
ORDER_DELETED = "OrderDeleted"  # deleted or trashed on the platform; once per order, like OrderPaid
CUSTOMER_CREATED = "CustomerCreated"
EVENT_NAMES = (ORDER_PAID, ORDER_REFUNDED, ORDER_CANCELLED, ORDER_FULFILLED, ORDER_DELETED, CUSTOMER_CREATED)


@dataclass(frozen=True)
class Event:
    id: int
    shop_id: int
    name: str
    key: str
    payload: dict


Handler = Callable[..., None]  # handler(session, event): writes in the caller's transaction, never commits


class EventBus:
    """Which features record which events, and who subscribes to them; filled while ``create_app``
    installs the features (plugin/features.py), one bus per app. The set of events is open: a feature
    declares the ones it records, and a subscription to an undeclared event is an error."""

    def __init__(self) -> None:
        self._declared: dict[str, str] = {}  # event name -> the feature that records it
        self._handlers: dict[str, list[tuple[str, Handler]]] = {}

    def declare(self, event: str, feature: str) -> None:
        owner = self._declared.setdefault(event, feature)
        if owner != feature:
            raise ValueError(f"event {event!r} is declared by {owner!r} and {feature!r}")
        self._handlers.setdefault(event, [])

    def declared(self) -> dict[str, str]:
        return dict(self._declared)

    def subscribe(self, event: str, handler: Handler, *, name: str | None = None) -> None:
        """Subscribe ``handler`` to ``event`` under ``name`` (unique in the app: the subscriber's
        progress is kept under it)."""
        if event not in self._declared:
            raise ValueError(f"unknown event {event!r}: no feature declares it")
        name = name or f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"
        if any(name == taken for subscribers in self._handlers.values() for taken, _ in subscribers):
            raise ValueError(f"subscriber {name!r} is registered twice")
        self._handlers[event].append((name, handler))

    def handlers(self, event: str) -> list[Handler]:
        return [handler for _, handler in self._handlers.get(event, ())]


def record(session, shop_id: int, events: Iterable[tuple[str, str, dict]]) -> int:
    """Record (name, key, payload) facts; returns how many were new."""
    rows = [{"shop_id": shop_id, "name": n, "key": k, "payload": p, "occurred_at": utcnow()} for n, k, p in events]
    inserted = 0
    for start in range(0, len(rows), 500):
        inserted += len(insert_ignore(session, DomainEvent.__table__, rows[start:start + 500],
                                      ["shop_id", "name", "key"], returning=[DomainEvent.id]))
    return inserted


def dispatch_pending(db, bus: EventBus, shop_id: int) -> int:
    """Deliver undispatched events of one shop, oldest first.

    Each event is handled in its own transaction together with its dispatched mark, so a handler's
    writes and the mark commit or roll back as one; a failing handler stops the run (the job retries).
    """
    done = 0
    while True:
        with db.uow() as session:
            row = session.scalars(
                select(DomainEvent).where(DomainEvent.shop_id == shop_id, DomainEvent.dispatched_at.is_(None))
                .order_by(DomainEvent.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return done
            event = Event(row.id, row.shop_id, row.name, row.key, dict(row.payload))
            for handler in bus.handlers(row.name):
                handler(session, event)
            session.execute(update(DomainEvent).where(DomainEvent.id == row.id).values(dispatched_at=utcnow()))
            session.commit()
            done += 1
