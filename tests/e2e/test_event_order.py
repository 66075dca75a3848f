"""Two real worker processes, two shops whose webhooks arrive interleaved over HTTP, and more dispatch
jobs than needed racing each other: every subscriber gets each shop's events exactly once, in the order
of the shop's log, and the log holds each order's payment before its refund or shipment."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from adapters.sandbox import operations
from adapters.sandbox.operations import Delivery
from plugin.jobs.models import JobRun
from plugin.sync import dispatch, events
from plugin.sync.models import DomainEvent, EventCursor, SyncState, WebhookDelivery
from tests import sandbox_support
from tests.e2e.worker_support import start_worker, stop_worker, wait_for

PROBES = {"probe.orders": ("OrderPaid", "OrderRefunded", "OrderFulfilled", "OrderCancelled"),
          "probe.paid": ("OrderPaid",)}  # tests/event_probe/feature.py
EVENT_JOBS = (events.DISPATCH_JOB, dispatch.SUBSCRIBER_JOB, "sync.process_deliveries", "sync.process_delivery")


def _backfills_done(db, shop_ids) -> bool:
    with db.uow() as s:
        done = s.scalar(select(func.count()).select_from(SyncState).where(
            SyncState.shop_id.in_(shop_ids), SyncState.resource.in_(("customers", "orders")),
            SyncState.status == "done"))
    return done == 2 * len(shop_ids)


def _settled(db, shop_ids) -> bool:
    """Every delivery applied, no job of the event path left to run, every probe at its shop's head."""
    with db.uow() as s:
        if s.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "received")):
            return False
        if s.scalar(select(func.count()).select_from(JobRun).where(
                JobRun.name.in_(EVENT_JOBS), JobRun.status.in_(events.LIVE_JOB_STATUSES))):
            return False
        for shop_id in shop_ids:
            positions = s.scalars(select(EventCursor.position).where(
                EventCursor.shop_id == shop_id, EventCursor.subscriber.in_(PROBES))).all()
            if len(positions) != len(PROBES) or set(positions) != {events.stream_head(s, shop_id)}:
                return False
    return True


@pytest.mark.slow
def test_two_workers_deliver_each_shops_events_once_and_in_order_to_each_subscriber(
        app, db, queue, live_server, settings):
    shops = [sandbox_support.install(app, db, customers=4, orders=3, domain=domain, address=live_server)
             for domain in ("north.sandbox.test", "south.sandbox.test")]
    shop_ids = [shop.shop_id for shop in shops]
    workers = [start_worker(settings, app="tests.event_probe.app", threads=2) for _ in range(2)]
    direct = Delivery(retry_delays=())  # real HTTP to the live server, no retries needed
    try:
        wait_for(lambda: _backfills_done(db, shop_ids), "the backfills")
        placed: dict[int, list[int]] = {shop.shop_id: [] for shop in shops}
        for turn in range(8):
            for shop in shops:  # the two shops' webhooks interleave
                buyer = shop.store.top_customers(shop.domain, 4)[turn % 4][0]
                placed[shop.shop_id].append(int(operations.create_order(
                    shop.store, shop.domain, customer_email=buyer.email, delivery=direct).subject.number))
            for shop in shops:
                numbers = placed[shop.shop_id]
                if turn % 2:
                    operations.create_refund(shop.store, shop.domain, numbers[-2], amount=Decimal("1.00"),
                                             delivery=direct)
                else:
                    operations.fulfil(shop.store, shop.domain, numbers[-1], delivery=direct)
            with db.uow() as session:  # dispatchers beyond the one the commits keep queued
                for shop_id in shop_ids:
                    queue.enqueue(session, events.DISPATCH_JOB, {"shop_id": shop_id}, shop_id=shop_id)
                session.commit()
        wait_for(lambda: _settled(db, shop_ids), "every subscriber to catch up")
    finally:
        codes = [stop_worker(worker) for worker in workers]
    assert codes == [0, 0]

    with db.uow() as s:
        assert not s.scalars(select(JobRun).where(JobRun.status == "failed")).all()
        assert not s.scalars(select(EventCursor).where(EventCursor.parked_job_id.is_not(None))).all()
        for shop_id in shop_ids:
            log = s.execute(select(DomainEvent.seq, DomainEvent.name, DomainEvent.key, DomainEvent.payload)
                            .where(DomainEvent.shop_id == shop_id).order_by(DomainEvent.seq)).all()
            assert [row.seq for row in log] == sorted({row.seq for row in log})  # one number each, in order
            saw = [row.payload for row in log if row.name == "ProbeSaw"]  # in the order they committed
            for name, wanted in PROBES.items():
                expected = [row.seq for row in log if row.name in wanted]
                assert [p["seq"] for p in saw if p["by"] == name] == expected, name  # once each, in order
            paid_at = {row.payload["order_platform_id"]: row.seq for row in log if row.name == "OrderPaid"}
            later = [(row.name, row.payload["order_platform_id"], row.seq) for row in log
                     if row.name in ("OrderRefunded", "OrderFulfilled")]
            assert len(later) >= 8 and all(paid_at[order] < seq for _, order, seq in later)
            assert len([row for row in log if row.name == "OrderPaid" and not row.payload["historical"]]) == 8
