"""The program's use cases for the merchant API and the operators' commands: each owns its
transaction (commits, or rolls back and raises ``Refused``: nothing written).

``Refused`` carries an HTTP-like ``status`` (404: the customer, member or shop is unknown; 409: the
program refuses), the ``field`` at fault and a sentence for the caller."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.api.service import MAX_ID
from plugin.loyalty import activities, adjustments, ledger
from plugin.loyalty.members import ensure_member, member_by_email, member_of_customer
from plugin.loyalty.models import LoyaltyMember
from plugin.loyalty.publishing import request_publish
from plugin.loyalty.reports import member_document
from plugin.loyalty.settings import program
from plugin.loyalty.tiers import tier_of
from plugin.shops.models import Shop
from plugin.sync.models import Customer


class Refused(Exception):
    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field = status, field


# -- finding

def shop_by_domain(session: Session, domain: str) -> Shop:
    shop = session.scalars(select(Shop).where(Shop.domain == domain.strip().lower())).first()
    if shop is None:
        raise Refused(404, "shop", f"no shop {domain!r} is installed")
    return shop


def customer_id_by(session: Session, shop_id: int, *, email: str | None = None, customer_id: int | None = None,
                   field: str = "email") -> int:
    where = (Customer.id == customer_id) if customer_id is not None \
        else (func.lower(Customer.email) == (email or "").strip().lower())
    found = session.scalar(select(Customer.id).where(Customer.shop_id == shop_id, where,
                                                     Customer.deleted_at.is_(None)).order_by(Customer.id).limit(1))
    if found is None:
        raise Refused(404, field, f"No customer of this shop has the email {email.strip()}." if customer_id is None
                      else f"No customer of this shop has the id {customer_id}.")
    return found


def member_json(session: Session, member: LoyaltyMember) -> dict:
    """A member as the merchant API shows it."""
    tier = tier_of(session, member)
    email = session.scalar(select(Customer.email).where(Customer.id == member.customer_id,
                                                        Customer.shop_id == member.shop_id))
    return {"id": member.id, "customer_id": member.customer_id, "email": email, "status": member.status,
            "tier": tier.name if tier is not None else None, "referral_code": member.referral_code,
            "joined_at": member.joined_at, "balance": ledger.balance(member)}


def find_member(db, shop_id: int, email: str) -> dict | None:
    with db.uow() as session:
        member = member_by_email(session, shop_id, email)
        return member_json(session, member) if member is not None else None


def member_document_by_email(db, domain: str, email: str) -> dict:
    """The operators' ``flask loyalty member``."""
    with db.uow() as session:
        shop = shop_by_domain(session, domain)
        member = member_by_email(session, shop.id, email)
        if member is None:
            customer_id_by(session, shop.id, email=email)  # unknown customer: says so
            raise Refused(404, "email", f"{email} is not a member of the loyalty program of {shop.domain}")
        return member_document(session, member)


# -- writing

def _refusal(exc: ledger.LedgerError) -> Refused:
    if isinstance(exc, ledger.InsufficientPoints):
        return Refused(409, "points", f"Only {exc.available} points can be taken.")
    return Refused(409, getattr(exc, "field", "points"), str(exc))


def credit_event(db, shop_id: int, *, event: str, key: str, points: int | None = None,
                 customer_email: str | None = None, customer_id: int | None = None) -> dict:
    """Points for an event posted by the merchant's systems (once per ``key``): ``customer_id`` if given,
    else ``customer_email`` (both: they must name the same customer)."""
    with db.uow() as session:
        settings = program(session, shop_id)
        if not settings["enabled"]:
            raise Refused(409, "event", "The shop's loyalty program is off.")
        found = None
        for field, value in (("customer_id", customer_id), ("customer_email", customer_email)):
            if value is None:
                continue
            if field == "customer_id" and value > MAX_ID:
                raise Refused(404, field, "No customer of this shop has it.")
            one = customer_id_by(session, shop_id, field=field, **(
                {"customer_id": value} if field == "customer_id" else {"email": value}))
            if found is not None and one != found:
                raise Refused(404, field, "customer_email and customer_id name two customers.")
            found = one
        if found is None:
            raise Refused(404, "customer_email", "Give the customer's email (customer_email) or id (customer_id).")
        if settings["enrolment"] == "auto":
            member = ensure_member(session, shop_id, found)
        else:
            member = member_of_customer(session, shop_id, found)
            if member is None or member.status != "active":
                raise Refused(409, "customer_id" if customer_id is not None else "customer_email",
                              "This customer has not joined the loyalty program.")
        try:
            posted = activities.award_event(session, member, event, key, points)
        except activities.LimitReached as exc:
            session.rollback()
            raise Refused(409, "points", str(exc)) from None
        except ledger.LedgerError as exc:
            session.rollback()
            raise _refusal(exc) from None
        request_publish(session, shop_id)
        session.commit()
        member = session.get(LoyaltyMember, member.id)
        return {"entry_id": posted.entry.id, "points": posted.entry.points, "created": posted.created,
                "member": member_json(session, member)}


def adjust_member(db, shop_id: int, member_id: int, points: int, *, reason: str, actor: str,
                  key: str | None = None) -> dict:
    """A merchant's adjustment of a member of the shop (the merchant API)."""
    with db.uow() as session:
        member = session.scalar(select(LoyaltyMember).where(LoyaltyMember.id == member_id,
                                                            LoyaltyMember.shop_id == shop_id)) \
            if member_id <= MAX_ID else None
        if member is None:
            raise Refused(404, "member_id", "No member of this shop has this id.")
        _adjust(session, member, points, reason, actor, key)
        return member_json(session, session.get(LoyaltyMember, member.id))


def adjust_by_email(db, domain: str, email: str, points: int, *, reason: str, actor: str) -> dict:
    """The operators' ``flask loyalty adjust``: a customer who is not a member yet becomes one (unless
    the adjustment is refused). Returns the member document."""
    with db.uow() as session:
        shop = shop_by_domain(session, domain)
        member = member_by_email(session, shop.id, email) \
            or ensure_member(session, shop.id, customer_id_by(session, shop.id, email=email))
        _adjust(session, member, points, reason, actor, None)
        return member_document(session, session.get(LoyaltyMember, member.id))


def _adjust(session: Session, member: LoyaltyMember, points: int, reason: str, actor: str, key: str | None) -> None:
    try:
        adjustments.adjust(session, member, points, reason=reason, actor=actor, key=key)
    except ledger.LedgerError as exc:
        session.rollback()
        raise _refusal(exc) from None
    request_publish(session, member.shop_id)
    session.commit()
