"""Queue jobs of the sync package: they take ids and call a service."""
from __future__ import annotations

from flask import current_app

from plugin.sync import backfill, events, inbox


def _db():
    return current_app.extensions["storecare.db"]


def process_delivery_job(delivery_id: int) -> None:
    inbox.process_delivery(_db(), delivery_id)


def backfill_job(shop_id: int) -> None:
    backfill.run_backfill(_db(), shop_id)


def dispatch_events_job(shop_id: int) -> None:
    events.dispatch_pending(_db(), current_app.extensions["storecare.events"], shop_id)


def register(queue) -> None:
    queue.register("sync.process_delivery", process_delivery_job)
    queue.register("sync.backfill", backfill_job, max_attempts=8)
    queue.register("sync.dispatch_events", dispatch_events_job)
