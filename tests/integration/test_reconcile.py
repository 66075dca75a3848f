"""Reconciliation against the sandbox platform: what webhooks missed is fetched, lost subscriptions come back."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.base import Connection
from adapters.sandbox import Delivery, SandboxAdapter, operations
from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from plugin.sync.models import Customer, Order, SyncState
from plugin.sync.reconcile import request_reconcile, run_reconcile
from plugin.sync.reconcile_models import ReconcileReport
from tests import sandbox_support

LOST = Delivery(send=lambda url, body, headers: 500, retry_delays=())  # every webhook fails: nothing arrives


@pytest.fixture
def sandbox(app, db, queue, settings):
    installed = sandbox_support.install(app, db, customers=15, orders=80, address=settings.app_url)
    queue.drain()
    return installed


def reconcile_now(db, queue, shop_id: int) -> None:
    with db.uow() as s:
        request_reconcile(s, shop_id)
        s.commit()
    queue.drain()


def held(db, model, *where) -> int:
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def report(db, shop_id: int) -> ReconcileReport:
    with db.uow() as s:
        return s.scalars(select(ReconcileReport).where(ReconcileReport.shop_id == shop_id)).one()


def reconcile_state(db, shop_id: int) -> SyncState:
    with db.uow() as s:
        return s.scalars(select(SyncState).where(SyncState.shop_id == shop_id,
                                                 SyncState.resource == "reconcile")).one()


def test_orders_whose_webhooks_were_lost_are_fetched_with_their_customers(db, queue, sandbox):
    before = held(db, Order)
    first = operations.create_order(sandbox.store, sandbox.domain, customer_email=None, delivery=LOST)
    second = operations.create_order(sandbox.store, sandbox.domain, customer_email=None, delivery=LOST)
    newcomer = operations.create_customer(sandbox.store, sandbox.domain, email="late@example.com", delivery=LOST)
    third = operations.create_order(sandbox.store, sandbox.domain, customer_email="late@example.com", delivery=LOST)
    queue.drain()
    assert held(db, Order) == before  # the platform says it sent them; nothing arrived

    reconcile_now(db, queue, sandbox.shop_id)

    ids = [first.subject.platform_id, second.subject.platform_id, third.subject.platform_id]
    assert held(db, Order, Order.platform_id.in_(ids)) == 3
    assert held(db, Customer, Customer.platform_id == newcomer.subject.platform_id) == 1
    state, figures = reconcile_state(db, sandbox.shop_id), report(db, sandbox.shop_id)
    assert (state.status, state.last_error) == ("done", None) and state.finished_at is not None
    assert state.processed >= 3
    assert figures.remote_orders == figures.local_orders == before + 3 and figures.applied_orders == 3
    assert figures.unresolved_difference is None and figures.subscriptions_created == []


def test_an_old_order_missed_behind_newer_ones_is_found_by_widening_the_window(db, queue, sandbox):
    missed = operations.create_order(sandbox.store, sandbox.domain, delivery=LOST,
                                     now=sandbox_support.SEEDED_AT + timedelta(days=1))
    operations.create_order(sandbox.store, sandbox.domain, delivery=sandbox.delivery,
                            now=sandbox_support.SEEDED_AT + timedelta(days=2))
    queue.drain()
    assert held(db, Order, Order.platform_id == missed.subject.platform_id) == 0

    reconcile_now(db, queue, sandbox.shop_id)

    assert held(db, Order, Order.platform_id == missed.subject.platform_id) == 1
    figures = report(db, sandbox.shop_id)
    assert figures.remote_orders == figures.local_orders
    assert sandbox_support.SEEDED_AT < figures.pulled_since < missed.subject.updated_at  # a window, not it all
    assert figures.pulled_orders < 10


def test_a_deleted_subscription_is_recreated(db, queue, sandbox):
    with sandbox.store.writing() as conn:
        conn.execute("DELETE FROM webhook_subscriptions WHERE shop = ? AND topic = 'orders/create'",
                     (sandbox.domain,))
    assert sandbox.store.subscriptions(sandbox.domain, "orders/create") == []

    reconcile_now(db, queue, sandbox.shop_id)

    assert len(sandbox.store.subscriptions(sandbox.domain, "orders/create")) == 1
    assert report(db, sandbox.shop_id).subscriptions_created == ["orders/create"]
    operations.create_order(sandbox.store, sandbox.domain, delivery=sandbox.delivery)
    assert sandbox.statuses == [200, 200]  # orders/create reaches us again, then orders/paid


def test_a_transient_failure_is_recorded_then_retried(db, queue, sandbox):
    sandbox.store.inject_failures(sandbox.domain, 1)
    with db.uow() as s:
        run_id = request_reconcile(s, sandbox.shop_id).id
        s.commit()

    queue.drain()

    state = reconcile_state(db, sandbox.shop_id)
    assert state.status == "failed" and "injected transient failure" in state.last_error
    with db.uow() as s:
        assert s.get(JobRun, run_id).status == "retrying"
    queue.drain(include_scheduled=True)
    with db.uow() as s:
        assert s.get(JobRun, run_id).status == "succeeded"
    assert reconcile_state(db, sandbox.shop_id).last_error is None


class OvercountingAdapter(SandboxAdapter):
    """A platform whose count includes three orders its listing never returns."""

    def count_orders(self, updated_since: datetime | None = None) -> int:
        return super().count_orders(updated_since) + 3


def test_a_difference_a_full_pull_cannot_close_is_not_chased_every_time(db, sandbox, settings):
    adapter = OvercountingAdapter(Connection(shop_domain=sandbox.domain), settings.sandbox_path)
    total = held(db, Order)

    first = run_reconcile(db, sandbox.shop_id, adapter=adapter)
    second = run_reconcile(db, sandbox.shop_id, adapter=adapter)

    assert (first.pulled_since, first.unresolved_difference) == (None, 3) and first.pulled_orders >= total
    assert second.unresolved_difference == 3 and second.pulled_since is not None and second.pulled_orders < 10
    assert report(db, sandbox.shop_id).unresolved_difference == 3


def test_every_quarter_hour_each_installed_shop_gets_one_reconcile(app, db, queue, sandbox, settings):
    other = sandbox_support.install(app, db, customers=3, orders=5, domain="gone.sandbox.test",
                                    address=settings.app_url)
    queue.drain()
    with db.uow() as s:
        s.get(Shop, other.shop_id).status = "uninstalled"
        s.commit()
    quarter = datetime(2026, 11, 23, 10, 15, tzinfo=UTC).replace(tzinfo=None)
    assert "storecare.reconcile" not in [t.name for t in queue.huey.read_periodic(quarter + timedelta(minutes=7))]
    task = next(t for t in queue.huey.read_periodic(quarter) if t.name == "storecare.reconcile")

    queue.huey.execute(task)
    queue.huey.execute(task)  # a second tick while the first run is queued adds nothing

    with db.uow() as s:
        runs = s.execute(select(JobRun.shop_id, JobRun.status).where(JobRun.name == "sync.reconcile")).all()
    assert runs == [(sandbox.shop_id, "queued")]
    queue.drain()
    assert reconcile_state(db, sandbox.shop_id).status == "done"
