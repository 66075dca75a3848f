"""Backfill: page through a shop's customers then orders, committing the cursor with every page.

A crash (or a killed worker) loses at most the page in flight; the re-run resumes from the last
committed cursor, and the idempotent upsert makes the replayed page harmless.

Orders of a platform that offers a bulk export (Shopify: ``start_bulk_orders``) come from that export
instead of pages: start it (cursor ``bulk:<operation id>``, committed), poll it a few times, and while it
is still running end the job with a retry after a delay rather than hold a worker; once it is complete,
stream its orders in batches of BULK_BATCH, committing ``bulk:<operation id>:<orders done>`` with each
batch, so a crash resumes after the last committed batch. The platform's "export finished" webhook
may resume the job early (nudge_bulk_backfill). A failed export is forgotten and the retry starts anew.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.jobs.queue import PermanentJobError, TransientJobError
from plugin.shops.models import Shop
from plugin.shops.service import adapter_for
from plugin.sync import mirror
from plugin.sync.models import SyncState

log = logging.getLogger(__name__)
RESOURCES = ("customers", "orders")
PAGE_SIZE = 250
PREFETCH = 1  # pages read ahead while one is written
STATISTICS_EVERY = 5_000  # rows between refreshes of PostgreSQL's statistics of the tables a backfill fills
WRITTEN_TABLES = {"customers": ("customers", "domain_events"),
                  "orders": ("orders", "line_items", "refunds", "customers", "domain_events")}
PAGES_IN_FLIGHT = 4  # WooCommerce: pages requested at once (bench/backfill_woocommerce.py)
BULK_PREFIX = "bulk:"
BULK_BATCH = 250
BULK_POLLS = (1.0, 2.0, 4.0, 8.0)  # waits between polls within one run (~15 s), then retry the job later


def queue_backfill(db, shop_id: int) -> JobRun:
    """``request_backfill`` in a unit of work of its own; commits."""
    with db.uow() as session:
        run = request_backfill(session, shop_id)
        session.commit()
    return run


def request_backfill(session, shop_id: int, restart: bool = True) -> JobRun:
    """Queue a backfill of the shop unless one is already queued or running (then return that one)."""
    queue = current_app.extensions["storecare.queue"]
    pending = session.scalars(select(JobRun).where(
        JobRun.shop_id == shop_id, JobRun.name == "sync.backfill",
        JobRun.status.in_(("queued", "running", "retrying")))).first()
    if pending is not None:
        return pending
    for resource in RESOURCES:
        state = _state(session, shop_id, resource)
        if restart:
            state.status, state.cursor, state.processed, state.last_error = "queued", None, 0, None
            state.started_at = state.finished_at = None
    return queue.enqueue(session, "sync.backfill", {"shop_id": shop_id}, shop_id=shop_id)


def _state(session, shop_id: int, resource: str) -> SyncState:
    return SyncState.of(session, shop_id, resource)


def run_backfill(db, shop_id: int, page_size: int = PAGE_SIZE,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, int]:
    """Run (or resume) the backfill of every resource; returns rows processed per resource."""
    totals = {}
    for resource in RESOURCES:
        totals[resource] = _run_resource(db, shop_id, resource, page_size, sleep)
    return totals


def _run_resource(db, shop_id: int, resource: str, page_size: int, sleep: Callable[[float], None]) -> int:
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        state = _state(session, shop_id, resource)
        if state.status == "done":
            return 0
        adapter = adapter_for(shop)
        if state.status != "running":
            state.status, state.started_at = "running", utcnow()
        session.commit()
    if resource == "orders" and hasattr(adapter, "start_bulk_orders"):
        return _run_bulk_orders(db, shop_id, adapter, sleep)
    with db.uow() as session:
        cursor = _state(session, shop_id, resource).cursor
    processed, pages = 0, _prefetched(_pages(adapter, resource, cursor, page_size, sleep))
    try:
        while True:
            try:
                page = next(pages, None)
            except Exception as exc:
                _record_error(db, shop_id, resource, exc)
                raise
            with db.uow() as session:
                state = _state(session, shop_id, resource)
                if page is not None:
                    try:
                        if resource == "customers":
                            mirror.upsert_customers(session, shop_id, page.items, source="backfill")
                        else:
                            mirror.upsert_orders(session, shop_id, page.items, source="backfill")
                    except Exception as exc:
                        session.rollback()
                        _record_error(db, shop_id, resource, exc)
                        raise
                    state.cursor = page.next_cursor
                    before = state.processed
                    state.processed += len(page.items)
                    state.last_error = None
                    processed += len(page.items)
                last = page is None or page.is_last
                if last:
                    state.status, state.finished_at = "done", utcnow()
                session.commit()
                if last or _crossed(before, state.processed, STATISTICS_EVERY):
                    refresh_statistics(session, WRITTEN_TABLES[resource])
                if last:
                    log.info("backfill of %s for shop %s done: %s rows", resource, shop_id, state.processed)
                    return processed
    finally:
        pages.close()  # stops the reader thread after the page in hand


def refresh_statistics(session, tables: tuple[str, ...]) -> None:
    """ANALYZE the tables a backfill is filling (PostgreSQL). Autovacuum gets to a table a minute or more
    after it grew, so a backfill into new tables is planned on the statistics of empty ones: looking up
    a page's 250 customers by platform id became a scan of every customer of the shop (1 ms at 4,000
    customers, 58 ms at 20,000), and the backfill slowed as it went."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite plans on the indexes it has
    for table in tables:  # one short transaction each; a table busy with another ANALYZE is left to it
        try:
            session.execute(text("SET LOCAL lock_timeout = '1s'"))
            session.execute(text(f"ANALYZE {table}"))  # names from WRITTEN_TABLES, never from input
            session.commit()
        except OperationalError as exc:
            session.rollback()
            log.info("statistics of %s not refreshed now (%s)", table, exc.orig)


def _crossed(before: int, after: int, every: int) -> bool:
    """Whether a count went past a multiple of ``every`` on its way from ``before`` to ``after``."""
    return before // every != after // every


_END = object()


def _prefetched(pages: Iterator, depth: int = PREFETCH) -> Iterator:
    """``pages``, read ``depth`` ahead by a thread of their own, so the platform prepares the next page
    while we write this one (the database and the platform both spend most of a page waiting). The
    order is kept; an error reading a page is raised here, at that page; stopping early (an error
    writing a page) stops the reader after the page in hand. Reading runs in the app's context."""
    app = current_app._get_current_object()
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        with app.app_context():
            try:
                for page in pages:
                    if not put((page, None)):
                        return
                put((_END, None))
            except BaseException as exc:  # noqa: BLE001 - handed to the writer, raised at this page
                put((None, exc))
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()

    reader = threading.Thread(target=read, name="storecare-backfill-reader", daemon=True)
    reader.start()
    try:
        while True:
            page, error = box.get()
            if error is not None:
                raise error
            if page is _END:
                return
            yield page
    finally:
        stop.set()
        reader.join(timeout=30)


def _pages(adapter, resource: str, cursor: str | None, page_size: int, sleep: Callable[[float], None]):
    """The resource's pages from ``cursor``. A platform that pages by number (WooCommerce:
    ``iter_orders``) keeps PAGES_IN_FLIGHT requests running; each page still carries the cursor after
    it, so a crash loses at most the pages in flight, and replaying them is harmless."""
    if resource == "orders" and hasattr(adapter, "iter_orders"):
        yield from adapter.iter_orders(cursor, pages_in_flight=PAGES_IN_FLIGHT, sleep=sleep)
        return
    while True:
        if resource == "customers":
            page = adapter.list_customers(cursor=cursor, limit=page_size)
        else:
            page = adapter.list_orders(cursor=cursor, limit=page_size)
        yield page
        if page.is_last:
            return
        cursor = page.next_cursor


class BulkExportPending(TransientJobError):
    """The platform is still preparing the export: the job is retried after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


def _bulk_cursor(cursor: str | None) -> tuple[str | None, int]:
    """(operation id, orders already upserted) from ``bulk:<id>`` or ``bulk:<id>:<n>``."""
    if not cursor or not cursor.startswith(BULK_PREFIX):
        return None, 0
    operation, _, done = cursor[len(BULK_PREFIX):].rpartition(":")  # ids may hold colons (gid://...)
    if operation and done.isdigit():
        return operation, int(done)
    return cursor[len(BULK_PREFIX):], 0


def _run_bulk_orders(db, shop_id: int, adapter, sleep: Callable[[float], None]) -> int:
    with db.uow() as session:
        state = _state(session, shop_id, "orders")
        operation, done = _bulk_cursor(state.cursor)
        if operation is None:
            try:
                operation = adapter.start_bulk_orders()
            except Exception as exc:
                session.rollback()
                _record_error(db, shop_id, "orders", exc)
                raise
            state.cursor, state.processed, state.last_error = f"{BULK_PREFIX}{operation}", 0, None
            session.commit()
        waited = (utcnow() - state.started_at).total_seconds() if state.started_at else 0.0
    export = _await_export(db, shop_id, adapter, operation, sleep, waited)
    processed, batch = 0, []
    try:
        for order in adapter.iter_bulk_orders(export.url, skip=done) if export.url else ():
            batch.append(order)
            if len(batch) == BULK_BATCH:
                done = _commit_bulk_batch(db, shop_id, operation, done, batch, last=False)
                processed, batch = processed + BULK_BATCH, []
        _commit_bulk_batch(db, shop_id, operation, done, batch, last=True)
    except Exception as exc:
        _record_error(db, shop_id, "orders", exc)
        raise
    log.info("bulk backfill of orders for shop %s done: %s rows", shop_id, done + len(batch))
    return processed + len(batch)


def _await_export(db, shop_id: int, adapter, operation: str, sleep: Callable[[float], None], waited: float):
    """The export once complete; BulkExportPending while it runs; a failed one is forgotten (and raised)."""
    for delay in (0.0, *BULK_POLLS):
        if delay:
            sleep(delay)
        export = adapter.bulk_status(operation)
        if export.state == "completed":
            return export
        if export.state == "failed":
            reason = export.error_code or "no reason given"
            message = f"the bulk export {operation} ended {export.status} ({reason})"
            with db.uow() as session:
                state = _state(session, shop_id, "orders")
                state.cursor, state.last_error = None, message
                session.commit()
            if export.error_code == "ACCESS_DENIED":
                raise PermanentJobError(message)
            raise TransientJobError(message + "; a new export starts on the retry")
    # Ask again after about as long as the export has taken so far (30 s .. 10 min).
    retry_after = min(600.0, max(30.0, waited + sum(BULK_POLLS)))
    raise BulkExportPending(f"the bulk export {operation} is still running", retry_after=retry_after)


def _commit_bulk_batch(db, shop_id: int, operation: str, done: int, batch: list, last: bool) -> int:
    with db.uow() as session:
        state = _state(session, shop_id, "orders")
        mirror.upsert_orders(session, shop_id, batch, source="backfill")
        done += len(batch)
        state.cursor, state.processed, state.last_error = f"{BULK_PREFIX}{operation}:{done}", done, None
        if last:  # nothing left to resume: the export is spent
            state.status, state.finished_at, state.cursor = "done", utcnow(), None
        session.commit()
        if last or _crossed(done - len(batch), done, STATISTICS_EVERY):
            refresh_statistics(session, WRITTEN_TABLES["orders"])
    return done


def nudge_bulk_backfill(session, shop_id: int, operation_id: str) -> JobRun | None:
    """The platform says the export ``operation_id`` finished: run the waiting backfill now, if that
    export is the one it waits for. A job waiting out its retry delay is pushed at once; claiming
    makes a second run of it harmless. The caller commits."""
    state = _state(session, shop_id, "orders")
    operation, _ = _bulk_cursor(state.cursor)
    if state.status != "running" or operation != operation_id:
        return None
    run = request_backfill(session, shop_id, restart=False)
    if run.status == "retrying":
        current_app.extensions["storecare.queue"].push(run.id)
    return run


def _record_error(db, shop_id: int, resource: str, exc: Exception) -> None:
    with db.uow() as session:
        state = _state(session, shop_id, resource)
        state.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()
