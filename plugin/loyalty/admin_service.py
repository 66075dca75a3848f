"""What the loyalty admin pages read and do, always within the signed-in shop.

Reading: the members (searched, filtered by tier, sorted, paged), a member with their ledger, CSV rows of
members and of the ledger. Doing (each a use case that commits): a manual adjustment, once per form
nonce, and the merchant's manual tier (a floor under the tier the member earned).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from plugin.admin.service import Page, RecordNotFound, _like, paginate
from plugin.loyalty import adjustments, ledger
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.sync.models import Customer

SORTS = ("balance_desc", "balance_asc", "newest")
KEY_LENGTH = 64


class MemberNotFound(RecordNotFound):
    def __init__(self):
        super().__init__("loyalty_member")


def _members(shop_id: int):
    return (select(LoyaltyMember, Customer, Tier)
            .join(Customer, (Customer.id == LoyaltyMember.customer_id) & (Customer.shop_id == shop_id))
            .outerjoin(Tier, (Tier.id == func.coalesce(LoyaltyMember.manual_tier_id, LoyaltyMember.tier_id))
                       & (Tier.shop_id == shop_id))
            .where(LoyaltyMember.shop_id == shop_id, Customer.deleted_at.is_(None)))


def list_members(session: Session, shop_id: int, search: str = "", tier_id: int | None = None,
                 sort: str = "balance_desc", page: int = 1) -> Page:
    """Rows of (member, customer, tier shown): a search matches email or name, ``tier_id`` the tier the
    member is in (earned or the merchant's floor)."""
    stmt = _members(shop_id)
    search = search.strip()
    if search:
        pattern = _like(search)
        full_name = func.coalesce(Customer.first_name, "") + " " + func.coalesce(Customer.last_name, "")
        stmt = stmt.where(or_(func.lower(Customer.email).like(pattern, escape="\\"),
                              func.lower(full_name).like(pattern, escape="\\")))
    if tier_id is not None:
        stmt = stmt.where(Tier.id == tier_id)
    if sort == "balance_asc":
        stmt = stmt.order_by(LoyaltyMember.approved.asc(), LoyaltyMember.id.asc())
    elif sort == "newest":
        stmt = stmt.order_by(LoyaltyMember.joined_at.desc(), LoyaltyMember.id.desc())
    else:
        stmt = stmt.order_by(LoyaltyMember.approved.desc(), LoyaltyMember.id.asc())
    return paginate(session, stmt, page, scalars=False)


def tiers(session: Session, shop_id: int) -> list[Tier]:
    return list(session.scalars(select(Tier).where(Tier.shop_id == shop_id).order_by(Tier.position, Tier.id)))


@dataclass(frozen=True)
class MemberDetail:
    member: LoyaltyMember
    customer: Customer
    tier: Tier | None  # the tier the member is in (the manual floor if higher)
    earned: Tier | None
    manual: Tier | None
    tiers: list[Tier]
    entries: Page


def get_member(session: Session, shop_id: int, member_id: int) -> LoyaltyMember:
    member = session.scalar(select(LoyaltyMember).where(LoyaltyMember.id == member_id,
                                                        LoyaltyMember.shop_id == shop_id))
    if member is None:
        raise MemberNotFound()
    return member


def member_detail(session: Session, shop_id: int, member_id: int, page: int = 1) -> MemberDetail:
    from plugin.loyalty.tiers import tier_of

    member = get_member(session, shop_id, member_id)
    customer = session.scalar(select(Customer).where(Customer.id == member.customer_id, Customer.shop_id == shop_id))
    if customer is None:
        raise MemberNotFound()
    shop_tiers = tiers(session, shop_id)
    by_id = {tier.id: tier for tier in shop_tiers}
    entries = paginate(session, select(LedgerEntry).where(LedgerEntry.shop_id == shop_id,
                                                          LedgerEntry.member_id == member.id)
                       .order_by(LedgerEntry.id.desc()), page)
    return MemberDetail(member, customer, tier_of(session, member), by_id.get(member.tier_id),
                        by_id.get(member.manual_tier_id), shop_tiers, entries)


def set_manual_tier(session: Session, shop_id: int, member_id: int, tier_id: int | None,
                    actor: str = "admin") -> LoyaltyMember:
    """The merchant's manual tier for a member (None: none), a floor under the earned tier
    (``plugin.loyalty.tiers.set_manual_tier``), published to the platform; commits. A tier of another
    shop is refused (``AdjustmentRefused`` naming ``tier``) and nothing is written."""
    from plugin.loyalty.publishing import request_publish
    from plugin.loyalty.tiers import TierInvalid
    from plugin.loyalty.tiers import set_manual_tier as set_floor

    member = get_member(session, shop_id, member_id)
    try:
        set_floor(session, member, tier_id, actor)
    except TierInvalid as exc:
        session.rollback()
        raise adjustments.AdjustmentRefused("tier", str(exc)) from exc
    request_publish(session, shop_id)
    session.commit()
    return member


def adjust_member(session: Session, shop_id: int, member_id: int, points: int, *, reason: str, actor: str,
                  key: str) -> ledger.Posted:
    """A manual adjustment of a member's points; commits. The form's nonce ``key`` makes a form sent
    twice count once. Refusals (``AdjustmentRefused``, ``InsufficientPoints``) write nothing."""
    member = get_member(session, shop_id, member_id)
    try:
        posted = adjustments.adjust(session, member, points, reason=reason, actor=actor,
                                    key=f"admin:{key[:KEY_LENGTH]}")
    except Exception:
        session.rollback()
        raise
    session.commit()
    return posted


# -- CSV

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A CSV cell that a spreadsheet never runs as a formula: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


MEMBER_COLUMNS = ("email", "first_name", "last_name", "tier", "pending", "approved", "spent", "expired",
                  "lifetime", "owed", "joined_at", "last_activity_at", "referral_code")
LEDGER_COLUMNS = ("id", "email", "points", "state", "source", "source_id", "reason", "actor", "created_at")


def member_rows(session: Session, shop_id: int, batch: int = 1000) -> Iterator[list]:
    """The shop's members, oldest first, read ``batch`` rows at a time (an export never holds them all)."""
    stmt = _members(shop_id).order_by(LoyaltyMember.id).execution_options(yield_per=batch)
    for member, customer, tier in session.execute(stmt):
        yield [customer.email, customer.first_name, customer.last_name, tier.name if tier else "",
               member.pending, member.approved, member.spent, member.expired, member.lifetime, member.owed,
               member.joined_at.isoformat(), member.last_activity_at.isoformat(), member.referral_code]


def ledger_rows(session: Session, shop_id: int, describe, batch: int = 1000) -> Iterator[list]:
    """The shop's ledger, oldest first, read ``batch`` rows at a time; ``describe(entry)`` gives the reason
    in the reader's language."""
    stmt = (select(LedgerEntry, Customer.email)
            .join(LoyaltyMember, (LoyaltyMember.id == LedgerEntry.member_id) & (LoyaltyMember.shop_id == shop_id))
            .join(Customer, (Customer.id == LoyaltyMember.customer_id) & (Customer.shop_id == shop_id))
            .where(LedgerEntry.shop_id == shop_id).order_by(LedgerEntry.id).execution_options(yield_per=batch))
    for entry, email in session.execute(stmt):
        yield [entry.id, email, entry.points, entry.state, entry.source, entry.source_id, describe(entry),
               entry.actor or "", entry.created_at.isoformat()]


# -- analytics

def _month(session: Session, column):
    """``YYYY-MM`` of a UTC moment, in SQL on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


@dataclass(frozen=True)
class Analytics:
    members: int
    signups: list[tuple[str, int]]  # (month, members who joined)
    points: list[tuple[str, int, int, int]]  # (month, issued, redeemed, expired)
    outstanding: int  # approved points, spendable now
    pending: int
    point_value: Decimal | None  # money per point: the best of the active fixed-amount or variable rewards
    liability: Decimal | None
    redemption_rate: Decimal | None  # points spent / points issued
    reward_revenue: Decimal  # paid net revenue of orders that used a reward's code
    repeat_rate: Decimal | None  # customers with 2+ paid orders / customers with 1+
    member_aov: Decimal | None
    other_aov: Decimal | None
    member_clv: Decimal | None
    other_clv: Decimal | None
    tiers: list[tuple[str, int]]  # (tier name or "", members)


def _ratio(part, whole) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def analytics(session: Session, shop_id: int) -> Analytics:
    """The program's figures, each one query over the shop's rows. Members in AOV and CLV: customers with a
    member row and activity (a ledger entry); everyone else who ordered is a non-member."""
    from plugin.loyalty.models import Redemption, Reward
    from plugin.sync import revenue
    from plugin.sync.models import Order

    members = session.scalar(select(func.count()).select_from(LoyaltyMember)
                             .where(LoyaltyMember.shop_id == shop_id)) or 0
    month = _month(session, LoyaltyMember.joined_at)
    signups = [(m, n) for m, n in session.execute(
        select(month, func.count()).where(LoyaltyMember.shop_id == shop_id).group_by(month).order_by(month))]
    month = _month(session, LedgerEntry.created_at)
    issued = func.sum(case((LedgerEntry.points > 0, LedgerEntry.points), else_=0))
    redeemed = func.sum(case((LedgerEntry.state == "spent", -LedgerEntry.points), else_=0))
    expired = func.sum(case((LedgerEntry.state == "expired", -LedgerEntry.points), else_=0))
    points = [(m, int(i or 0), int(r or 0), int(e or 0)) for m, i, r, e in session.execute(
        select(month, issued, redeemed, expired).where(LedgerEntry.shop_id == shop_id)
        .group_by(month).order_by(month))]
    outstanding, pending = session.execute(select(func.coalesce(func.sum(LoyaltyMember.approved), 0),
                                                  func.coalesce(func.sum(LoyaltyMember.pending), 0))
                                           .where(LoyaltyMember.shop_id == shop_id)).one()
    values = session.execute(select(Reward.value, Reward.cost).where(
        Reward.shop_id == shop_id, Reward.active.is_(True), Reward.kind.in_(("fixed_amount", "variable")),
        Reward.cost > 0)).all()
    point_value = max((Decimal(str(v)) / c for v, c in values), default=None)
    liability = (point_value * int(outstanding)).quantize(Decimal("0.01")) if point_value is not None else None
    total_issued = sum(p[1] for p in points)
    total_spent = sum(p[2] for p in points)
    used = select(Redemption.used_order_id).where(Redemption.shop_id == shop_id,
                                                  Redemption.used_order_id.is_not(None)).distinct()
    reward_revenue = revenue.as_money(session.scalar(select(revenue.paid_net_revenue()).where(
        Order.shop_id == shop_id, revenue.paid_order(), Order.id.in_(used))))
    active = select(LoyaltyMember.customer_id).where(
        LoyaltyMember.shop_id == shop_id,
        select(LedgerEntry.id).where(LedgerEntry.member_id == LoyaltyMember.id).exists())
    per_customer = (select(Order.customer_id.label("customer_id"), func.count().label("orders"),
                           revenue.paid_net_revenue().label("spent"),
                           Order.customer_id.in_(active).label("member"))
                    .where(Order.shop_id == shop_id, revenue.paid_order(), Order.customer_id.is_not(None))
                    .group_by(Order.customer_id).subquery())
    groups = {bool(member): (int(customers), int(orders or 0), revenue.as_money(spent), int(repeat or 0))
              for member, customers, orders, spent, repeat in session.execute(
                  select(per_customer.c.member, func.count(), func.sum(per_customer.c.orders),
                         func.sum(per_customer.c.spent), func.sum(case((per_customer.c.orders > 1, 1), else_=0)))
                  .group_by(per_customer.c.member))}
    customers = sum(g[0] for g in groups.values())
    repeaters = sum(g[3] for g in groups.values())

    def aov(member: bool):
        c, o, s, _r = groups.get(member, (0, 0, Decimal(0), 0))
        return ((s / o).quantize(Decimal("0.01")) if o else None, (s / c).quantize(Decimal("0.01")) if c else None)

    member_aov, member_clv = aov(True)
    other_aov, other_clv = aov(False)
    return Analytics(int(members), signups, points, int(outstanding), int(pending), point_value, liability,
                     _ratio(total_spent, total_issued), reward_revenue, _ratio(repeaters, customers),
                     member_aov, other_aov, member_clv, other_clv, tier_distribution(session, shop_id))


def tier_distribution(session: Session, shop_id: int) -> list[tuple[str, int]]:
    """Members per tier they are in (the manual floor when it is higher than the tier earned)."""
    shop_tiers = {tier.id: tier for tier in tiers(session, shop_id)}
    counts: dict[str, int] = {}
    for earned_id, manual_id, number in session.execute(
            select(LoyaltyMember.tier_id, LoyaltyMember.manual_tier_id, func.count())
            .where(LoyaltyMember.shop_id == shop_id).group_by(LoyaltyMember.tier_id, LoyaltyMember.manual_tier_id)):
        earned, manual = shop_tiers.get(earned_id), shop_tiers.get(manual_id)
        tier = manual if manual is not None and (earned is None or manual.position > earned.position) else earned
        name = tier.name if tier is not None else ""
        counts[name] = counts.get(name, 0) + number
    order = {tier.name: tier.position for tier in shop_tiers.values()}
    return sorted(counts.items(), key=lambda item: order.get(item[0], -1))


# -- referral review

class ReferralNotFound(RecordNotFound):
    def __init__(self):
        super().__init__("loyalty_referral")


def review_referral(session: Session, shop_id: int, referral_id: int, approve: bool, actor: str) -> bool:
    """The merchant's decision on a held referral (``plugin.loyalty.referrals.review``); commits.
    Returns False when the referral was reviewed already (a second click: nothing changes); another
    shop's referral is not found."""
    from plugin.loyalty.models import Referral
    from plugin.loyalty.referrals import ReferralRefused, review

    found = session.scalar(select(Referral.status).where(Referral.shop_id == shop_id, Referral.id == referral_id))
    if found is None:
        raise ReferralNotFound()
    try:
        review(session, shop_id, referral_id, approve, actor)
    except ReferralRefused:
        session.rollback()
        return False
    except Exception:
        session.rollback()
        raise
    session.commit()
    return True


# -- rewards

def get_reward(session: Session, shop_id: int, reward_id: int):
    from plugin.loyalty.rewards import RewardNotFound
    from plugin.loyalty.rewards import get_reward as find

    try:
        return find(session, shop_id, reward_id)
    except RewardNotFound:
        raise RecordNotFound("loyalty_reward") from None


def save_reward(session: Session, shop_id: int, reward_id: int | None, data: dict):
    """Create (``reward_id`` None) or change a reward of the shop through ``plugin.loyalty.rewards``;
    commits. ``ValidationError`` (messages by field) writes nothing; another shop's reward is not found."""
    from plugin.loyalty.rewards import create_reward, update_reward

    if reward_id is not None:
        get_reward(session, shop_id, reward_id)
    try:
        reward = (create_reward(session, shop_id, data) if reward_id is None
                  else update_reward(session, shop_id, reward_id, data))
    except Exception:
        session.rollback()
        raise
    session.commit()
    return reward


def deactivate_reward(session: Session, shop_id: int, reward_id: int):
    """Stop offering a reward (kept for the redemptions that name it); commits. Idempotent."""
    from plugin.loyalty.rewards import deactivate_reward as stop

    get_reward(session, shop_id, reward_id)
    reward = stop(session, shop_id, reward_id)
    session.commit()
    return reward


def list_rewards(session: Session, shop_id: int):
    from plugin.loyalty.rewards import list_rewards as rewards

    return rewards(session, shop_id)


# -- tiers

TIER_FIELDS = ("name", "entry_threshold", "retention_threshold", "earn_multiplier", "birthday_bonus",
               "free_shipping")
PREVIEW_LISTED = 10


def get_tier(session: Session, shop_id: int, tier_id: int) -> Tier:
    tier = session.scalar(select(Tier).where(Tier.shop_id == shop_id, Tier.id == tier_id))
    if tier is None:
        raise RecordNotFound("loyalty_tier")
    return tier


def _proposed(session: Session, shop_id: int, tier_id: int | None, data: dict | None) -> list[dict]:
    """The shop's tiers as they would be: ``data`` replacing tier ``tier_id`` (or added, ``tier_id``
    None; or the tier removed, ``data`` None). The changed tier comes last, so a clash is its own."""
    kept = [{"id": t.id, **{name: getattr(t, name) for name in TIER_FIELDS}}
            for t in tiers(session, shop_id) if t.id != tier_id]
    return kept + ([{**data, "id": tier_id}] if data is not None else [])


def tier_preview(session: Session, shop_id: int, tier_id: int | None, data: dict | None) -> dict:
    """Who would move up and who down if the change were saved, writing nothing (``tiers.preview``):
    its counts per tier before and after, and the first members listed with their email.
    ``TierInvalid`` names the field at fault."""
    from plugin.loyalty.tiers import TierInvalid, preview

    if tier_id is not None:
        get_tier(session, shop_id, tier_id)
    try:
        result = preview(session, shop_id, _proposed(session, shop_id, tier_id, data), limit=PREVIEW_LISTED)
    except TierInvalid as exc:
        raise TierInvalid(exc.field.split(".", 1)[-1], exc.message) from None
    finally:
        session.rollback()  # nothing of a preview stays
    listed = [m["member_id"] for side in ("up", "down") for m in result[side]["members"]]
    emails = dict(session.execute(select(LoyaltyMember.id, Customer.email).join(
        Customer, (Customer.id == LoyaltyMember.customer_id) & (Customer.shop_id == shop_id)).where(
        LoyaltyMember.shop_id == shop_id, LoyaltyMember.id.in_(listed))).all()) if listed else {}
    for side in ("up", "down"):
        for move in result[side]["members"]:
            move["email"] = emails.get(move["member_id"])
    return result


def save_tier(session: Session, shop_id: int, tier_id: int | None, data: dict) -> Tier:
    """Create (``tier_id`` None) or change a tier, and queue the recalculation that moves members;
    commits. ``TierInvalid`` writes nothing; another shop's tier is not found."""
    from plugin.loyalty.tiers import create_tier, request_tier_recalculation, update_tier

    if tier_id is not None:
        get_tier(session, shop_id, tier_id)
    try:
        tier = create_tier(session, shop_id, data) if tier_id is None else update_tier(session, shop_id, tier_id,
                                                                                        data)
        request_tier_recalculation(session, shop_id)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return tier


def delete_tier(session: Session, shop_id: int, tier_id: int) -> None:
    """Remove a tier and queue the recalculation that places its members; commits."""
    from plugin.loyalty.tiers import delete_tier as remove
    from plugin.loyalty.tiers import request_tier_recalculation

    get_tier(session, shop_id, tier_id)
    try:
        remove(session, shop_id, tier_id)
        request_tier_recalculation(session, shop_id)
    except Exception:
        session.rollback()
        raise
    session.commit()
