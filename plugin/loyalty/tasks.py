"""The program's queue jobs and schedules: they take ids and call a use case; schedules only enqueue."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from plugin.db import utcnow
from plugin.loyalty import ledger
from plugin.loyalty.models import LedgerEntry
from plugin.loyalty.publishing import request_publish

APPROVE_JOB = "loyalty.approve_points"
BATCH = 500


def _db():
    return current_app.extensions["storecare.db"]


def _queue():
    return current_app.extensions["storecare.queue"]


def approve_due(db, shop_id: int, now: datetime | None = None, batch: int = BATCH) -> int:
    """Approve the shop's pending entries whose return window has passed, ``batch`` at a time, each
    batch its own transaction. Each settlement is a compare-and-set: run twice (or by two workers at
    once), an entry is approved once. Returns how many this run approved."""
    now = now or utcnow()
    approved, last_id = 0, 0
    while True:
        with db.uow() as session:
            due = session.scalars(select(LedgerEntry).where(
                LedgerEntry.shop_id == shop_id, LedgerEntry.state == "pending",
                LedgerEntry.settle_after.is_not(None), LedgerEntry.settle_after <= now, LedgerEntry.id > last_id,
            ).order_by(LedgerEntry.id).limit(batch)).all()
            if not due:
                if approved:
                    request_publish(session, shop_id)
                    session.commit()
                return approved
            for entry in due:
                approved += ledger.settle(session, entry, "approved", now=now)
            last_id = due[-1].id
            session.commit()


def approve_points_job(shop_id: int) -> None:
    approve_due(_db(), shop_id)


def shops_with_due_points(session, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(session.scalars(select(LedgerEntry.shop_id).where(
        LedgerEntry.state == "pending", LedgerEntry.settle_after.is_not(None), LedgerEntry.settle_after <= now,
    ).distinct()))


def enqueue_approvals() -> None:
    """Hourly: an approval job for each shop with points due."""
    with _db().uow() as session:
        for shop_id in shops_with_due_points(session):
            _queue().enqueue(session, APPROVE_JOB, {"shop_id": shop_id}, shop_id=shop_id)
        session.commit()


DAILY_JOB = "loyalty.daily"


def daily(db, shop_id: int, now: datetime | None = None) -> tuple[int, int, int]:
    """The shop's daily round: birthdays, expiry warnings, expiries (each idempotent for the day).
    Returns (birthdays credited, members warned, members whose points expired)."""
    from plugin.loyalty.activities import award_birthdays, expire_points

    with db.uow() as session:
        birthdays = award_birthdays(session, shop_id, now)
        warned, expired = expire_points(session, shop_id, now)
        if birthdays or expired:
            request_publish(session, shop_id)
        session.commit()
    return birthdays, warned, expired


def daily_job(shop_id: int) -> None:
    daily(_db(), shop_id)


def enqueue_daily(now: datetime | None = None) -> list[int]:
    """Hourly: the daily job of each shop with members, unless it was queued already today (UTC)."""
    from plugin.jobs.models import JobRun
    from plugin.loyalty.models import LoyaltyMember

    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    queued = []
    with _db().uow() as session:
        done = set(session.scalars(select(JobRun.shop_id).where(JobRun.name == DAILY_JOB,
                                                                 JobRun.enqueued_at >= today)))
        for shop_id in session.scalars(select(LoyaltyMember.shop_id).distinct()):
            if shop_id not in done:
                _queue().enqueue(session, DAILY_JOB, {"shop_id": shop_id}, shop_id=shop_id)
                queued.append(shop_id)
        session.commit()
    return queued


def publish_job(shop_id: int) -> None:
    from plugin.loyalty.publishing import publish_shop

    publish_shop(_db(), shop_id)
