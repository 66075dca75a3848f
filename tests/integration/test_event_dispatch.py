"""Each subscriber gets a shop's events in order, once, in its own transaction; one that fails is parked
and retried by the queue while the others go on; progress lives in the database, not in a worker."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update

from adapters import base as dto
from plugin import create_app
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.jobs.queue import TransientJobError
from plugin.sync import dispatch, events, mirror
from plugin.sync.models import DomainEvent, EventCursor
from tests.dto_factories import T0, later, order
from tests.factories import make_shop
from tests.integration.test_admin_pages import sign_in, text

NOTED = "Noted"  # what the test subscribers write: one event per event they handled


class Subscribers:
    """Subscribers whose handlers write (a Noted event) in the transaction they are given, and can be
    told to fail on an order."""

    def __init__(self, app):
        self.bus = app.extensions["storecare.events"]
        self.bus._subscriptions.clear()  # the tests' subscribers only (the features' own are tested with them)
        self.bus.declare(NOTED, "tests")
        self.fail_on: dict[str, tuple[str, Exception]] = {}  # subscriber -> (order platform id, error)
        self.failures: dict[str, int] = {}  # subscriber -> how many more times to fail (None: always)

    def add(self, name: str, *names: str) -> None:
        self.bus.subscribe(names, self._handler(name), name=name)

    def _handler(self, name: str):
        def handle(session, event):
            events.record(session, event.shop_id, [(NOTED, f"{name}:{event.seq}", {
                "by": name, "seq": event.seq, "event": event.name, "order": event.payload.get("order_platform_id")})])
            failing = self.fail_on.get(name)
            if failing and failing[0] == event.payload.get("order_platform_id") and self.failures.get(name, 1):
                self.failures[name] = self.failures.get(name, 1) - 1
                raise failing[1]
        return handle


@pytest.fixture
def subscribers(app):
    return Subscribers(app)


def handled(db, shop_id: int, name: str) -> list[tuple[str, str]]:
    """(event, order) that ``name`` handled and committed, in the order it committed them."""
    with db.uow() as s:
        rows = s.scalars(select(DomainEvent.payload).where(DomainEvent.shop_id == shop_id, DomainEvent.name == NOTED)
                         .order_by(DomainEvent.seq)).all()
    return [(p["event"], p["order"]) for p in rows if p["by"] == name]


def paid(db, shop_id: int, *pids: str) -> None:
    """Each order paid, in a transaction of its own (as webhooks arrive one by one)."""
    for pid in pids:
        with db.uow() as s:
            mirror.upsert_orders(s, shop_id, [order(pid)], source="webhook")
            s.commit()


def cursor(db, shop_id: int, name: str) -> EventCursor:
    with db.uow() as s:
        return s.scalars(select(EventCursor).where(EventCursor.shop_id == shop_id,
                                                   EventCursor.subscriber == name)).one()


def jobs(db, name: str) -> list[JobRun]:
    with db.uow() as s:
        return s.scalars(select(JobRun).where(JobRun.name == name).order_by(JobRun.id)).all()


@pytest.fixture
def shop_id(db):
    with db.uow() as s:
        shop = make_shop(s)
        s.commit()
        return shop.id


def test_a_failing_subscriber_neither_rolls_back_nor_holds_up_another(app, db, subscribers, shop_id):
    subscribers.add("care.thank", events.ORDER_PAID, events.ORDER_REFUNDED)
    subscribers.add("loyalty.award", events.ORDER_PAID)
    subscribers.fail_on["loyalty.award"] = ("o2", ValueError("no tier for this customer"))
    subscribers.failures["loyalty.award"] = 99
    paid(db, shop_id, "o1", "o2", "o3")

    events.dispatch_pending(db, subscribers.bus, shop_id)

    assert handled(db, shop_id, "care.thank") == [("OrderPaid", "o1"), ("OrderPaid", "o2"), ("OrderPaid", "o3")]
    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", "o1")]  # o2's write rolled back, o3 waits
    stuck = cursor(db, shop_id, "loyalty.award")
    with db.uow() as s:
        failed_at = s.scalar(select(DomainEvent.key).where(DomainEvent.seq == stuck.failed_seq,
                                                           DomainEvent.shop_id == shop_id))
    assert failed_at == "o2" and "ValueError: no tier for this customer" in stuck.last_error
    assert [(run.id, run.args) for run in jobs(db, dispatch.SUBSCRIBER_JOB)] == [
        (stuck.parked_job_id, {"shop_id": shop_id, "subscriber": "loyalty.award"})]

    with db.uow() as s:  # later events: the healthy subscriber goes on, the parked one stays at o2
        mirror.upsert_orders(s, shop_id, [later(order("o1"), financial_status=dto.FinancialStatus.PARTIALLY_REFUNDED,
                                                refunds=(dto.Refund("r1", order("o1").total / 2, T0),))],
                             source="webhook")
        s.commit()
    paid(db, shop_id, "o4")
    events.dispatch_pending(db, subscribers.bus, shop_id)

    assert handled(db, shop_id, "care.thank")[3:] == [("OrderRefunded", "o1"), ("OrderPaid", "o4")]
    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", "o1")]


def test_a_parked_subscriber_is_retried_by_the_queue_with_backoff_and_resumes_in_order(
        app, db, queue, subscribers, shop_id):
    subscribers.add("loyalty.award", events.ORDER_PAID)
    subscribers.fail_on["loyalty.award"] = ("o2", TransientJobError("the platform is busy"))
    # the dispatcher's try of o1-o3 in one transaction, then of o2 alone, and the job's first attempt
    subscribers.failures["loyalty.award"] = 3
    paid(db, shop_id, "o1", "o2", "o3")

    queue.drain()  # the dispatch job, then the subscriber's job: it fails again and is scheduled later

    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", "o1")]
    [run] = jobs(db, dispatch.SUBSCRIBER_JOB)
    assert (run.status, run.attempts) == ("retrying", 1)
    assert "loyalty.award stopped at OrderPaid o2" in run.last_error
    assert queue.huey.scheduled_count() == 1  # the retry waits for its backoff
    assert cursor(db, shop_id, "loyalty.award").failures == 2  # the dispatcher's stop and the job's attempt

    queue.drain(include_scheduled=True)

    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", "o1"), ("OrderPaid", "o2"), ("OrderPaid", "o3")]
    [run] = jobs(db, dispatch.SUBSCRIBER_JOB)
    assert (run.status, run.attempts) == ("succeeded", 2)
    resumed = cursor(db, shop_id, "loyalty.award")
    assert (resumed.parked_job_id, resumed.failed_seq, resumed.last_error, resumed.failures) == (None, None, None, 0)

    paid(db, shop_id, "o4")  # unparked: the shop's dispatcher delivers to it again
    queue.drain()
    assert handled(db, shop_id, "loyalty.award")[-1] == ("OrderPaid", "o4")


def test_a_subscriber_out_of_attempts_is_failed_on_the_jobs_page_and_retry_resumes_it_in_order(
        app, db, queue, client, subscribers, shop_id):
    subscribers.add("loyalty.award", events.ORDER_PAID)
    subscribers.add("care.thank", events.ORDER_PAID)
    subscribers.fail_on["loyalty.award"] = ("o2", KeyError("tier"))  # a bug: retrying cannot help
    subscribers.failures["loyalty.award"] = 99
    paid(db, shop_id, "o1", "o2", "o3")
    queue.drain(include_scheduled=True)

    [run] = jobs(db, dispatch.SUBSCRIBER_JOB)
    assert (run.status, run.attempts) == ("failed", 1)
    assert handled(db, shop_id, "care.thank") == [("OrderPaid", f"o{n}") for n in (1, 2, 3)]
    token = sign_in(client, shop_id)
    page = text(client.get("/admin/jobs?status=failed"))
    assert "sync.deliver_events" in page
    assert "Event handler loyalty.award stopped at OrderPaid #o2." in page
    assert "2 events are waiting for it; the store's other handlers go on." in page
    assert f'action="/admin/jobs/{run.id}/retry"' in client.get("/admin/jobs").text

    subscribers.failures["loyalty.award"] = 0  # the merchant's fix is deployed
    assert client.post(f"/admin/jobs/{run.id}/retry", data={"csrf_token": token}).status_code == 302
    queue.drain()

    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", f"o{n}") for n in (1, 2, 3)]
    assert jobs(db, dispatch.SUBSCRIBER_JOB)[0].status == "succeeded"
    assert "stopped at" not in text(client.get("/admin/jobs"))


def test_progress_survives_a_restart(app, db, settings, subscribers, shop_id):
    subscribers.add("loyalty.award", events.ORDER_PAID)
    subscribers.add("returns.open", events.ORDER_PAID)
    subscribers.fail_on["returns.open"] = ("o2", ValueError("broken"))
    subscribers.failures["returns.open"] = 99
    paid(db, shop_id, "o1", "o2")
    events.dispatch_pending(db, subscribers.bus, shop_id)
    app.extensions["storecare.db"].dispose()

    restarted = create_app(settings)  # a new process: nothing of the first app's memory
    with restarted.app_context():
        again = Subscribers(restarted)
        again.add("loyalty.award", events.ORDER_PAID)
        again.add("returns.open", events.ORDER_PAID)
        new_db = restarted.extensions["storecare.db"]
        paid(new_db, shop_id, "o3")
        events.dispatch_pending(new_db, again.bus, shop_id)

        assert handled(new_db, shop_id, "loyalty.award") == [("OrderPaid", f"o{n}") for n in (1, 2, 3)]
        assert handled(new_db, shop_id, "returns.open") == [("OrderPaid", "o1")]  # still parked at o2
        assert len(jobs(new_db, dispatch.SUBSCRIBER_JOB)) == 1  # the one job of the park, queued before the restart
        restarted.extensions["storecare.queue"].drain()  # its job, now that the handler is fixed
        assert handled(new_db, shop_id, "returns.open") == [("OrderPaid", f"o{n}") for n in (1, 2, 3)]
        new_db.dispose()


def test_an_event_committed_while_the_shop_is_being_dispatched_is_delivered_by_the_same_run(
        app, db, subscribers, shop_id):
    subscribers.add("care.thank", events.ORDER_PAID)  # done with the log before the commit below
    subscribers.add("loyalty.award", events.ORDER_PAID)
    handler = subscribers.bus.subscription("loyalty.award").handler

    def meanwhile(session, event):  # a webhook's transaction commits while the shop's pass is under way
        handler(session, event)
        if event.key == "o1":
            sa_event.listen(session, "after_commit", lambda _: paid(db, shop_id, "o2"), once=True)

    subscribers.bus._subscriptions["loyalty.award"] = events.Subscription("loyalty.award", ("OrderPaid",), meanwhile)
    paid(db, shop_id, "o1")

    assert events.dispatch_pending(db, subscribers.bus, shop_id) == 4
    assert handled(db, shop_id, "care.thank") == [("OrderPaid", "o1"), ("OrderPaid", "o2")]
    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", "o1"), ("OrderPaid", "o2")]
    assert len(jobs(db, events.DISPATCH_JOB)) == 1  # o2's commit found the shop's dispatch job live


def test_a_burst_of_commits_queues_one_dispatch_job_for_the_shop(app, db, queue, subscribers, shop_id):
    subscribers.add("loyalty.award", events.ORDER_PAID)
    with db.uow() as s:
        other = make_shop(s, domain="other.sandbox.test").id
        s.commit()
    paid(db, shop_id, *(f"o{n}" for n in range(10)))
    paid(db, other, "x1", "x2")

    assert [run.shop_id for run in jobs(db, events.DISPATCH_JOB)] == [shop_id, other]
    queue.drain()
    assert len(handled(db, shop_id, "loyalty.award")) == 10 and len(handled(db, other, "loyalty.award")) == 2

    paid(db, shop_id, "o10")  # the burst's job is done: the next commit queues another
    assert [run.status for run in jobs(db, events.DISPATCH_JOB)] == ["succeeded", "succeeded", "queued"]


def test_a_subscriber_leased_by_another_worker_is_passed_by_until_the_lease_runs_out(
        app, db, subscribers, shop_id):
    subscribers.add("loyalty.award", events.ORDER_PAID)
    subscribers.add("care.thank", events.ORDER_PAID)
    paid(db, shop_id, "o1")
    events.dispatch_pending(db, subscribers.bus, shop_id)
    with db.uow() as s:  # another worker holds loyalty.award (its lease has five minutes to go)
        s.execute(update(EventCursor).where(EventCursor.subscriber == "loyalty.award")
                  .values(lease_token="another-worker", lease_until=utcnow() + timedelta(minutes=5)))
        s.commit()
    paid(db, shop_id, "o2")

    events.dispatch_pending(db, subscribers.bus, shop_id)
    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", "o1")]
    assert handled(db, shop_id, "care.thank") == [("OrderPaid", "o1"), ("OrderPaid", "o2")]

    with db.uow() as s:  # that worker died: its lease ran out
        s.execute(update(EventCursor).where(EventCursor.subscriber == "loyalty.award")
                  .values(lease_until=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert dispatch.request_lagging_dispatches(db, subscribers.bus) == [shop_id]  # the sweep finds it behind
    events.dispatch_pending(db, subscribers.bus, shop_id)
    assert handled(db, shop_id, "loyalty.award") == [("OrderPaid", "o1"), ("OrderPaid", "o2")]
    assert dispatch.request_lagging_dispatches(db, subscribers.bus) == []


def test_events_are_numbered_per_shop_in_commit_order(app, db, shop_id):
    with db.uow() as s:
        other = make_shop(s, domain="other.sandbox.test").id
        s.commit()
    paid(db, shop_id, "o1")
    paid(db, other, "x1")
    with db.uow() as s:  # a transaction that rolls back takes no number
        mirror.upsert_orders(s, shop_id, [order("gone")], source="webhook")
        s.rollback()
    paid(db, shop_id, "o2")

    with db.uow() as s:
        numbered = s.execute(select(DomainEvent.shop_id, DomainEvent.seq, DomainEvent.name, DomainEvent.key)
                             .order_by(DomainEvent.shop_id, DomainEvent.seq)).all()
        heads = events.stream_head(s, shop_id), events.stream_head(s, other)
        unnumbered = s.scalar(select(func.count()).select_from(DomainEvent).where(DomainEvent.seq.is_(None)))
    assert [(row.seq, row.name, row.key) for row in numbered if row.shop_id == shop_id] == [
        (1, "CustomerCreated", "c1"), (2, "OrderPaid", "o1"), (3, "OrderPaid", "o2")]
    assert [(row.seq, row.name) for row in numbered if row.shop_id == other] == [
        (1, "CustomerCreated"), (2, "OrderPaid")]
    assert heads == (3, 2) and unnumbered == 0


def test_one_subscriber_may_take_several_events_in_their_shop_order(app, db, subscribers, shop_id):
    subscribers.add("loyalty.points", events.ORDER_REFUNDED, events.ORDER_PAID)
    refunded = later(order("o1"), financial_status=dto.FinancialStatus.REFUNDED,
                     refunds=(dto.Refund("r1", order("o1").total, T0),))
    with db.uow() as s:  # the refund's webhook came first: its version says paid, then refunded
        mirror.upsert_orders(s, shop_id, [refunded], source="webhook")
        s.commit()
    paid(db, shop_id, "o1")  # the late orders/paid changes nothing

    events.dispatch_pending(db, subscribers.bus, shop_id)
    assert handled(db, shop_id, "loyalty.points") == [("OrderPaid", "o1"), ("OrderRefunded", "o1")]


def test_waiting_events_share_one_transaction_and_a_batch_subscriber_gets_them_as_a_list(
        app, db, subscribers, shop_id):
    given: list[list[str]] = []

    def handle_many(session, evs):
        given.append([e.payload["order_platform_id"] for e in evs])
        if "o13" in given[-1] and len(given) < 5:  # fails with o13, once in its run and once alone
            raise ValueError("o13 is broken")

    def commits_to_deliver(*pids: str) -> int:
        paid(db, shop_id, *pids)
        commits: list[int] = []
        listener = lambda conn: commits.append(1)  # noqa: E731
        sa_event.listen(db.engine, "commit", listener)
        try:
            events.dispatch_pending(db, subscribers.bus, shop_id)
        finally:
            sa_event.remove(db.engine, "commit", listener)
        return len(commits)

    subscribers.bus.subscribe(events.ORDER_PAID, handle_many, name="loyalty.many", batch=True)
    subscribers.add("care.thank", events.ORDER_PAID)

    two = commits_to_deliver("o1", "o2")
    ten = commits_to_deliver(*(f"o{n}" for n in range(3, 13)))

    assert given == [["o1", "o2"], [f"o{n}" for n in range(3, 13)]]  # each burst at once, in its order
    assert handled(db, shop_id, "care.thank") == [("OrderPaid", f"o{n}") for n in range(1, 13)]
    assert ten == two  # what delivering costs does not grow with the events waiting

    given.clear()  # a run that fails is delivered again one event at a time, stopping at the one at fault
    commits_to_deliver("o12a", "o13", "o14")

    assert given == [["o12a", "o13", "o14"], ["o12a"], ["o13"]]
    stuck = cursor(db, shop_id, "loyalty.many")
    assert stuck.parked_job_id is not None and "o13 is broken" in stuck.last_error
    assert handled(db, shop_id, "care.thank")[-3:] == [("OrderPaid", p) for p in ("o12a", "o13", "o14")]
