"""Reconciliation: what webhooks missed, found and fetched. Per shop, every 15 minutes (``sync.reconcile``).

Webhooks are at-least-once at best: Shopify deletes a shop-specific subscription that keeps failing,
WooCommerce disables one after a few failures and never retries, and any delivery can be lost. So a
periodic job, for each installed shop:

1. subscribes again to the manifest's topics at our address: the adapter creates what is missing
   (Shopify deletes a subscription that keeps failing) and re-enables what was paused or disabled
   (WooCommerce disables a webhook after five failed deliveries and never retries), and says per topic
   what it found and did;
2. pulls the orders updated since the newest change we hold, minus a 10-minute overlap for clock
   skew and in-flight writes, through the idempotent mirror (newer wins, events are recorded once;
   an order's customer comes with it). Customers on their own are left to webhooks and re-syncs:
   WooCommerce cannot list them by modification time, so a quarter-hourly pull would read them all;
3. compares the platform's order count with ours (deleted orders do not count). If orders are still
   missing (their webhooks were lost long ago, older than our newest change), it widens the window
   back in steps, comparing the counts of each window, and pulls the first window that holds the
   difference; failing that, everything. A difference that even a full pull cannot close (the
   platform counts something it does not list) is remembered and not chased again until it changes;
4. if we hold more orders than the platform counts, some were deleted there without a webhook
   reaching us (a WooCommerce order deleted for good without going through the trash sends none). It
   lists the platform's order ids, asks for each order we hold that the listing lacks (paging by
   number can skip an order deleted meanwhile, so absence is confirmed one by one) and marks those
   the platform does not have as deleted. Orders we stored after the listing began are not judged.

The run is the shop's SyncState "reconcile" row (status, rows fetched, finished_at, last error); the
figures are its ReconcileReport row, which the admin shows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from adapters.base import PlatformAdapter, WebhookAction, WebhookCheck
from adapters.errors import Deleted, NotFound
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.jobs.queue import PermanentJobError
from plugin.shops.models import Shop
from plugin.shops.service import adapter_for, credentials
from plugin.sync import mirror
from plugin.sync.models import Order, SyncState
from plugin.sync.reconcile_models import ReconcileReport

log = logging.getLogger(__name__)
JOB = "sync.reconcile"
RESOURCE = "reconcile"
OVERLAP = timedelta(minutes=10)
PAGE_SIZE = 250
WIDEN_FACTOR = 4  # each probe looks four times further back than the one before


@dataclass(frozen=True)
class WebhookPlan:
    address: str
    topics: tuple[str, ...]
    secret: str | None  # ours (WooCommerce, sandbox); None where the platform signs with the app's secret


def webhook_plan(shop: Shop) -> WebhookPlan:
    """Where and what a shop's platform should send us: ``{app_url}/webhooks/{platform}`` and the
    manifest's topics for that platform, signed with the shop's own secret when it has one."""
    settings = current_app.config["STORECARE_SETTINGS"]
    manifest = current_app.config["STORECARE_MANIFEST"]
    return WebhookPlan(address=f"{settings.app_url.rstrip('/')}/webhooks/{shop.platform}",
                       topics=tuple(manifest[shop.platform]["webhooks"]),
                       secret=credentials(shop).get("webhook_secret") or None)


@dataclass
class ReconcileResult:
    webhooks: list[WebhookCheck] = field(default_factory=list)  # each topic: found, and done
    subscriptions_created: list[str] = field(default_factory=list)
    remote_orders: int = 0
    local_orders: int = 0
    pulled_orders: int = 0
    applied_orders: int = 0
    pulled_since: datetime | None = None
    unresolved_difference: int | None = None
    deleted_orders: int = 0  # held here, gone from the platform: marked deleted by this run


# -- queueing

def request_reconcile(session, shop_id: int) -> JobRun:
    """Queue a reconcile of the shop unless one is already queued or running (then return that one)."""
    pending = session.scalars(select(JobRun).where(
        JobRun.shop_id == shop_id, JobRun.name == JOB,
        JobRun.status.in_(("queued", "running", "retrying")))).first()
    if pending is not None:
        return pending
    queue = current_app.extensions["storecare.queue"]
    return queue.enqueue(session, JOB, {"shop_id": shop_id}, shop_id=shop_id)


def request_reconcile_everywhere(db) -> int:
    """The periodic task: queue a reconcile for every installed shop whose platform still accepts our
    credentials (a shop that needs its merchant to reconnect would only fail); returns how many shops."""
    with db.uow() as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.status == "installed", Shop.needs_reauth.is_(False))
                                   .order_by(Shop.id)).all()
        for shop_id in shop_ids:
            request_reconcile(session, shop_id)
        session.commit()
    return len(shop_ids)


# -- the run

def run_reconcile(db, shop_id: int, *, overlap: timedelta = OVERLAP, page_size: int = PAGE_SIZE,
                  adapter: PlatformAdapter | None = None) -> ReconcileResult:
    """Reconcile one shop (see the module's docstring). ``adapter`` replaces the shop's own, for tests."""
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise PermanentJobError(f"shop {shop_id} does not exist")
        state = _state(session, shop_id)
        state.status, state.started_at, state.finished_at, state.processed = "running", utcnow(), None, 0
        session.commit()
        report = session.scalar(select(ReconcileReport).where(ReconcileReport.shop_id == shop_id))
        known_difference = report.unresolved_difference if report else None
        backfilling = _backfilling(session, shop_id)
        try:
            adapter = adapter or adapter_for(shop)  # refuses an uninstalled shop: the job fails for good
            plan = webhook_plan(shop)
        except Exception as exc:
            _record_failure(db, shop_id, exc)
            raise
    result = ReconcileResult()
    try:
        result.webhooks = adapter.ensure_webhooks(plan.address, plan.topics, plan.secret)
        result.subscriptions_created = [c.topic for c in result.webhooks if c.action is WebhookAction.CREATED]
        result.remote_orders = adapter.count_orders()
        newest = _local_bound(db, shop_id, func.max)
        result.pulled_since = newest - overlap if newest else None
        if newest is not None or not backfilling:  # an empty mirror is the backfill's to fill
            _pull_orders(db, adapter, shop_id, result.pulled_since, page_size, result)
        result.local_orders = _local_count(db, shop_id)
        difference = result.remote_orders - result.local_orders
        if (difference > 0 and result.pulled_since is not None and difference != known_difference
                and not backfilling):  # a running backfill is closing that gap already
            start = _widen(db, adapter, shop_id, result.pulled_since, difference, overlap)
            windows = [start, None] if start is not None else [None]
            for since in windows:
                result.pulled_since = since
                _pull_orders(db, adapter, shop_id, since, page_size, result)
                result.local_orders = _local_count(db, shop_id)
                if result.remote_orders <= result.local_orders:
                    break
        if result.local_orders > result.remote_orders:
            result.deleted_orders = _mark_deleted(db, adapter, shop_id, page_size)
            result.local_orders = _local_count(db, shop_id)
        difference = result.remote_orders - result.local_orders
        everything_seen = result.pulled_since is None or difference == known_difference
        if difference > 0 and not backfilling and everything_seen:
            result.unresolved_difference = difference
    except Exception as exc:
        _record_failure(db, shop_id, exc)
        raise
    _record_success(db, shop_id, result)
    return result


def webhook_row(check: WebhookCheck) -> dict[str, str]:
    """A webhook check as the report (and the reconcile command's JSON) keeps it."""
    return {"topic": check.topic, "found": str(check.found), "action": str(check.action)}


def _pull_orders(db, adapter: PlatformAdapter, shop_id: int, since: datetime | None, page_size: int,
                 result: ReconcileResult) -> None:
    cursor = None
    while True:
        page = adapter.list_orders(cursor=cursor, limit=page_size, updated_since=since)
        with db.uow() as session:
            upserted = mirror.upsert_orders(session, shop_id, page.items, source="reconcile")
            _state(session, shop_id).processed += len(page.items)
            session.commit()
        result.pulled_orders += len(page.items)
        result.applied_orders += upserted.applied
        if page.is_last:
            return
        cursor = page.next_cursor


def _mark_deleted(db, adapter: PlatformAdapter, shop_id: int, page_size: int) -> int:
    """Mark deleted the orders we hold that the platform no longer has (step 4); how many."""
    started = utcnow()
    listed: set[str] = set()
    cursor = None
    while True:
        page = adapter.list_order_ids(cursor=cursor, limit=page_size)
        listed.update(page.items)
        if page.is_last:
            break
        cursor = page.next_cursor
    with db.uow() as session:
        held = session.scalars(select(Order.platform_id).where(
            Order.shop_id == shop_id, Order.deleted_at.is_(None), Order.synced_at < started)).all()
    gone: dict[str, datetime] = {}
    for platform_id in (p for p in held if p not in listed):
        try:
            adapter.get_order(platform_id)
        except Deleted as exc:  # WooCommerce's trash says when
            gone[platform_id] = exc.deleted_at
        except NotFound:
            gone[platform_id] = utcnow()
    if not gone:
        return 0
    with db.uow() as session:
        marked = sum(mirror.mark_order_deleted(session, shop_id, platform_id, at, source="reconcile")
                     for platform_id, at in gone.items())
        session.commit()
    return marked


def _widen(db, adapter: PlatformAdapter, shop_id: int, since: datetime, difference: int,
           overlap: timedelta) -> datetime | None:
    """The latest start whose window holds ``difference`` more orders on the platform than here, probing
    further back each time; None when the probes pass our oldest order (then everything is pulled)."""
    oldest = _local_bound(db, shop_id, func.min)
    step = overlap
    while True:
        step *= WIDEN_FACTOR
        start = since - step
        if oldest is None or start <= oldest:
            return None
        with db.uow() as session:
            ours = session.scalar(select(func.count(Order.id)).where(
                Order.shop_id == shop_id, Order.deleted_at.is_(None), Order.platform_updated_at >= start)) or 0
        if adapter.count_orders(updated_since=start) - ours >= difference:
            return start


def _backfilling(session, shop_id: int) -> bool:
    return session.scalar(select(func.count(JobRun.id)).where(
        JobRun.shop_id == shop_id, JobRun.name == "sync.backfill",
        JobRun.status.in_(("queued", "running", "retrying")))) > 0


def _local_bound(db, shop_id: int, aggregate) -> datetime | None:
    with db.uow() as session:
        return session.scalar(select(aggregate(Order.platform_updated_at)).where(Order.shop_id == shop_id))


def _local_count(db, shop_id: int) -> int:
    """The orders we hold that the platform still has, as far as we know."""
    with db.uow() as session:
        return session.scalar(select(func.count(Order.id)).where(
            Order.shop_id == shop_id, Order.deleted_at.is_(None))) or 0


def _state(session, shop_id: int) -> SyncState:
    return SyncState.of(session, shop_id, RESOURCE)


def _record_failure(db, shop_id: int, exc: Exception) -> None:
    with db.uow() as session:
        state = _state(session, shop_id)
        state.status, state.finished_at = "failed", utcnow()
        state.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()


def _record_success(db, shop_id: int, result: ReconcileResult) -> None:
    with db.uow() as session:
        state = _state(session, shop_id)
        state.status, state.finished_at, state.last_error = "done", utcnow(), None
        report = session.scalar(select(ReconcileReport).where(ReconcileReport.shop_id == shop_id))
        if report is None:
            report = ReconcileReport(shop_id=shop_id)
            session.add(report)
        report.remote_orders, report.local_orders = result.remote_orders, result.local_orders
        report.pulled_orders, report.applied_orders = result.pulled_orders, result.applied_orders
        report.pulled_since = result.pulled_since
        report.subscriptions_created = list(result.subscriptions_created)
        report.webhooks = [webhook_row(check) for check in result.webhooks]
        report.unresolved_difference, report.counted_at = result.unresolved_difference, utcnow()
        report.deleted_orders = result.deleted_orders
        session.commit()
    if result.subscriptions_created or result.applied_orders or result.deleted_orders:
        log.info("reconcile of shop %s: %s subscription(s) recreated, %s order(s) fetched, %s found deleted",
                 shop_id, len(result.subscriptions_created), result.applied_orders, result.deleted_orders)
