"""What the loyalty admin pages read and do, always within the signed-in shop.

Reading: the members (searched, filtered by tier, sorted, paged), a member with their ledger, CSV rows of
members and of the ledger. Doing (each a use case that commits): a manual adjustment, once per form
nonce, and the merchant's manual tier (a floor under the tier the member earned).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, or_, select
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


def set_manual_tier(session: Session, shop_id: int, member_id: int, tier_id: int | None) -> LoyaltyMember:
    """The merchant's manual tier for a member (None: none), a floor under the earned tier; commits.
    (Stands in for the tiers package's ``set_manual_tier`` until it is merged.)"""
    member = get_member(session, shop_id, member_id)
    if tier_id is not None and session.scalar(select(Tier.id).where(Tier.id == tier_id,
                                                                    Tier.shop_id == shop_id)) is None:
        raise adjustments.AdjustmentRefused("tier", "unknown tier")
    member.manual_tier_id = tier_id
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
    stmt = _members(shop_id).order_by(LoyaltyMember.id).execution_options(yield_per=batch)
    for member, customer, tier in session.execute(stmt):
        yield [customer.email, customer.first_name, customer.last_name, tier.name if tier else "",
               member.pending, member.approved, member.spent, member.expired, member.lifetime, member.owed,
               member.joined_at.isoformat(), member.last_activity_at.isoformat(), member.referral_code]


def ledger_rows(session: Session, shop_id: int, describe, batch: int = 1000) -> Iterator[list]:
    """The shop's ledger, oldest first; ``describe(entry)`` gives the reason in the reader's language."""
    stmt = (select(LedgerEntry, Customer.email)
            .join(LoyaltyMember, (LoyaltyMember.id == LedgerEntry.member_id) & (LoyaltyMember.shop_id == shop_id))
            .join(Customer, (Customer.id == LoyaltyMember.customer_id) & (Customer.shop_id == shop_id))
            .where(LedgerEntry.shop_id == shop_id).order_by(LedgerEntry.id).execution_options(yield_per=batch))
    for entry, email in session.execute(stmt):
        yield [entry.id, email, entry.points, entry.state, entry.source, entry.source_id, describe(entry),
               entry.actor or "", entry.created_at.isoformat()]
