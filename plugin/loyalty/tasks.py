"""The program's queue jobs and schedules: they take ids and call a use case; schedules only enqueue."""
from __future__ import annotations

from flask import current_app

from plugin.loyalty import rounds
from plugin.loyalty.rounds import APPROVE_JOB, DAILY_JOB

__all__ = ["APPROVE_JOB", "DAILY_JOB", "approve_points_job", "daily_job", "enqueue_approvals", "enqueue_daily",
           "publish_job"]


def _db():
    return current_app.extensions["storecare.db"]


def approve_points_job(shop_id: int) -> None:
    rounds.approve_due(_db(), shop_id)


def enqueue_approvals() -> None:
    """Hourly: an approval job for each shop with points due."""
    rounds.request_approvals(_db())


def daily_job(shop_id: int) -> None:
    rounds.daily(_db(), shop_id)


def enqueue_daily() -> None:
    """Hourly: each shop's daily round, once a day."""
    rounds.request_daily(_db())


def publish_job(shop_id: int) -> None:
    from plugin.loyalty.publishing import publish_shop

    publish_shop(_db(), shop_id)
