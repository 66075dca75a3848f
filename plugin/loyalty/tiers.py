"""Tiers: what a member's tier gives them. (Placement, preview and recalculation: see below.)"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from plugin.loyalty.models import LoyaltyMember, Tier


def tier_of(session: Session, member: LoyaltyMember) -> Tier | None:
    """The member's tier: the one they earned, or the merchant's manual tier if that is higher."""
    earned = session.get(Tier, member.tier_id) if member.tier_id else None
    floor = session.get(Tier, member.manual_tier_id) if member.manual_tier_id else None
    if floor is not None and floor.shop_id == member.shop_id and (earned is None or floor.position > earned.position):
        return floor
    return earned if earned is not None and earned.shop_id == member.shop_id else None


def earn_multiplier(session: Session, member: LoyaltyMember) -> Decimal:
    """The earn multiplier of the member's tier (1 without a tier)."""
    tier = tier_of(session, member)
    return tier.earn_multiplier if tier is not None else Decimal(1)
