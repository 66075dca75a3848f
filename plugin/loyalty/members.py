"""Members: a customer of the shop in its loyalty program.

``ensure_member`` enrols a customer once (``(shop, customer)`` is unique; a second call, or two at the
same moment, get the one member), with a referral code unique in the shop. Reading helpers always take
the shop: a member of another shop is never found.
"""
from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.loyalty.models import LoyaltyMember
from plugin.sync.models import Customer
from plugin.upsert import insert_ignore

# Referral codes: 8 characters without the ones people confuse (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def ensure_member(session: Session, shop_id: int, customer_id: int) -> LoyaltyMember:
    """The customer's membership, made now if there is none (in the caller's transaction)."""
    return ensure_members(session, shop_id, {customer_id})[customer_id]


def ensure_members(session: Session, shop_id: int, customer_ids: set[int]) -> dict[int, LoyaltyMember]:
    """The customers' memberships by customer id, those missing made now with one insert (a second call,
    or two at the same moment, get the same members)."""
    if not customer_ids:
        return {}
    found = {m.customer_id: m for m in session.scalars(select(LoyaltyMember).where(
        LoyaltyMember.shop_id == shop_id, LoyaltyMember.customer_id.in_(customer_ids)))}
    missing = sorted(customer_ids - set(found))
    if not missing:
        return found
    now = utcnow()
    insert_ignore(session, LoyaltyMember.__table__, [{
        "shop_id": shop_id, "customer_id": customer_id, "referral_code": code, "status": "active",
        "joined_at": now, "last_activity_at": now, "pending": 0, "approved": 0, "spent": 0, "expired": 0,
        "lifetime": 0, "owed": 0}
        for customer_id, code in zip(missing, _free_codes(session, shop_id, len(missing)), strict=True)],
        conflict=["shop_id", "customer_id"])
    found.update({m.customer_id: m for m in session.scalars(select(LoyaltyMember).where(
        LoyaltyMember.shop_id == shop_id, LoyaltyMember.customer_id.in_(missing)))})
    return found


def _free_codes(session: Session, shop_id: int, count: int) -> list[str]:
    """``count`` distinct referral codes no member of the shop has (drawn again when one is taken)."""
    codes: set[str] = set()
    for _attempt in range(5):
        drawn = {new_referral_code() for _ in range(count - len(codes))} - codes
        taken = set(session.scalars(select(LoyaltyMember.referral_code).where(
            LoyaltyMember.shop_id == shop_id, LoyaltyMember.referral_code.in_(drawn))))
        codes |= drawn - taken
        if len(codes) >= count:
            break
    return sorted(codes)[:count]


def member_of_customer(session: Session, shop_id: int, customer_id: int) -> LoyaltyMember | None:
    return session.scalar(select(LoyaltyMember).where(LoyaltyMember.shop_id == shop_id,
                                                      LoyaltyMember.customer_id == customer_id))


def member_by_email(session: Session, shop_id: int, email: str) -> LoyaltyMember | None:
    """The member whose customer has ``email`` (compared without regard to case) in the shop."""
    return session.scalar(select(LoyaltyMember).join(Customer, Customer.id == LoyaltyMember.customer_id).where(
        LoyaltyMember.shop_id == shop_id, Customer.shop_id == shop_id,
        func.lower(Customer.email) == email.strip().lower(), Customer.deleted_at.is_(None)).limit(1))


def member_by_referral_code(session: Session, shop_id: int, code: str) -> LoyaltyMember | None:
    return session.scalar(select(LoyaltyMember).where(LoyaltyMember.shop_id == shop_id,
                                                      LoyaltyMember.referral_code == code.strip().upper()))
