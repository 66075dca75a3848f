"""Domain events: facts the mirror learns (OrderPaid, ...), recorded once and numbered per shop.

Recording is idempotent: (shop, name, key) is unique, so a redelivered webhook or a re-run backfill
records nothing new. A shop's events are numbered (``seq``) in the order their transactions commit:
``record`` keeps the facts in the session, and as the session commits they are written under a lock
on the shop's ``EventStream`` row, numbered after the stream's ``head`` (a fact the shop already has is
left out, and its number is skipped), and a dispatch job is made sure to look at the log. The lock is
taken last and held only until that commit, so numbers grow in commit order and an event becomes
visible only after every event numbered before it: that is what lets each subscriber keep one number
as its progress (plugin/sync/dispatch.py). Writing at commit also spares writing every event twice
(once, then again to number it); a backfill records one or two events per order. Record in the
session that commits, not inside a savepoint that may roll back alone.

Payloads of the sync package's events are the dataclasses of plugin/sync/payloads.py.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import event as orm_event
from sqlalchemy import select, update
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
_PENDING = "storecare.pending_events"  # session.info: {shop id: {(name, key): row}}


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
    # False: handler(session, event), called for each event in turn. True: handler(session, events),
    # given the shop's next events (a list, in order, one or more) and doing what handling each of them
    # in turn would do, so that it can read and write for all of them at once.
    batch: bool = False

    def handle(self, session: Session, events: list[Event]) -> None:
        """Handle ``events`` (in order) in ``session``'s transaction."""
        if self.batch:
            self.handler(session, events)
            return
        for event in events:
            self.handler(session, event)


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

    def subscribe(self, event: str | Iterable[str], handler: Handler, *, name: str | None = None,
                  batch: bool = False) -> None:
        """Subscribe ``handler`` to ``event`` (a name, or several names whose relative order matters to
        the subscriber) under ``name``, unique in the app: the subscriber's progress is kept under it.
        ``batch``: the handler takes a list of events (``Subscription.batch``)."""
        names = (event,) if isinstance(event, str) else tuple(event)
        if not names:
            raise ValueError("a subscriber subscribes to at least one event")
        for one in names:
            if one not in self._declared:
                raise ValueError(f"unknown event {one!r}: no feature declares it")
        name = name or f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"
        if name in self._subscriptions:
            raise ValueError(f"subscriber {name!r} is registered twice")
        self._subscriptions[name] = Subscription(name, names, handler, batch)

    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions.values())

    def subscription(self, name: str) -> Subscription | None:
        return self._subscriptions.get(name)


def record(session: Session, shop_id: int,
           events: Iterable[tuple[str, str, dict | payloads.EventPayload]]) -> int:
    """Record (name, key, payload) facts in ``session``'s transaction; returns how many it took (a fact
    given twice in one transaction counts once). They are written when the session commits: numbered
    after the shop's head, a fact the shop already has left out (see the module's docstring)."""
    pending: dict[tuple[str, str], dict] = session.info.setdefault(_PENDING, {}).setdefault(shop_id, {})
    now, taken = utcnow(), 0
    for name, key, payload in events:
        if (name, key) in pending:
            continue
        pending[(name, key)] = {"shop_id": shop_id, "name": name, "key": key, "occurred_at": now,
                                "payload": payload.to_json() if isinstance(payload, payloads.EventPayload)
                                else payload}
        taken += 1
    if taken and not orm_event.contains(session, "before_commit", _write_at_commit):
        orm_event.listen(session, "before_commit", _write_at_commit)
        orm_event.listen(session, "after_rollback", _forget_pending)
    return taken


def record_facts(session: Session, shop_id: int, facts: Iterable[payloads.EventPayload]) -> int:
    """Record payload dataclasses under their event's name and key (``payloads.fact_key``)."""
    return record(session, shop_id, [(f.name, payloads.fact_key(f), f) for f in facts])


def _write_at_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, {})
    for shop_id in sorted(pending):  # one lock order: no deadlock between two shops' transactions
        write_events(session, shop_id, list(pending[shop_id].values()))


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


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


def write_events(session: Session, shop_id: int, rows: list[dict]) -> int:
    """Insert the transaction's events of one shop, numbered after the stream's head under its lock, and
    make sure a dispatch job will see them; returns how many were new. A fact the shop already had is
    left out, and its number with it (numbers grow in commit order; one may be skipped). Called as the
    session commits, so the lock is held only until that commit."""
    head, job_id = _locked_stream(session, shop_id)
    numbered = [{**row, "seq": head + n} for n, row in enumerate(rows, start=1)]
    new = 0
    for start in range(0, len(numbered), 500):
        new += len(insert_ignore(session, DomainEvent.__table__, numbered[start:start + 500],
                                 ["shop_id", "name", "key"], returning=[DomainEvent.seq]))
    if new:
        values: dict[str, Any] = {"head": head + len(numbered), "version": EventStream.version + 1,
                                  "updated_at": utcnow()}
        if not _job_is_live(session, job_id):
            values["dispatch_job_id"] = _enqueue_dispatch(session, shop_id)
        session.execute(update(EventStream).where(EventStream.shop_id == shop_id).values(**values))
    return new


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
