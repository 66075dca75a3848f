"""The orders backfill of a Shopify shop runs through a bulk export (plugin/sync/backfill.py).

Shopify is the GraphQL simulator behind ``responses``; the database is the usual per-test app (SQLite
and PostgreSQL). Polling waits go to FakeTime, so nothing really sleeps.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
from sqlalchemy import func, select

from plugin.jobs.models import JobRun
from plugin.jobs.queue import TransientJobError
from plugin.shops import service
from plugin.sync import backfill
from plugin.sync.models import LineItem, Order, SyncState
from tests.contract.shopify_simulator import FakeTime, ShopifySimulator
from tests.contract.shopify_store import build_shop
from tests.factories import make_shop

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOP, TOKEN = "backfill-shop.myshopify.com", "shpat_backfill"
ORDERS = 300  # more than one batch of 250


@pytest.fixture
def simulator():
    simulator = ShopifySimulator(bulk_polls=1)
    simulator.add_shop(build_shop(SHOP, TOKEN, seed=9, orders=ORDERS, customers=20, id_base=0, now=NOW))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        yield simulator


@pytest.fixture
def shop_id(db) -> int:
    with db.uow() as session:
        shop = make_shop(session, domain=SHOP, platform="shopify", currency="USD")
        service.store_credentials(shop, {"access_token": TOKEN})
        session.commit()
        return shop.id


@pytest.fixture
def time():
    return FakeTime()


def orders_state(db, shop_id) -> SyncState:
    with db.uow() as session:
        return session.scalars(select(SyncState).where(SyncState.shop_id == shop_id,
                                                       SyncState.resource == "orders")).one()


def mirrored(db, shop_id) -> tuple[int, int]:
    with db.uow() as session:
        orders = session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))
        lines = session.scalar(select(func.count()).select_from(LineItem).where(LineItem.shop_id == shop_id))
        return orders, lines


def test_the_backfill_mirrors_every_order_from_one_bulk_export(db, shop_id, simulator, time):
    totals = backfill.run_backfill(db, shop_id, sleep=time.sleep)

    assert len(simulator.bulk_runs) == 1
    sim_orders = simulator.shops[SHOP].orders.values()
    assert totals == {"customers": 20, "orders": ORDERS}
    assert mirrored(db, shop_id) == (ORDERS, sum(len(o.lines) for o in sim_orders))
    state = orders_state(db, shop_id)
    assert (state.status, state.cursor, state.processed) == ("done", None, ORDERS)  # nothing left to resume
    assert time.slept == [1.0]  # one poll found it running, the next complete
    assert "Orders" not in {call["operationName"] for call in simulator.requests}  # no paging of orders


def test_a_crash_resumes_after_the_last_committed_batch_of_the_same_export(db, shop_id, simulator, time):
    simulator.corrupt_order = 260

    with pytest.raises(Exception, match="not JSON"):
        backfill.run_backfill(db, shop_id, sleep=time.sleep)

    (operation,) = simulator.bulk_runs
    state = orders_state(db, shop_id)
    assert (state.status, state.cursor, state.processed) == ("running", f"bulk:{operation}:250", 250)
    assert "not JSON" in state.last_error
    assert mirrored(db, shop_id)[0] == 250

    backfill.run_backfill(db, shop_id, sleep=time.sleep)

    assert len(simulator.bulk_runs) == 1 and simulator.downloads == 2  # the same export, read again
    state = orders_state(db, shop_id)
    assert (state.status, state.cursor, state.processed, state.last_error) == ("done", None, ORDERS, None)
    assert mirrored(db, shop_id)[0] == ORDERS


def test_an_export_still_running_ends_the_job_with_a_delayed_retry_not_a_blocked_worker(
        db, shop_id, simulator, time):
    simulator.bulk_polls = len(backfill.BULK_POLLS) + 1

    with pytest.raises(backfill.BulkExportPending) as raised:
        backfill.run_backfill(db, shop_id, sleep=time.sleep)

    assert 30 <= raised.value.retry_after <= 600
    assert time.slept == list(backfill.BULK_POLLS)
    (operation,) = simulator.bulk_runs
    assert orders_state(db, shop_id).cursor == f"bulk:{operation}"

    backfill.run_backfill(db, shop_id, sleep=time.sleep)

    assert len(simulator.bulk_runs) == 1
    assert orders_state(db, shop_id).status == "done" and mirrored(db, shop_id)[0] == ORDERS


def test_a_failed_export_is_forgotten_and_the_retry_starts_a_new_one(db, shop_id, simulator, time):
    simulator.bulk_failure = "INTERNAL_SERVER_ERROR"

    with pytest.raises(TransientJobError, match="INTERNAL_SERVER_ERROR"):
        backfill.run_backfill(db, shop_id, sleep=time.sleep)

    state = orders_state(db, shop_id)
    assert state.cursor is None and "FAILED" in state.last_error
    simulator.bulk_failure = None

    backfill.run_backfill(db, shop_id, sleep=time.sleep)

    assert len(simulator.bulk_runs) == 2 and orders_state(db, shop_id).status == "done"


def test_the_export_finished_webhook_resumes_the_waiting_backfill_at_once(
        db, queue, shop_id, simulator, time):
    simulator.bulk_polls = len(backfill.BULK_POLLS) + 1
    with pytest.raises(backfill.BulkExportPending):
        backfill.run_backfill(db, shop_id, sleep=time.sleep)
    (operation,) = simulator.bulk_runs

    with db.uow() as session:
        assert backfill.nudge_bulk_backfill(session, shop_id, "gid://shopify/BulkOperation/999") is None
        run = backfill.nudge_bulk_backfill(session, shop_id, operation)
        session.commit()
        run_id = run.id

    queue.drain()

    with db.uow() as session:
        assert session.get(JobRun, run_id).status == "succeeded"
    assert orders_state(db, shop_id).status == "done" and mirrored(db, shop_id)[0] == ORDERS
