"""Queue jobs of the sync package: they take ids and call a service."""
from __future__ import annotations

from flask import current_app

from plugin.sync import backfill, events, inbox, reconcile


def _db():
    return current_app.extensions["storecare.db"]


def process_delivery_job(delivery_id: int) -> None:
    inbox.process_delivery(_db(), delivery_id)


def process_deliveries_job(shop_id: int, delivery_ids: list[int]) -> None:
    inbox.process_deliveries(_db(), shop_id, delivery_ids)


def backfill_job(shop_id: int) -> None:
    backfill.run_backfill(_db(), shop_id)


def dispatch_events_job(shop_id: int) -> None:
    events.dispatch_pending(_db(), current_app.extensions["storecare.events"], shop_id)


def reconcile_job(shop_id: int) -> None:
    reconcile.run_reconcile(_db(), shop_id)


def reconcile_everywhere() -> None:
    """Every quarter hour (a Huey periodic task): a reconcile job for each installed shop."""
    reconcile.request_reconcile_everywhere(_db())
