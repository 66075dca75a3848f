"""Delivering a shop's events to each subscriber on its own: in order, once, in the handler's transaction.

Each (shop, subscriber) has a cursor row (``EventCursor``): ``position`` is the ``seq`` of the last
event it is done with. Delivering is a transaction that first advances the cursor by a compare-and-set
(``UPDATE ... WHERE lease_token = mine AND position = what I read``), then runs the handler, then
commits: the handler's writes and the cursor's advance commit or roll back together. The events
waiting (up to ``BATCH``) share one such transaction, the cursor advanced to the last of them: a burst
costs one commit and one cursor update, not one per event, and a ``batch`` subscriber reads and writes
for all of them at once. If that transaction fails, it is rolled back and its events are delivered
again one per transaction, so those before the one at fault commit and the subscriber stops exactly
at it.
That first UPDATE holds the cursor row until the commit (PostgreSQL's row lock; on SQLite the
database's write lock), so two workers never run one subscriber's handler for a shop at the same time,
and the compare-and-set makes the second of them stop instead of handling the event again.

Around it, a lease on the cursor (``lease_token`` until ``lease_until``, taken by a compare-and-set)
keeps other workers from waiting on that lock: a worker that finds the lease held passes the
subscriber by. Whoever gives a lease back looks once more for events it has not delivered and takes
the lease again if there are any, so an event committed while the lease was held is not left behind.

A handler that raises rolls back alone; the subscriber is parked at that event (``parked_job_id``,
``failed_seq``, ``last_error``) and a job of its own (``sync.deliver_events``) takes it from there with
the queue's retries and backoff (plugin/jobs/queue.py); run out of attempts, the job is failed on the
admin's Jobs page, where Retry resumes it at the same event. The shop's dispatcher passes parked
subscribers by, so the others go on. A handler may run more than once for one event (a try that
rolled back, then the retry), but its writes commit once, with the cursor's advance; what it does
outside the database (a platform call) must be safe to repeat.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select, update

from plugin.db import utcnow
from plugin.jobs.queue import PermanentJobError, TransientJobError, is_transient
from plugin.sync.events import Event, EventBus, Subscription, request_dispatch, stream_head
from plugin.sync.models import DomainEvent, EventCursor, EventStream
from plugin.upsert import insert_ignore

log = logging.getLogger(__name__)
SUBSCRIBER_JOB = "sync.deliver_events"
BATCH = 500  # events read, and delivered in one transaction, at a time


class HandlerFailed(Exception):
    """A subscriber's handler raised on an event; the message says which and why."""

    def __init__(self, subscription: Subscription, event, cause: BaseException):
        super().__init__(f"{subscription.name} stopped at {event.name} {event.key} (event {event.seq}): "
                         f"{type(cause).__name__}: {cause}")
        self.retry_after = getattr(cause, "retry_after", None)


class TransientHandlerFailure(HandlerFailed, TransientJobError):
    """Retrying may help (the queue's rule: a network error, a platform's 5xx or 429, a lost connection)."""


class PermanentHandlerFailure(HandlerFailed, PermanentJobError):
    """Retrying cannot help until something changes (a bug, bad data): failed at once, Retry resumes."""


class SubscriberBusy(TransientJobError):
    """Another worker holds the subscriber's lease (one that died holds it until it runs out)."""


def dispatch_shop(db, bus: EventBus, shop_id: int) -> int:
    """The shop's dispatch job: deliver to every subscriber that is not parked, until the shop's log
    did not grow during a whole pass. Returns how many (event, subscriber) deliveries were made."""
    delivered = 0
    while True:
        with db.uow() as session:
            version = session.scalar(select(EventStream.version).where(EventStream.shop_id == shop_id))
        if version is None:
            return delivered
        for subscription in bus.subscriptions():
            delivered += deliver(db, subscription, shop_id)
        with db.uow() as session:  # let go only if no event was committed meanwhile (else: one more pass)
            done = session.execute(update(EventStream).where(EventStream.shop_id == shop_id,
                                                             EventStream.version == version)
                                   .values(dispatch_job_id=None)).rowcount
            session.commit()
        if done:
            return delivered


def resume_subscriber(db, bus: EventBus, shop_id: int, name: str) -> int:
    """The parked subscriber's job: deliver from the event it failed at, raising (for the queue to retry
    or fail) if the handler fails again; once caught up it is unparked and the shop's dispatcher takes
    it back."""
    subscription = bus.subscription(name)
    if subscription is None:
        raise PermanentJobError(f"no subscriber named {name!r} is installed")
    return deliver(db, subscription, shop_id, parked=True)


def deliver(db, subscription: Subscription, shop_id: int, *, parked: bool = False) -> int:
    """Deliver the shop's waiting events to one subscriber; returns how many were handled. ``parked``:
    run as the parked subscriber's job (else a parked subscriber is passed by)."""
    lease = _Lease(db, shop_id, subscription.name, current_app.config["STORECARE_SETTINGS"].job_lease_seconds)
    delivered = 0
    while True:
        position = lease.take(parked)
        if position is None:
            if parked and lease.is_parked():
                raise SubscriberBusy(f"{subscription.name} is being delivered to by another worker")
            return delivered
        try:
            handled, stopped = _run(db, subscription, shop_id, lease, position, parked)
        except BaseException:
            lease.give_back()
            raise
        delivered += handled
        if stopped:
            return delivered
        if not _waiting(db, subscription, shop_id, lease.position):
            return delivered
        parked = False  # caught up, so unparked: what came meanwhile is delivered as the dispatcher would


def _run(db, subscription: Subscription, shop_id: int, lease: _Lease, position: int,
         parked: bool) -> tuple[int, bool]:
    """Deliver batch after batch until caught up (the lease given back: returns (n, False)) or stopped
    (the lease lost or the subscriber parked: (n, True))."""
    handled = 0
    while True:
        with db.uow() as session:
            head = stream_head(session, shop_id)  # every event numbered up to head is committed
            batch = [Event(*row) for row in session.execute(  # rows, not ORM objects: read for once
                select(DomainEvent.id, DomainEvent.shop_id, DomainEvent.name, DomainEvent.key, DomainEvent.payload,
                       DomainEvent.seq, DomainEvent.occurred_at)
                .where(DomainEvent.shop_id == shop_id, DomainEvent.name.in_(subscription.events),
                       DomainEvent.seq > position, DomainEvent.seq <= head)
                .order_by(DomainEvent.seq).limit(BATCH))]
        if not batch:
            return handled, not lease.finish(position, head, unpark=parked)
        if parked and not handled:
            batch = batch[:1]  # the event it stopped at, alone: each retry tries it once
        outcome = _handle(db, subscription, batch, lease, position) if len(batch) > 1 else None
        if outcome is _LOST:
            return handled, True
        if outcome is None and len(batch) > 1:
            position = batch[-1].seq
            handled += len(batch)
            continue
        for event in batch:  # one by one: the one event, or the run that failed together
            outcome = _handle(db, subscription, [event], lease, position)
            if outcome is _LOST:
                return handled, True
            if outcome is not None:
                _stop(db, subscription, event, lease, position, outcome, parked)
                return handled, True
            position = event.seq
            handled += 1


_LOST = object()


def _handle(db, subscription: Subscription, events: list, lease: _Lease, position: int):
    """Events (in order) in one transaction: None when handled and committed, _LOST when the lease was
    lost, else the exception the handler (or its commit) raised, rolled back."""
    with db.uow() as session:
        if not lease.advance(session, position, events[-1].seq):
            return _LOST
        try:
            subscription.handle(session, events)
            session.commit()
        except Exception as exc:  # noqa: BLE001 - the subscriber is parked with it; the others go on
            session.rollback()
            lease.position = position  # where the cursor still is
            return exc
    return None


def _stop(db, subscription: Subscription, event, lease: _Lease, position: int, cause: Exception,
          parked: bool) -> None:
    failure = (TransientHandlerFailure if is_transient(cause) else PermanentHandlerFailure)(subscription, event, cause)
    message = str(failure)[:2000]
    log.warning("event subscriber %s of shop %s: %s", subscription.name, lease.shop_id, message,
                exc_info=(type(cause), cause, cause.__traceback__))
    now = utcnow()
    values = {"failed_seq": event.seq, "last_error": message, "failed_at": now, "lease_token": None,
              "lease_until": None, "updated_at": now}
    with db.uow() as session:
        if parked:
            values["failures"] = EventCursor.failures + 1
        else:
            run = current_app.extensions["storecare.queue"].enqueue(
                session, SUBSCRIBER_JOB, {"shop_id": lease.shop_id, "subscriber": subscription.name},
                shop_id=lease.shop_id)
            values.update(parked_job_id=run.id, failures=1)
        if lease.update(session, position, **values):
            session.commit()
    if parked:
        raise failure from cause


def _waiting(db, subscription: Subscription, shop_id: int, position: int) -> bool:
    with db.uow() as session:
        return bool(session.scalar(select(exists().where(
            DomainEvent.shop_id == shop_id, DomainEvent.name.in_(subscription.events), DomainEvent.seq > position))))


@dataclass
class _Lease:
    """This worker's hold on one (shop, subscriber) cursor."""

    db: object
    shop_id: int
    subscriber: str
    seconds: int
    token: str = ""
    position: int = 0

    def _mine(self):
        return and_(EventCursor.shop_id == self.shop_id, EventCursor.subscriber == self.subscriber,
                    EventCursor.lease_token == self.token)

    def take(self, parked: bool) -> int | None:
        """Take the lease if it is free (or ran out) and the cursor is in the wanted state (parked or
        not); returns the cursor's position, or None when someone else holds it."""
        self.token = secrets.token_hex(16)
        now = utcnow()
        with self.db.uow() as session:
            insert_ignore(session, EventCursor.__table__, [{
                "shop_id": self.shop_id, "subscriber": self.subscriber, "position": 0, "failures": 0,
                "updated_at": now}], ["shop_id", "subscriber"])
            state = EventCursor.parked_job_id.is_not(None) if parked else EventCursor.parked_job_id.is_(None)
            taken = session.execute(
                update(EventCursor).where(EventCursor.shop_id == self.shop_id,
                                          EventCursor.subscriber == self.subscriber,
                                          or_(EventCursor.lease_until.is_(None), EventCursor.lease_until < now), state)
                .values(lease_token=self.token, lease_until=now + timedelta(seconds=self.seconds), updated_at=now)
            ).rowcount
            if not taken:
                return None
            self.position = session.scalar(select(EventCursor.position).where(self._mine()))
            session.commit()
        return self.position

    def is_parked(self) -> bool:
        with self.db.uow() as session:
            return session.scalar(select(EventCursor.parked_job_id).where(
                EventCursor.shop_id == self.shop_id, EventCursor.subscriber == self.subscriber)) is not None

    def update(self, session, at: int, **values) -> bool:
        """Change the cursor if this lease still holds it at position ``at`` (a compare-and-set)."""
        return bool(session.execute(update(EventCursor).where(self._mine(), EventCursor.position == at)
                                    .values(**values)).rowcount)

    def advance(self, session, position: int, seq: int) -> bool:
        """The first statement of an event's transaction: the cursor moves to ``seq`` (and holds the row
        until the transaction ends) if this lease still has it at ``position``."""
        now = utcnow()
        moved = self.update(session, position, position=seq, lease_until=now + timedelta(seconds=self.seconds),
                            updated_at=now)
        if moved:
            self.position = seq
        return moved

    def finish(self, position: int, head: int, unpark: bool) -> bool:
        """Caught up: move to ``head`` (no event of ours up to it is left), unpark, give the lease back."""
        values = {"position": max(position, head), "lease_token": None, "lease_until": None, "updated_at": utcnow()}
        if unpark:
            values.update(parked_job_id=None, failed_seq=None, last_error=None, failures=0, failed_at=None)
        with self.db.uow() as session:
            done = self.update(session, position, **values)
            session.commit()
        if done:
            self.position = max(position, head)
        return done

    def give_back(self) -> None:
        """Best effort, after an unexpected error: the lease would otherwise run out on its own."""
        try:
            with self.db.uow() as session:
                session.execute(update(EventCursor).where(self._mine()).values(lease_token=None, lease_until=None))
                session.commit()
        except Exception:  # the original error matters more
            log.exception("could not give back the lease of %s for shop %s", self.subscriber, self.shop_id)


def request_lagging_dispatches(db, bus: EventBus) -> list[int]:
    """Every few minutes (the worker's schedule): a dispatch for each shop where a subscriber that is
    not parked has not caught up with the log, for what no commit woke (a subscriber added since, a
    lease left by a worker that died). Returns the shops asked for."""
    names = [s.name for s in bus.subscriptions()]
    if not names:
        return []
    caught_up = (select(func.count(EventCursor.id))
                 .where(EventCursor.shop_id == EventStream.shop_id, EventCursor.subscriber.in_(names),
                        or_(EventCursor.position >= EventStream.head, EventCursor.parked_job_id.is_not(None)))
                 .scalar_subquery())
    with db.uow() as session:
        shops = session.scalars(select(EventStream.shop_id).where(EventStream.head > 0, caught_up < len(names))
                                .order_by(EventStream.shop_id)).all()
        for shop_id in shops:
            request_dispatch(session, shop_id)
        session.commit()
    return list(shops)


@dataclass(frozen=True)
class Stop:
    """Where a parked subscriber stopped, for the admin's Jobs page."""

    subscriber: str
    event: str | None  # the event's name, e.g. OrderPaid
    subject: str | None  # what it is about: the order's number, else the event's key
    behind: int  # events waiting for it (the failed one included)
    failures: int


def stops(session, bus: EventBus, shop_id: int, job_ids: list[int]) -> dict[int, Stop]:
    """The stops of the parked subscribers whose jobs are ``job_ids`` (those of other jobs are absent)."""
    if not job_ids:
        return {}
    rows = session.execute(
        select(EventCursor, DomainEvent.name, DomainEvent.key, DomainEvent.payload)
        .outerjoin(DomainEvent, and_(DomainEvent.shop_id == EventCursor.shop_id,
                                     DomainEvent.seq == EventCursor.failed_seq))
        .where(EventCursor.shop_id == shop_id, EventCursor.parked_job_id.in_(job_ids))).all()
    found = {}
    for cursor, name, key, payload in rows:
        subscription = bus.subscription(cursor.subscriber)
        behind = session.scalar(select(func.count(DomainEvent.id)).where(
            DomainEvent.shop_id == shop_id, DomainEvent.seq > cursor.position,
            DomainEvent.name.in_(subscription.events))) if subscription is not None else 0
        number = payload.get("order_number") if isinstance(payload, dict) else None
        found[cursor.parked_job_id] = Stop(cursor.subscriber, name, str(number or key or "") or None, behind or 0,
                                           cursor.failures)
    return found
