"""Backfill: page through a shop's customers then orders, committing the cursor with every page.

A crash (or a killed worker) loses at most the page in flight; the re-run resumes from the last
committed cursor, and the idempotent upsert makes the replayed page harmless.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from plugin.shops.service import adapter_for
from plugin.sync import mirror
from plugin.sync.models import SyncState

log = logging.getLogger(__name__)
RESOURCES = ("customers", "orders")
PAGE_SIZE = 250


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
    state = session.scalars(select(SyncState).where(SyncState.shop_id == shop_id,
                                                    SyncState.resource == resource)).first()
    if state is None:
        state = SyncState(shop_id=shop_id, resource=resource, status="idle", processed=0)
        session.add(state)
        session.flush()
    return state


def run_backfill(db, shop_id: int, page_size: int = PAGE_SIZE) -> dict[str, int]:
    """Run (or resume) the backfill of every resource; returns rows processed per resource."""
    totals = {}
    for resource in RESOURCES:
        totals[resource] = _run_resource(db, shop_id, resource, page_size)
    with db.uow() as session:
        queue = current_app.extensions["storecare.queue"]
        queue.enqueue(session, "sync.dispatch_events", {"shop_id": shop_id}, shop_id=shop_id)
        session.commit()
    return totals


def _run_resource(db, shop_id: int, resource: str, page_size: int) -> int:
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        state = _state(session, shop_id, resource)
        if state.status == "done":
            return 0
        adapter = adapter_for(shop)
        if state.status != "running":
            state.status, state.started_at = "running", utcnow()
        session.commit()
    processed = 0
    while True:
        with db.uow() as session:
            state = _state(session, shop_id, resource)
            try:
                if resource == "customers":
                    page = adapter.list_customers(cursor=state.cursor, limit=page_size)
                    mirror.upsert_customers(session, shop_id, page.items, source="backfill")
                else:
                    page = adapter.list_orders(cursor=state.cursor, limit=page_size)
                    mirror.upsert_orders(session, shop_id, page.items, source="backfill")
            except Exception as exc:
                session.rollback()
                _record_error(db, shop_id, resource, exc)
                raise
            state.cursor = page.next_cursor
            state.processed += len(page.items)
            state.last_error = None
            processed += len(page.items)
            if page.is_last:
                state.status, state.finished_at = "done", utcnow()
            session.commit()
            if page.is_last:
                log.info("backfill of %s for shop %s done: %s rows", resource, shop_id, state.processed)
                return processed


def _record_error(db, shop_id: int, resource: str, exc: Exception) -> None:
    with db.uow() as session:
        state = _state(session, shop_id, resource)
        state.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()
