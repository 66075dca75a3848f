"""Past orders when the program is turned on: credited once (settings ``history``: ``credit``) or not at
all (``zero``).

Saving the program's settings with ``enabled`` turning true queues the import job
(``loyalty.import_history``, through the settings section's ``on_save``; it waits, retried by the
queue, while the shop's first sync is still bringing its orders), at most once per shop: a
queued, running or finished import job of the shop is the mark that history was taken care of (turning
the program off and on again imports nothing more; a failed import is retried from the Jobs page).

The job credits, as ``approved`` entries (source ``import``, reason "Points for order ... (before the
program)"), every paid order in the mirror paid before the program was turned on, in the shop's
currency, neither cancelled nor deleted, of a member (automatic enrolment makes every customer with
such an order a member; with opt-in only members who joined count), and not credited already by the
live subscriber; guest orders count for the customer with their email. The points follow the rules of
plugin/loyalty/earning.py (amount, products, campaigns by the order's date, the member's tier) except
first-order and sign-up points; a refunded part is taken back at once by a ``reversed`` entry (source
``refund``), so the history reads as it happened and the balance is what remains.

It is set-based: orders are read ``BATCH`` at a time (one transaction each), members made in bulk,
entries inserted in bulk (``ON CONFLICT DO NOTHING`` on the ledger's unique key) and only the entries
actually inserted change the balances, in the same transaction: a batch run twice (a retried job)
credits nothing twice. The live subscriber skips an order already imported (and the import an order
already credited live).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from adapters.messages import N_
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.jobs.queue import TransientJobError
from plugin.loyalty.earning import campaign_factor, shop_day
from plugin.loyalty.members import new_referral_code
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.loyalty.points import points_for, share_of
from plugin.loyalty.publishing import request_publish
from plugin.loyalty.rewards import default_rewards
from plugin.loyalty.settings import program
from plugin.loyalty.tiers import request_tier_recalculation
from plugin.shops.models import Shop
from plugin.sync.models import Customer, LineItem, Order
from plugin.upsert import insert_for

log = logging.getLogger(__name__)
IMPORT_JOB = "loyalty.import_history"
BATCH = 5000
PAID_STATUSES = ("paid", "partially_refunded", "refunded")
REASON_IMPORT = N_("Points for order %(number)s (before the program)")
REASON_IMPORT_REFUND = N_("Points taken back: order %(number)s was refunded")


def on_program_saved(session: Session, shop_id: int, before: dict, after: dict) -> None:
    """The settings section's ``on_save``: the program turned on gets the default rewards if the shop
    has none, and queues the import of history, once."""
    if not after["enabled"] or before["enabled"]:
        return
    default_rewards(session, shop_id)
    if after["history"] != "credit":
        return
    if session.scalar(select(JobRun.id).where(JobRun.shop_id == shop_id, JobRun.name == IMPORT_JOB).limit(1)):
        return
    current_app.extensions["storecare.queue"].enqueue(
        session, IMPORT_JOB, {"shop_id": shop_id, "until": utcnow().isoformat()}, shop_id=shop_id)


def import_history_job(shop_id: int, until: str) -> None:
    """The import waits for the shop's first sync (a backfill queued or running): until the mirror has
    the history, there is nothing to import yet (the queue retries with backoff)."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        syncing = session.scalar(select(JobRun.id).where(
            JobRun.shop_id == shop_id, JobRun.name == "sync.backfill",
            JobRun.status.in_(("queued", "running", "retrying"))).limit(1))
    if syncing is not None:
        raise TransientJobError("the shop's orders are still being synced; the import waits for them")
    import_history(db, shop_id, datetime.fromisoformat(until))


def import_history(db, shop_id: int, until: datetime, batch: int = BATCH) -> int:
    """Credit the shop's orders paid before ``until`` (see the module's docstring); returns how many
    orders were credited by this run."""
    with db.uow() as session:
        settings = program(session, shop_id)
        shop = session.get(Shop, shop_id)
        currency, tz_shop = shop.currency, shop
        session.expunge(shop)
    if not settings["enabled"]:
        return 0
    credited, last_id = 0, 0
    while True:
        with db.uow() as session:
            orders = session.execute(select(
                Order.id, Order.number, Order.customer_id, Order.email, Order.total, Order.subtotal, Order.total_tax,
                Order.total_refunded, Order.paid_at, Order.created_at,
            ).where(
                Order.shop_id == shop_id, Order.id > last_id, Order.currency == currency,
                Order.deleted_at.is_(None), Order.cancelled_at.is_(None),
                or_(Order.paid_at.is_not(None), Order.financial_status.in_(PAID_STATUSES)),
                func.coalesce(Order.paid_at, Order.created_at) < until,
            ).order_by(Order.id).limit(batch)).all()
            if not orders:
                break
            last_id = orders[-1].id
            credited += _import_batch(session, shop_id, tz_shop, settings, orders)
            session.commit()
            if len(orders) < batch:
                break
    with db.uow() as session:
        # the history is in: place the members in their tiers, then publish balances and tiers
        request_tier_recalculation(session, shop_id)
        request_publish(session, shop_id)
        session.commit()
    return credited


def _import_batch(session: Session, shop_id: int, shop: Shop, settings: dict, orders) -> int:
    ids = [o.id for o in orders]
    done = set(session.scalars(select(LedgerEntry.order_id).where(
        LedgerEntry.shop_id == shop_id, LedgerEntry.order_id.in_(ids),
        LedgerEntry.source.in_(("order", "import"))).distinct()))
    orders = [o for o in orders if o.id not in done]
    customer_of = _customers(session, shop_id, orders)
    members = _members(session, shop_id, set(customer_of.values()), settings["enrolment"] == "auto")
    factors = _product_factors(session, shop_id, [o.id for o in orders], settings)
    tiers = {t.id: t for t in session.scalars(select(Tier).where(Tier.shop_id == shop_id))}
    rows, now = [], utcnow()
    for o in orders:
        member = members.get(customer_of.get(o.id))
        if member is None:
            continue
        amount = Decimal(o.total)
        if not settings["include_shipping"]:
            amount -= max(Decimal(0), o.total - o.subtotal - o.total_tax)
        if not settings["include_tax"]:
            amount -= o.total_tax
        when = o.paid_at or o.created_at
        factor = factors.get(o.id, Decimal(1)) * campaign_factor(settings, shop_day(shop, when))
        points = points_for(max(Decimal(0), amount) * factor, settings["earn_points"], settings["earn_per"],
                            _tier_multiplier(member, tiers))
        if points <= 0:
            continue
        base = {"shop_id": shop_id, "member_id": member.id, "order_id": o.id, "note": None, "actor": None,
                "settle_after": None, "reason_params": {"number": o.number}}
        rows.append({**base, "points": points, "state": "approved", "source": "import", "source_id": str(o.id),
                     "kind": "credit", "reason": REASON_IMPORT, "amount": o.total, "created_at": when})
        back = share_of(points, o.total_refunded or Decimal(0), o.total)
        if back:
            rows.append({**base, "points": -back, "state": "reversed", "source": "refund",
                         "source_id": f"{o.id}:import", "kind": "reversal", "reason": REASON_IMPORT_REFUND,
                         "amount": None, "created_at": when})
    if not rows:
        return 0
    stmt = insert_for(session, LedgerEntry.__table__).on_conflict_do_nothing(
        index_elements=["shop_id", "source", "source_id", "kind"]).returning(
        LedgerEntry.member_id, LedgerEntry.points, LedgerEntry.source)
    inserted = session.execute(stmt, rows).all()
    net: dict[int, int] = defaultdict(int)
    for row in inserted:
        net[row.member_id] += row.points
    locked = session.execute(select(LoyaltyMember.id, LoyaltyMember.approved, LoyaltyMember.owed,
                                    LoyaltyMember.lifetime).where(LoyaltyMember.id.in_(list(net)))
                             .with_for_update()).all()
    changes = []
    for m in locked:
        gain = net[m.id]
        paid = min(m.owed, max(0, gain))
        changes.append({"mid": m.id, "approved": m.approved + gain - paid, "owed": m.owed - paid,
                        "lifetime": m.lifetime + gain, "last_activity_at": now})
    if changes:
        session.execute(update(LoyaltyMember.__table__).where(LoyaltyMember.__table__.c.id == bindparam("mid"))
                        .values(approved=bindparam("approved"), owed=bindparam("owed"),
                                lifetime=bindparam("lifetime"), last_activity_at=bindparam("last_activity_at")),
                        changes)
    return sum(1 for row in inserted if row.source == "import")


def _tier_multiplier(member, tiers: dict) -> Decimal:
    earned, floor = tiers.get(member.tier_id), tiers.get(member.manual_tier_id)
    tier = floor if floor is not None and (earned is None or floor.position > earned.position) else earned
    return tier.earn_multiplier if tier is not None else Decimal(1)


def _customers(session: Session, shop_id: int, orders) -> dict[int, int]:
    """Order id -> customer id; a guest order by the customer with its email."""
    found = {o.id: o.customer_id for o in orders if o.customer_id is not None}
    emails = {o.email.strip().lower() for o in orders if o.customer_id is None and o.email}
    if emails:
        by_email: dict[str, int] = {}
        for cid, email in session.execute(select(Customer.id, func.lower(Customer.email)).where(
                Customer.shop_id == shop_id, func.lower(Customer.email).in_(emails),
                Customer.deleted_at.is_(None)).order_by(Customer.id.desc())):
            by_email[email] = cid  # the lowest id wins, as the live subscriber's lookup
        for o in orders:
            if o.customer_id is None and o.email and o.email.strip().lower() in by_email:
                found[o.id] = by_email[o.email.strip().lower()]
    return found


def _members(session: Session, shop_id: int, customer_ids: set[int], enrol: bool) -> dict[int, LoyaltyMember]:
    """Customer id -> member, made in bulk with automatic enrolment."""
    def existing():
        return {m.customer_id: m for m in session.scalars(select(LoyaltyMember).where(
            LoyaltyMember.shop_id == shop_id, LoyaltyMember.customer_id.in_(list(customer_ids))))}

    members = existing()
    for _attempt in range(5):
        missing = [cid for cid in customer_ids if cid not in members] if enrol else []
        if not missing:
            break
        now = utcnow()
        session.execute(insert_for(session, LoyaltyMember.__table__).on_conflict_do_nothing(), [
            {"shop_id": shop_id, "customer_id": cid, "referral_code": new_referral_code(), "status": "active",
             "joined_at": now, "last_activity_at": now, "pending": 0, "approved": 0, "spent": 0, "expired": 0,
             "lifetime": 0, "owed": 0} for cid in missing])  # a referral code taken: left out, drawn again
        members = existing()
    return {cid: m for cid, m in members.items() if m.status == "active"}


def _product_factors(session: Session, shop_id: int, order_ids: list[int], settings: dict) -> dict[int, Decimal]:
    multipliers = {m["product_id"]: Decimal(m["multiplier"]) for m in settings["multipliers"]}
    if not multipliers or not order_ids:
        return {}
    whole: dict[int, Decimal] = defaultdict(Decimal)
    weighted: dict[int, Decimal] = defaultdict(Decimal)
    for order_id, product_id, total in session.execute(select(LineItem.order_id, LineItem.product_id, LineItem.total)
                                                       .where(LineItem.shop_id == shop_id,
                                                              LineItem.order_id.in_(order_ids))):
        whole[order_id] += total
        weighted[order_id] += total * multipliers.get(product_id or "", Decimal(1))
    return {oid: weighted[oid] / whole[oid] for oid in whole if whole[oid] > 0}
