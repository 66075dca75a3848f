"""Queue jobs of the sync package: they take ids and call a service."""
from __future__ import annotations

from flask import current_app

from plugin.sync import backfill, dispatch, inbox, ingress, reconcile


def _db():
    return current_app.extensions["storecare.db"]


def process_delivery_job(delivery_id: int) -> None:
    inbox.process_delivery(_db(), delivery_id)


def process_deliveries_job(shop_id: int, delivery_ids: list[int]) -> None:
    """The deliveries of one inbox batch, and those of the shop's batches still waiting in the queue
    behind it: under a burst the queue holds many small batches, and applying them together is what
    lets a run of orders share one transaction (plugin/sync/inbox.py)."""
    queue = current_app.extensions["storecare.queue"]
    taken = queue.take_over(ingress.JOB, shop_id)
    try:
        inbox.process_deliveries(_db(), shop_id, [*delivery_ids, *(i for _, args in taken
                                                                    for i in args.get("delivery_ids", ()))])
    except BaseException:
        queue.end_taken([job_id for job_id, _ in taken], done=False)
        raise
    queue.end_taken([job_id for job_id, _ in taken], done=True)


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
