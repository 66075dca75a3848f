"""The program on the platform: each member's tier and approved balance published to the shop's platform
(Shopify: a tier tag and app-owned metafields; WooCommerce: customer meta; the sandbox: its customer
attributes) through the adapter's ``publish_customer_loyalty``, so themes, Shopify Flow or WordPress
can use them.

A change of a member's balance or tier calls ``request_publish``: it queues the shop's publish job
(``loyalty.publish``) unless one is waiting already, so a burst of changes is one job (coalesced per
shop, and so per member). The job publishes only the members whose tier or approved balance differ
from what was published last (``published_tier``, ``published_balance``), reading a batch, calling the
platform outside any transaction, then recording what the platform holds.

When the platform cannot (``Unsupported``) or may not (``PermissionMissing``: a scope the merchant has
not granted) show it, the job records why and stops: it fails at once with the platform's message (the
admin's Jobs page shows it) and no publish job is queued for the shop while its last one is failed;
Retry on the Jobs page (once the merchant granted the access) resumes publishing every difference.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session, aliased

from adapters.errors import PermissionMissing, Unsupported
from plugin.jobs.models import JobRun
from plugin.jobs.queue import PermanentJobError
from plugin.loyalty.models import LoyaltyMember, Tier
from plugin.shops.models import Shop
from plugin.sync.models import Customer

log = logging.getLogger(__name__)
PUBLISH_JOB = "loyalty.publish"
BATCH = 200


def request_publish(session: Session, shop_id: int) -> JobRun | None:
    """Queue the shop's publish job in the caller's transaction, unless one is waiting already or the
    last one was stopped (failed: Retry on the Jobs page resumes it)."""
    last = session.execute(select(JobRun.id, JobRun.status).where(
        JobRun.shop_id == shop_id, JobRun.name == PUBLISH_JOB).order_by(JobRun.id.desc()).limit(1)).first()
    if last is not None and last.status in ("queued", "retrying", "failed"):
        return None
    return current_app.extensions["storecare.queue"].enqueue(session, PUBLISH_JOB, {"shop_id": shop_id},
                                                             shop_id=shop_id)


def on_tiers_changed(session: Session, shop_id: int, member_ids: list[int]) -> None:
    """A tier recalculation moved members (``plugin.loyalty.tiers.TIER_CHANGE_HOOKS``): publish."""
    if member_ids:
        request_publish(session, shop_id)


def _tier_name(member, tiers: dict[int, Tier]) -> str | None:
    earned, floor = tiers.get(member.tier_id), tiers.get(member.manual_tier_id)
    tier = floor if floor is not None and (earned is None or floor.position > earned.position) else earned
    return tier.name if tier is not None else None


def _changed(shop_id: int, after_id: int):
    """Members (with their customer's platform id) whose tier or approved balance differs from what was
    published, after ``after_id``, in id order."""
    earned, floor = aliased(Tier), aliased(Tier)
    tier_name = case((floor.id.is_not(None) & (earned.id.is_(None) | (floor.position > earned.position)), floor.name),
                     else_=earned.name)
    return (select(LoyaltyMember, Customer.platform_id)
            .join(Customer, (Customer.id == LoyaltyMember.customer_id) & (Customer.shop_id == shop_id))
            .outerjoin(earned, (earned.id == LoyaltyMember.tier_id) & (earned.shop_id == shop_id))
            .outerjoin(floor, (floor.id == LoyaltyMember.manual_tier_id) & (floor.shop_id == shop_id))
            .where(LoyaltyMember.shop_id == shop_id, LoyaltyMember.id > after_id, Customer.deleted_at.is_(None),
                   or_(LoyaltyMember.published_balance.is_(None),
                       LoyaltyMember.published_balance != LoyaltyMember.approved,
                       LoyaltyMember.published_tier.is_distinct_from(tier_name)))
            .order_by(LoyaltyMember.id))


def publish_shop(db, shop_id: int, batch: int = BATCH) -> int:
    """Publish every member of the shop whose tier or approved balance changed since last published;
    returns how many were published. Unsupported or PermissionMissing: PermanentJobError (stopped)."""
    from plugin.shops.service import adapter_for

    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or shop.status != "installed":
            return 0
        adapter = adapter_for(shop)
    published, last_id = 0, 0
    while True:
        with db.uow() as session:
            tiers = {t.id: t for t in session.scalars(select(Tier).where(Tier.shop_id == shop_id))}
            rows = session.execute(_changed(shop_id, last_id).limit(batch)).all()
            if not rows:
                return published
            last_id = rows[-1][0].id
            due = [(m.id, platform_id, _tier_name(m, tiers), m.approved) for m, platform_id in rows
                   if (_tier_name(m, tiers), m.approved) != (m.published_tier, m.published_balance)]
        done = []
        for member_id, platform_id, tier, approved in due:  # outside any transaction: platform calls
            try:
                held = adapter.publish_customer_loyalty(platform_id, tier, approved)
            except (Unsupported, PermissionMissing) as exc:
                log.warning("shop %s: loyalty not published on the platform: %s", shop_id, exc)
                _record(db, done)
                raise PermanentJobError(f"The platform does not show loyalty: {exc}") from exc
            done.append((member_id, held.tier, int(held.balance) if held.balance is not None else None))
        _record(db, done)
        published += len(done)


def _record(db, done: list[tuple[int, str | None, int | None]]) -> None:
    if not done:
        return
    with db.uow() as session:
        for member_id, tier, balance in done:
            session.execute(update(LoyaltyMember).where(LoyaltyMember.id == member_id).values(
                published_tier=tier, published_balance=balance))
        session.commit()

