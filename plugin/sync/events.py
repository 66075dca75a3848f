"""Domain events: facts the mirror learns (OrderPaid, ...), recorded once and numbered per shop.

Recording is idempotent: (shop, name, key) is unique, so a redelivered webhook or a re-run backfill
records nothing new. A shop's events are numbered 1, 2, 3 ... (``seq``) in the order their
transactions commit: when a session that recorded events commits, it locks the shop's ``EventStream``
row, numbers its events after the stream's ``head`` and makes sure a dispatch job will look at the log
(``request_dispatch``). The lock is taken last and held only until that commit, so numbers are
dense and an event becomes visible only after every event numbered before it. That is what lets each
subscriber keep one number as its progress (plugin/sync/dispatch.py).

Payloads of the sync package's events are the dataclasses of plugin/sync/payloads.py.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import event as orm_event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.sync import payloads
from plugin.sync.models import DomainEvent, EventStream
from plugin.upsert import insert_ignore

ORDER_PAID = "OrderPaid"
ORDER_REFUNDED = "OrderRefunded"
ORDER_CANCELLED = "OrderCancelled"
ORDER_FULFILLED = "OrderFulfilled"
ORDER_DELETED = "OrderDeleted"  # deleted or trashed on the platform; once per order, like OrderPaid
CUSTOMER_CREATED = "CustomerCreated"
DISPATCH_JOB = "sync.dispatch_events"
LIVE_JOB_STATUSES = ("queued", "running", "retrying")
_UNSEQUENCED = "storecare.unsequenced_shops"


@dataclass(frozen=True)
class Event:
    id: int
    shop_id: int
    name: str
    key: str
    payload: dict
    seq: int = 0
    occurred_at: datetime | None = None

    @property
    def data(self) -> payloads.EventPayload | dict[str, Any]:
        """The payload as its dataclass (plugin/sync/payloads.py); a dict for events defined elsewhere."""
        return payloads.parse(self.name, self.payload)


Handler = Callable[..., None]  # handler(session, event): writes in the given transaction, never commits


@dataclass(frozen=True)
class Subscription:
    name: str  # unique in the app: the subscriber's progress is kept under it
    events: tuple[str, ...]  # handled in the shop's order, one after another
    handler: Handler


class EventBus:
    """Which features record which events, and who subscribes to them; filled while ``create_app``
    installs the features (plugin/features.py), one bus per app. The set of events is open: a feature
    declares the ones it records, and a subscription to an undeclared event is an error."""

    def __init__(self) -> None:
        self._declared: dict[str, str] = {}  # event name -> the feature that records it
        self._subscriptions: dict[str, Subscription] = {}

    def declare(self, event: str, feature: str) -> None:
        owner = self._declared.setdefault(event, feature)
        if owner != feature:
            raise ValueError(f"event {event!r} is declared by {owner!r} and {feature!r}")

    def declared(self) -> dict[str, str]:
        return dict(self._declared)

    def subscribe(self, event: str | Iterable[str], handler: Handler, *, name: str | None = None) -> None:
        """Subscribe ``handler`` to ``event`` (a name, or several names whose relative order matters to
        the subscriber) under ``name``, unique in the app: the subscriber's progress is kept under it."""
        names = (event,) if isinstance(event, str) else tuple(event)
        if not names:
            raise ValueError("a subscriber subscribes to at least one event")
        for one in names:
            if one not in self._declared:
                raise ValueError(f"unknown event {one!r}: no feature declares it")
        name = name or f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"
        if name in self._subscriptions:
            raise ValueError(f"subscriber {name!r} is registered twice")
        self._subscriptions[name] = Subscription(name, names, handler)

    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions.values())

    def subscription(self, name: str) -> Subscription | None:
        return self._subscriptions.get(name)

    def handlers(self, event: str) -> list[Handler]:
        return [s.handler for s in self._subscriptions.values() if event in s.events]


def record(session: Session, shop_id: int,
           events: Iterable[tuple[str, str, dict | payloads.EventPayload]]) -> int:
    """Record (name, key, payload) facts in ``session``; returns how many were new. They are numbered
    when the session commits (see the module's docstring)."""
    rows = [{"shop_id": shop_id, "name": n, "key": k, "occurred_at": utcnow(),
             "payload": p.to_json() if isinstance(p, payloads.EventPayload) else p} for n, k, p in events]
    inserted = 0
    for start in range(0, len(rows), 500):
        inserted += len(insert_ignore(session, DomainEvent.__table__, rows[start:start + 500],
                                      ["shop_id", "name", "key"], returning=[DomainEvent.id]))
    if inserted:
        session.info.setdefault(_UNSEQUENCED, set()).add(shop_id)
        if not orm_event.contains(session, "before_commit", _number_at_commit):
            orm_event.listen(session, "before_commit", _number_at_commit)
            orm_event.listen(session, "after_rollback", _forget_unnumbered)
    return inserted


def record_facts(session: Session, shop_id: int, facts: Iterable[payloads.EventPayload]) -> int:
    """Record payload dataclasses under their event's name and key (``payloads.fact_key``)."""
    return record(session, shop_id, [(f.name, payloads.fact_key(f), f) for f in facts])


def _number_at_commit(session: Session) -> None:
    for shop_id in sorted(session.info.pop(_UNSEQUENCED, ())):  # one lock order: no deadlock between shops
        number_events(session, shop_id)


def _forget_unnumbered(session: Session) -> None:
    session.info.pop(_UNSEQUENCED, None)


def _locked_stream(session: Session, shop_id: int):
    """The shop's stream row, locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite: the
    transaction already holds the database's write lock)."""
    query = (select(EventStream.head, EventStream.dispatch_job_id)
             .where(EventStream.shop_id == shop_id).with_for_update())
    found = session.execute(query).first()
    if found is None:
        insert_ignore(session, EventStream.__table__, [{"shop_id": shop_id, "head": 0, "version": 0,
                                                        "updated_at": utcnow()}], ["shop_id"])
        found = session.execute(query).one()
    return found


def number_events(session: Session, shop_id: int) -> int:
    """Number the shop's unnumbered events after its head, in the order they were inserted, and make
    sure a dispatch job will see them; returns how many were numbered. Called as the session commits."""
    head, job_id = _locked_stream(session, shop_id)
    numbered = (select(DomainEvent.id, (func.row_number().over(order_by=DomainEvent.id) + head).label("seq"))
                .where(DomainEvent.shop_id == shop_id, DomainEvent.seq.is_(None)).subquery())
    count = session.execute(update(DomainEvent).where(DomainEvent.id == numbered.c.id)
                            .values(seq=numbered.c.seq).execution_options(synchronize_session=False)).rowcount
    if count:
        values: dict[str, Any] = {"head": head + count, "version": EventStream.version + 1, "updated_at": utcnow()}
        if not _job_is_live(session, job_id):
            values["dispatch_job_id"] = _enqueue_dispatch(session, shop_id)
        session.execute(update(EventStream).where(EventStream.shop_id == shop_id).values(**values))
    return count


def request_dispatch(session: Session, shop_id: int) -> None:
    """Make sure a dispatch job will look at the shop's log after this session commits (a subscriber
    added since, a dispatcher that died). Coalesced: nothing is queued when one is queued or running."""
    _, job_id = _locked_stream(session, shop_id)
    values: dict[str, Any] = {"version": EventStream.version + 1, "updated_at": utcnow()}
    if not _job_is_live(session, job_id):
        values["dispatch_job_id"] = _enqueue_dispatch(session, shop_id)
    session.execute(update(EventStream).where(EventStream.shop_id == shop_id).values(**values))


def _job_is_live(session: Session, job_id: int | None) -> bool:
    """A dispatch job that is still to run (queued, retrying) or running: a running one re-reads the
    stream's version before it lets go (plugin/sync/dispatch.py), so it will see this commit's events."""
    if job_id is None:
        return False
    return session.scalar(select(JobRun.status).where(JobRun.id == job_id)) in LIVE_JOB_STATUSES


def _enqueue_dispatch(session: Session, shop_id: int) -> int:
    return current_app.extensions["storecare.queue"].enqueue(
        session, DISPATCH_JOB, {"shop_id": shop_id}, shop_id=shop_id).id


def stream_head(session: Session, shop_id: int) -> int:
    return session.scalar(select(EventStream.head).where(EventStream.shop_id == shop_id)) or 0


def as_event(row: DomainEvent) -> Event:
    return Event(row.id, row.shop_id, row.name, row.key, dict(row.payload), row.seq or 0, row.occurred_at)


def dispatch_pending(db, bus: EventBus, shop_id: int) -> int:
    """Deliver the shop's events to every subscriber that is not parked (plugin/sync/dispatch.py);
    returns how many (event, subscriber) deliveries were made."""
    from plugin.sync import dispatch

    return dispatch.dispatch_shop(db, bus, shop_id)
