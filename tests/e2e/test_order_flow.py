"""End to end, as a merchant and a shopper drive it: a sandbox shop is installed, its history syncs, a
shopper places an order, the store sends the webhook over HTTP, a real worker process applies it, and
the merchant sees the order in the admin."""
import re

import pytest
import requests
from sqlalchemy import func, select

from adapters.sandbox import operations
from plugin.jobs.models import JobRun
from plugin.sync.models import Order, SyncState
from tests import sandbox_support
from tests.e2e.worker_support import start_worker, stop_worker, wait_for


def _count(db, *where):
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(Order).where(*where))


def _backfill_done(db, shop_id):
    """Customers and orders both done. Only those two: the worker's quarter-hourly reconcile may run
    meanwhile (on the clock) and add a sync state of its own."""
    with db.uow() as s:
        states = s.scalars(select(SyncState).where(SyncState.shop_id == shop_id,
                                                   SyncState.resource.in_(("customers", "orders")))).all()
        return len(states) == 2 and all(st.status == "done" for st in states)


def _backfill_run(db) -> JobRun:
    with db.uow() as s:
        return s.scalars(select(JobRun).where(JobRun.name == "sync.backfill")).one()


def test_an_order_placed_in_the_store_shows_up_in_the_admin(app, db, live_server, settings):
    sandbox = sandbox_support.install(app, db, customers=30, orders=200, address=live_server)
    worker = start_worker(settings)
    try:
        wait_for(lambda: _backfill_done(db, sandbox.shop_id), "the backfill")
        assert _count(db) == 200
        customer = sandbox.store.top_customers(sandbox.domain, 1)[0][0]
        placed = operations.create_order(sandbox.store, sandbox.domain, customer_email=customer.email, items=2)
        assert [d.status_code for d in placed.deliveries] == [200, 200]  # real HTTP to the live server
        number = placed.subject.number
        wait_for(lambda: _count(db, Order.platform_id == placed.subject.platform_id), "the order in the mirror")
    finally:
        assert stop_worker(worker) == 0
    merchant = requests.Session()
    overview = merchant.get(f"{live_server}/demo/admin/{sandbox.domain}", timeout=10)
    assert overview.status_code == 200 and "201" in overview.text  # 200 synced + 1 new
    orders = merchant.get(f"{live_server}/admin/orders", timeout=10).text
    assert re.search(re.escape(number) + r"\b", orders)
    with db.uow() as s:
        order_id = s.scalar(select(Order.id).where(Order.platform_id == placed.subject.platform_id))
    detail = merchant.get(f"{live_server}/admin/orders/{order_id}", timeout=10).text
    assert all(li.title in detail for li in placed.subject.line_items)


@pytest.mark.slow
def test_a_worker_killed_mid_backfill_is_replaced_and_the_backfill_resumes(app, db, settings, queue):
    sandbox = sandbox_support.install(app, db, customers=200, orders=6000)
    first = start_worker(settings, STORECARE_JOB_LEASE_SECONDS="1")

    def mid_orders():
        with db.uow() as s:
            state = s.scalars(select(SyncState).where(SyncState.shop_id == sandbox.shop_id,
                                                      SyncState.resource == "orders")).first()
            # in the first half: the pages still to come leave time to kill it before it ends
            return state is not None and state.status == "running" and 0 < state.processed <= 3000

    wait_for(mid_orders, "the orders backfill to be under way", interval=0.005)
    stop_worker(first, sig=9)  # SIGKILL: no clean-up, the job is left running
    with db.uow() as s:
        run = s.scalars(select(JobRun).where(JobRun.name == "sync.backfill")).one()
        assert run.status == "running" and run.attempts == 1
        state = s.scalars(select(SyncState).where(SyncState.resource == "orders")).one()
        assert state.cursor is not None and state.processed < 6000
        partial = state.processed
    assert _count(db) == partial  # each page and its cursor commit together: nothing half-written

    wait_for(lambda: queue.recover_stalled(), "the lease to pass and the run to be re-queued", interval=0.2)
    second = start_worker(settings, STORECARE_LOG_LEVEL="INFO")
    try:
        wait_for(lambda: _backfill_done(db, sandbox.shop_id) and _backfill_run(db).status == "succeeded",
                 "the resumed backfill and its job to finish")
    except AssertionError:
        stop_worker(second, show=True)  # what the worker did instead
        _show_sync_state(db)
        raise
    stop_worker(second)
    assert _count(db) == 6000 == sandbox.store.count_orders(sandbox.domain)
    with db.uow() as s:
        run = s.scalars(select(JobRun).where(JobRun.name == "sync.backfill")).one()
        assert (run.status, run.attempts) == ("succeeded", 2)
        orders_state = s.scalars(select(SyncState).where(SyncState.resource == "orders")).one()
        # the resumed run started from the saved cursor: at most one page was read twice
        assert 6000 <= orders_state.processed <= 6000 + 250


def _show_sync_state(db) -> None:
    with db.uow() as s:
        for row in s.scalars(select(SyncState)):
            print(f"sync state {row.resource}: {row.status}, {row.processed} processed, error {row.last_error!r}")
        for run in s.scalars(select(JobRun)):
            print(f"job {run.id} {run.name}: {run.status}, attempt {run.attempts}, lease {run.lease_until}, "
                  f"error {run.last_error!r}")
