"""Queue jobs of the sync package: they take ids and call a service."""
from __future__ import annotations

from flask import current_app

from plugin.sync import backfill, dispatch, inbox, reconcile


def _db():
    return current_app.extensions["storecare.db"]


def process_delivery_job(delivery_id: int) -> None:
    inbox.process_delivery(_db(), delivery_id)


def process_deliveries_job(shop_id: int, delivery_ids: list[int]) -> None:
    inbox.process_deliveries(_db(), shop_id, delivery_ids)


def backfill_job(shop_id: int) -> None:
    backfill.run_backfill(_db(), shop_id)


def _bus():
    return current_app.extensions["storecare.events"]


def dispatch_events_job(shop_id: int) -> None:
    dispatch.dispatch_shop(_db(), _bus(), shop_id)


def deliver_events_job(shop_id: int, subscriber: str) -> None:
    """A parked subscriber's job: retried by the queue with backoff, failed on the Jobs page at the end."""
    dispatch.resume_subscriber(_db(), _bus(), shop_id, subscriber)


def dispatch_everywhere() -> None:
    """Every five minutes (a Huey periodic task): a dispatch for shops whose subscribers lag behind."""
    dispatch.request_lagging_dispatches(_db(), _bus())


def reconcile_job(shop_id: int) -> None:
    reconcile.run_reconcile(_db(), shop_id)


def reconcile_everywhere() -> None:
    """Every quarter hour (a Huey periodic task): a reconcile job for each installed shop."""
    reconcile.request_reconcile_everywhere(_db())
