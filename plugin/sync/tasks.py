"""Queue jobs of the sync package: they take ids and call a service."""
from __future__ import annotations

from flask import current_app

from plugin.shops import privacy
from plugin.sync import backfill, events, inbox, ingress, reconcile


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


def redact_shop_job(shop_id: int, platform: str, shop_domain: str, request_key: str, requested_at: str,
                    platform_shop_id: str | None = None) -> None:
    privacy.redact_shop(_db(), shop_id, platform, shop_domain, request_key, requested_at, platform_shop_id)


def reconcile_everywhere() -> None:
    """Every quarter hour (a Huey periodic task): a reconcile job for each installed shop."""
    reconcile.request_reconcile_everywhere(_db())


def register(queue) -> None:
    queue.register(inbox.DELIVERY_JOB, process_delivery_job)
    queue.register(ingress.JOB, process_deliveries_job)
    queue.register("sync.backfill", backfill_job, max_attempts=8)
    queue.register("sync.dispatch_events", dispatch_events_job)
    queue.register(reconcile.JOB, reconcile_job, max_attempts=3)  # the next quarter hour tries again anyway
    queue.register(privacy.REDACT_SHOP_JOB, redact_shop_job)
    queue.every(15, "storecare.reconcile", reconcile_everywhere)
