"""The program's scheduled rounds, as use cases that own their transactions: approving points whose
return window passed, and the daily round (birthdays, expiry warnings, expiries); and what the hourly
schedules queue for them. The jobs (plugin/loyalty/tasks.py) only call these."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.loyalty import ledger
from plugin.loyalty.models import LedgerEntry, LoyaltyMember
from plugin.loyalty.publishing import request_publish

APPROVE_JOB = "loyalty.approve_points"
DAILY_JOB = "loyalty.daily"
BATCH = 500


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


def shops_with_due_points(session, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(session.scalars(select(LedgerEntry.shop_id).where(
        LedgerEntry.state == "pending", LedgerEntry.settle_after.is_not(None), LedgerEntry.settle_after <= now,
    ).distinct()))


def request_approvals(db) -> list[int]:
    """An approval job for each shop with points due (hourly)."""
    with db.uow() as session:
        shops = shops_with_due_points(session)
        for shop_id in shops:
            _queue().enqueue(session, APPROVE_JOB, {"shop_id": shop_id}, shop_id=shop_id)
        session.commit()
    return shops


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


def request_daily(db, now: datetime | None = None) -> list[int]:
    """The daily job of each shop with members, unless it was queued already today (UTC); hourly, so a
    worker that was down at midnight still runs the day's round."""
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    queued = []
    with db.uow() as session:
        done = set(session.scalars(select(JobRun.shop_id).where(JobRun.name == DAILY_JOB,
                                                                 JobRun.enqueued_at >= today)))
        for shop_id in session.scalars(select(LoyaltyMember.shop_id).distinct()):
            if shop_id not in done:
                _queue().enqueue(session, DAILY_JOB, {"shop_id": shop_id}, shop_id=shop_id)
                queued.append(shop_id)
        session.commit()
    return queued
