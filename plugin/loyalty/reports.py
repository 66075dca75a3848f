"""What the program tells about a member, as the operators' commands print it (a contract: scripts
rely on these shapes)."""
from __future__ import annotations

from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.loyalty import ledger
from plugin.loyalty.models import LedgerEntry, LoyaltyMember
from plugin.loyalty.tiers import tier_of
from plugin.shops.models import Shop
from plugin.sync.models import Customer


def member_locale(session: Session, member: LoyaltyMember) -> str:
    """The member's language: their customer's, else the shop's."""
    locale = session.scalar(select(Customer.locale).where(Customer.id == member.customer_id,
                                                          Customer.shop_id == member.shop_id))
    return locale or session.scalar(select(Shop.locale).where(Shop.id == member.shop_id)) or "en"


def render_reason(entry: LedgerEntry) -> str:
    """The entry's reason in the current locale, filled with its parameters."""
    try:
        return gettext(entry.reason) % dict(entry.reason_params or {})
    except (KeyError, TypeError, ValueError):
        return entry.reason


def member_document(session: Session, member: LoyaltyMember) -> dict:
    """``{"email", "tier", "balance": {"pending", "approved", "spent", "lifetime"}, "entries": [{"points",
    "state", "reason", "source", "created_at"}, ...]}``: entries newest first, reasons in the member's
    language, times in ISO 8601."""
    email = session.scalar(select(Customer.email).where(Customer.id == member.customer_id,
                                                        Customer.shop_id == member.shop_id))
    tier = tier_of(session, member)
    entries = session.scalars(select(LedgerEntry).where(
        LedgerEntry.shop_id == member.shop_id, LedgerEntry.member_id == member.id,
    ).order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())).all()
    with force_locale(member_locale(session, member)):
        rows = [{"points": e.points, "state": e.state, "reason": render_reason(e), "source": e.source,
                 "created_at": e.created_at.isoformat()} for e in entries]
    return {"email": email, "tier": tier.name if tier is not None else None, "balance": ledger.balance(member),
            "entries": rows}
