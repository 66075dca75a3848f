"""Referrals: a member (the advocate) shares a link with their code; a friend arriving with it gets a
welcome reward; the advocate is rewarded when the friend's first order has passed its pending period.

**The friend** (``register_friend``) gives their email on the storefront. The email is normalised
(``normalise_email``: lower case; any ``+alias`` removed; for gmail.com and googlemail.com the dots
of the local part removed and the domain made gmail.com) and is unique in the shop: the same friend
again gets the first referral's welcome code back (a retry is harmless); a friend another member
referred first is refused. The welcome reward (none when the friend's email is the advocate's) is a
single-use discount code of the program's ``referral_friend_discount`` made on the platform through
the adapter, tied to the friend as a member's reward code is (``welcome_spec``):

- a friend who is a customer of the shop already: to their customer account (every platform);
- a guest (no customer with that email in the shop): to the email they gave, as typed (case aside),
  where the platform can limit a code to an email (``Capability.EMAIL_RESTRICTED_CODES``):
  WooCommerce (the coupon's ``email_restrictions``, checked against the order's billing email) and
  the sandbox store. Shopify cannot: a discount's eligibility names customer records (customers or
  segments) and a guest has none, and we do not create a customer in the merchant's store from an
  address typed into the widget. There the guest's code is single use but usable by whoever holds it.

If the platform refuses, nothing is written and the friend reads why.

**The advocate** (the subscriber ``loyalty.referrals`` on OrderPaid, OrderRefunded, OrderCancelled):
the friend's first paid order (matched on the referral's customer, else on the order's normalised
email) credits ``referral_advocate_points`` (source ``referral``, the referral's id) **pending** with
``settle_after`` = the order's payment + the program's ``pending_days``; the approval job of the
engine (or ``approve_referrals`` here) approves it once that passed; a full refund or a cancellation
of that order within the window reverses it (``ledger.settle``) and the referral is ``rejected``.

**Fraud checks** hold a referral (``held``, with ``hold_reasons``) for the merchant's review instead
of rewarding it (``review``; the queue: ``held_referrals``):

- ``same_email``: the friend's email is the advocate's, once both are normalised (also the order's);
- ``same_address``: the shipping address the friend gave is one another friend of the same advocate
  gave, or the one the advocate gave when they were referred themselves. The mirror of orders keeps
  no addresses (plugin/sync/models.py), so the check compares what the referrals hold: a digest of
  each normalised address (``address_key``), never the address itself;
- ``advocate_ordered``: the friend's first order was placed by the advocate's own customer account;
- ``ip_limit``: more than ``referral_ip_limit`` referrals from one address within 24 hours.

Statuses: ``joined`` (welcome code made), ``ordered`` (advocate's points pending), ``rewarded``
(approved), ``held``, ``rejected``.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from adapters.base import Capability, DiscountKind, DiscountSpec
from adapters.errors import AdapterError, PlatformRefused
from adapters.messages import N_
from plugin.db import utcnow
from plugin.loyalty import ledger
from plugin.loyalty.members import CODE_ALPHABET, member_by_referral_code
from plugin.loyalty.messages import _
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Referral
from plugin.shops.models import Shop
from plugin.sync.models import Customer, Order
from plugin.sync.revenue import is_paid_order
from plugin.upsert import insert_ignore

GMAIL = ("gmail.com", "googlemail.com")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IP_WINDOW = timedelta(hours=24)
REASON = N_("A friend you referred placed their first order")
HOLD_REASONS = ("same_email", "same_address", "advocate_ordered", "ip_limit")


class ReferralRefused(Exception):
    """A referral that cannot be made or reviewed; ``field`` names the input, the message is for people."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Welcome:
    """What the friend is shown: their code (None when the program gives no welcome amount)."""

    referral_id: int
    discount_code: str | None
    amount: Decimal
    currency: str
    created: bool  # False: this friend was referred already, this is the first referral's code
    held: bool = False  # the referral waits for the merchant's review


def normalise_email(email: str) -> str:
    """The address as one person's: lower case, no ``+alias``, no dots at Gmail; ValueError if it is
    not an email address."""
    text = (email or "").strip().lower()
    if len(text) > 320 or not EMAIL.match(text):
        raise ValueError("not an email address")
    local, _at, domain = text.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    if not local:
        raise ValueError("not an email address")
    return f"{local}@{domain}"


def _maybe_normalised(email: str | None) -> str | None:
    try:
        return normalise_email(email) if email else None
    except ValueError:
        return None


def address_key(shop_id: int, address: str | None) -> str | None:
    """A digest of a shipping address written any way (case, spaces, punctuation), per shop."""
    words = re.sub(r"[\W_]+", " ", (address or "").casefold()).split()
    if not words:
        return None
    return hashlib.sha256(f"{shop_id}:{' '.join(words)}".encode()).hexdigest()


def referral_link(session: Session, member: LoyaltyMember) -> str:
    """The member's link: the shop's storefront with ``?ref=CODE``."""
    shop = session.get(Shop, member.shop_id)
    return f"https://{shop.domain.rstrip('/')}/?ref={member.referral_code}"


def summary(session: Session, member: LoyaltyMember) -> dict:
    """What the member's widget shows: code, link and how their friends are doing."""
    counts = dict(session.execute(select(Referral.status, func.count()).where(
        Referral.shop_id == member.shop_id, Referral.advocate_id == member.id).group_by(Referral.status)).all())
    return {"code": member.referral_code, "link": referral_link(session, member),
            "friends": sum(counts.values()), "rewarded": counts.get("rewarded", 0),
            "pending": counts.get("joined", 0) + counts.get("ordered", 0) + counts.get("held", 0)}


# -- the friend arrives ----------------------------------------------------------------------------

def _settings(session: Session, shop_id: int) -> dict:
    from plugin.loyalty.settings import program

    return program(session, shop_id)


def _customer_email(session: Session, member: LoyaltyMember) -> str | None:
    return session.scalar(select(Customer.email).where(Customer.id == member.customer_id,
                                                       Customer.shop_id == member.shop_id))


def register_friend(session: Session, shop_id: int, code: str, friend_email: str, ip: str | None, *,
                    shipping_address: str | None = None, now: datetime | None = None, adapter=None) -> Welcome:
    """A friend arriving with ``code`` gives their email: the referral is recorded and their welcome
    code made on the platform; commits (a use case: the code and the row together, or neither).
    ``ReferralRefused`` (nothing written): the code is not one of this shop's members', referrals are
    off, the email is not valid or another member referred this friend first, the platform refused
    the code. ``adapter`` replaces the shop's own (tests)."""
    now = now or utcnow()
    settings = _settings(session, shop_id)
    if not settings["enabled"] or not settings["referrals_enabled"]:
        raise ReferralRefused("code", _("This store does not offer referrals now."))
    advocate = member_by_referral_code(session, shop_id, code or "") if (code or "").strip() else None
    if advocate is None or advocate.status != "active":
        raise ReferralRefused("code", _("This referral code is not valid in this store."))
    try:
        email = normalise_email(friend_email)
    except ValueError:
        raise ReferralRefused("email", _("Enter a valid email address.")) from None
    shop = session.get(Shop, shop_id)
    existing = _referral_of(session, shop_id, email)
    if existing is not None:
        return _again(existing, advocate, shop)
    friend = session.scalar(select(Customer).where(
        Customer.shop_id == shop_id, func.lower(Customer.email) == (friend_email or "").strip().lower(),
        Customer.deleted_at.is_(None)).limit(1))
    if adapter is None:  # asked before writing: on SQLite a token refresh must not wait for our write
        from plugin.shops.service import adapter_for

        adapter = adapter_for(shop)
    key = address_key(shop_id, shipping_address)
    reasons = _join_checks(session, advocate, email, ip, key, settings, now)
    ip_text = (ip or "")[:64] or None
    inserted = insert_ignore(session, Referral.__table__, [{
        "shop_id": shop_id, "advocate_id": advocate.id, "friend_email": email,
        "friend_customer_id": friend.id if friend else None, "ip": ip_text,
        "status": "held" if reasons else "joined", "hold_reasons": reasons, "address_key": key,
        "created_at": now, "updated_at": now}], conflict=["shop_id", "friend_email"], returning=[Referral.id])
    if not inserted:  # the same friend at the same moment: the other request's referral stands
        session.rollback()
        return _again(_referral_of(session, shop_id, email), advocate, shop)
    referral = session.get(Referral, inserted[0].id)
    amount = Decimal(settings["referral_friend_discount"])
    if amount > 0 and "same_email" not in reasons:  # the advocate themselves gets no welcome code
        try:
            made = adapter.create_discount_code(welcome_spec(adapter, amount, friend, friend_email))
        except PlatformRefused as exc:
            session.rollback()
            raise ReferralRefused("email", _(exc.message)) from exc
        except AdapterError as exc:
            session.rollback()
            raise ReferralRefused("code", _("The store could not create this reward. Please contact the store.")) \
                from exc
        referral.welcome_code, referral.welcome_amount = made.code, amount
    session.commit()
    return Welcome(referral.id, referral.welcome_code, amount if referral.welcome_code else Decimal(0),
                   shop.currency, True, held=bool(reasons))


def welcome_spec(adapter, amount: Decimal, friend: Customer | None, friend_email: str) -> DiscountSpec:
    """The friend's single-use welcome code: for their customer account, else for the email they gave
    where the platform can limit a code to an email (see the module's docstring for Shopify)."""
    guest_email = None
    if friend is None and adapter.supports(Capability.EMAIL_RESTRICTED_CODES):
        guest_email = friend_email.strip().lower()
    return DiscountSpec(code="FRIEND-" + "".join(secrets.choice(CODE_ALPHABET) for _i in range(8)),
                        kind=DiscountKind.FIXED_AMOUNT, value=amount, title="Referral welcome reward",
                        customer_platform_id=friend.platform_id if friend else None, customer_email=guest_email,
                        usage_limit=1)


def _referral_of(session: Session, shop_id: int, email: str) -> Referral | None:
    return session.scalar(select(Referral).where(Referral.shop_id == shop_id, Referral.friend_email == email))


def _again(referral: Referral, advocate: LoyaltyMember, shop: Shop) -> Welcome:
    if referral.advocate_id != advocate.id:
        raise ReferralRefused("email", _("Someone else has already invited this friend."))
    return Welcome(referral.id, referral.welcome_code, Decimal(referral.welcome_amount or 0), shop.currency, False,
                   held=referral.status == "held")


def _join_checks(session: Session, advocate: LoyaltyMember, email: str, ip: str | None, key: str | None,
                 settings: dict, now: datetime) -> list[str]:
    reasons = []
    if _maybe_normalised(_customer_email(session, advocate)) == email:
        reasons.append("same_email")
    if key is not None:
        advocate_email = _maybe_normalised(_customer_email(session, advocate))
        same = session.scalar(select(Referral.id).where(
            Referral.shop_id == advocate.shop_id, Referral.address_key == key,
            or_(Referral.advocate_id == advocate.id, Referral.friend_email == advocate_email)).limit(1))
        if same is not None:
            reasons.append("same_address")
    if ip:
        recent = session.scalar(select(func.count()).select_from(Referral).where(
            Referral.shop_id == advocate.shop_id, Referral.ip == ip[:64], Referral.created_at > now - IP_WINDOW))
        if recent >= settings["referral_ip_limit"]:
            reasons.append("ip_limit")
    return reasons


# -- the friend's orders ---------------------------------------------------------------------------

def on_orders(session: Session, events: list) -> None:
    """The subscriber ``loyalty.referrals``, a batch one: ``on_order`` for a run of the shop's order
    events. Most orders are no referred friend's: one statement reads the run's orders, one finds the
    referrals any of them may concern (by the friend's email or customer, or as the friend's first
    order), and only those orders' events are handled, in order."""
    shop_id = events[0].shop_id
    current = [e for e in events if not getattr(e.data, "historical", False)]
    if not current:
        return
    orders = list(session.scalars(select(Order).where(Order.shop_id == shop_id,
                                                      Order.id.in_({e.data.order_id for e in current}))))
    if not orders:
        return
    emails = {_maybe_normalised(o.email) for o in orders if o.email} - {None, ""}
    customers = {o.customer_id for o in orders if o.customer_id is not None}
    concerned = [Referral.order_id.in_([o.id for o in orders])]
    if emails:
        concerned.append(Referral.friend_email.in_(emails))
    if customers:
        concerned.append(Referral.friend_customer_id.in_(customers))
    found = session.execute(select(Referral.friend_email, Referral.friend_customer_id, Referral.order_id).where(
        Referral.shop_id == shop_id, or_(*concerned))).all()
    if not found:
        return
    emails = {row.friend_email for row in found}
    customers = {row.friend_customer_id for row in found}
    first_orders = {row.order_id for row in found}
    chosen = {o.id for o in orders if o.id in first_orders or o.customer_id in customers
              or (o.email and _maybe_normalised(o.email) in emails)}
    for event in current:
        if event.data.order_id in chosen:
            on_order(session, event)


def on_order(session: Session, event) -> None:
    """The subscriber ``loyalty.referrals``: writes in the event's transaction, never commits."""
    data = event.data
    if getattr(data, "historical", False):
        return
    order = session.get(Order, data.order_id)
    if order is None or order.shop_id != event.shop_id:
        return
    if event.name == "OrderPaid":
        first_order(session, order)
    else:
        order_returned(session, order)


def first_order(session: Session, order: Order, now: datetime | None = None) -> Referral | None:
    """A paid order of a referred friend: the first one rewards the advocate (pending) or holds it."""
    if not is_paid_order(order):
        return None
    email = _maybe_normalised(order.email)
    matches = [Referral.friend_email == email] if email else []
    if order.customer_id is not None:
        matches.append(Referral.friend_customer_id == order.customer_id)
    if not matches:
        return None
    referral = session.scalar(select(Referral).where(
        Referral.shop_id == order.shop_id, or_(*matches), Referral.order_id.is_(None),
        Referral.status.in_(("joined", "held"))).order_by(Referral.id).limit(1).with_for_update())
    if referral is None:
        return None
    advocate = session.get(LoyaltyMember, referral.advocate_id)
    referral.order_id = order.id
    if referral.friend_customer_id is None and order.customer_id is not None and \
            order.customer_id != advocate.customer_id:
        referral.friend_customer_id = order.customer_id
    # held already: its reasons stay and new ones add up; joined (never held, or approved by the merchant)
    reasons = list(referral.hold_reasons or []) if referral.status == "held" else []
    if referral.reviewed_by is None:  # a merchant who approved it already is not asked twice
        if order.customer_id is not None and order.customer_id == advocate.customer_id:
            reasons.append("advocate_ordered")
        if email and email == _maybe_normalised(_customer_email(session, advocate)) and "same_email" not in reasons:
            reasons.append("same_email")
    if reasons:
        referral.status, referral.hold_reasons = "held", reasons
        return referral
    _reward(session, referral, advocate, order, now or utcnow())
    return referral


def _reward(session: Session, referral: Referral, advocate: LoyaltyMember, order: Order, now: datetime) -> None:
    settings = _settings(session, referral.shop_id)
    points = int(settings["referral_advocate_points"])
    if points <= 0:
        referral.status = "rewarded"
        return
    settle_after = (order.paid_at or order.created_at) + timedelta(days=int(settings["pending_days"]))
    pending = settle_after > now
    ledger.credit(session, advocate, points, source="referral", source_id=str(referral.id), reason=REASON,
                  pending_until=settle_after if pending else None, order_id=order.id, now=now)
    referral.status = "ordered" if pending else "rewarded"


def _entry(session: Session, referral: Referral) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(
        LedgerEntry.shop_id == referral.shop_id, LedgerEntry.source == "referral",
        LedgerEntry.source_id == str(referral.id), LedgerEntry.kind == "credit"))


def order_returned(session: Session, order: Order, now: datetime | None = None) -> Referral | None:
    """A refund or cancellation of a friend's first order: fully refunded or cancelled while the
    advocate's points are pending, they are reversed and the referral rejected."""
    referral = session.scalar(select(Referral).where(Referral.shop_id == order.shop_id,
                                                     Referral.order_id == order.id).with_for_update())
    if referral is None or referral.status != "ordered":
        return None
    returned = order.cancelled_at is not None or order.financial_status in ("refunded", "voided") or \
        Decimal(order.total_refunded or 0) >= Decimal(order.total)
    if not returned:
        return None
    entry = _entry(session, referral)
    if entry is not None and entry.state == "pending":
        ledger.settle(session, entry, "reversed", now=now)
        referral.status = "rejected"
        referral.hold_reasons = [*(referral.hold_reasons or []), "order_returned"]
    return referral


def approve_referrals(session: Session, shop_id: int, now: datetime | None = None) -> list[int]:
    """Approve the advocates' points whose pending period passed, and mark those referrals rewarded
    (also those whose points the engine's approval job approved already). Returns the referrals'
    ids; in the caller's session."""
    now = now or utcnow()
    done = []
    for referral in session.scalars(select(Referral).where(Referral.shop_id == shop_id,
                                                           Referral.status == "ordered").order_by(Referral.id)):
        entry = _entry(session, referral)
        if entry is None:
            continue
        if entry.state == "pending" and entry.settle_after is not None and entry.settle_after <= now:
            ledger.settle(session, entry, "approved", now=now)
        if entry.state == "approved":
            referral.status = "rewarded"
            done.append(referral.id)
    return done


def run_approvals(db, shop_id: int, now: datetime | None = None) -> list[int]:
    """``approve_referrals`` for one shop, committed (the use case of the job)."""
    with db.uow() as session:
        done = approve_referrals(session, shop_id, now)
        session.commit()
    return done


def request_approvals(db, queue) -> int:
    """An approval job for each shop with referrals whose advocate's points are pending."""
    with db.uow() as session:
        shop_ids = session.scalars(select(Referral.shop_id).where(Referral.status == "ordered").distinct()).all()
        for shop_id in shop_ids:
            queue.enqueue(session, "loyalty.approve_referrals", {"shop_id": shop_id}, shop_id=shop_id)
        session.commit()
    return len(shop_ids)


def approve_referrals_job(shop_id: int) -> dict:
    """The queue job ``loyalty.approve_referrals``."""
    from flask import current_app

    return {"rewarded": len(run_approvals(current_app.extensions["storecare.db"], shop_id))}


def approve_everywhere() -> int:
    """Hourly (a periodic task): ``request_approvals``."""
    from flask import current_app

    return request_approvals(current_app.extensions["storecare.db"], current_app.extensions["storecare.queue"])


# -- the merchant's review -------------------------------------------------------------------------

def held_referrals(session: Session, shop_id: int) -> list[dict]:
    """The review queue, oldest first: ``{"id", "advocate_id", "advocate_email", "friend_email",
    "hold_reasons", "order_id", "ip", "created_at"}``."""
    rows = session.execute(select(Referral, Customer.email).join(
        LoyaltyMember, LoyaltyMember.id == Referral.advocate_id).outerjoin(
        Customer, Customer.id == LoyaltyMember.customer_id).where(
        Referral.shop_id == shop_id, Referral.status == "held").order_by(Referral.created_at, Referral.id))
    return [{"id": r.id, "advocate_id": r.advocate_id, "advocate_email": advocate_email,
             "friend_email": r.friend_email, "hold_reasons": list(r.hold_reasons or []), "order_id": r.order_id,
             "ip": r.ip, "created_at": r.created_at} for r, advocate_email in rows]


def review(session: Session, shop_id: int, referral_id: int, approve: bool, actor: str,
           now: datetime | None = None) -> Referral:
    """The merchant's decision on a held referral, in the caller's session. Approved: if the friend
    ordered already (and the order still stands) the advocate is credited, pending until the order's
    pending period passes; if not yet, the referral waits for the order without being checked again.
    Rejected: nothing is credited, ever."""
    referral = session.scalar(select(Referral).where(Referral.shop_id == shop_id, Referral.id == referral_id)
                              .with_for_update())
    if referral is None or referral.status != "held":
        raise ReferralRefused("id", _("This referral is not waiting for review."))
    referral.reviewed_by = actor
    if not approve:
        referral.status = "rejected"
        return referral
    order = session.get(Order, referral.order_id) if referral.order_id else None
    if order is None:
        referral.status = "joined"
        referral.order_id = None
    elif is_paid_order(order) and Decimal(order.total_refunded or 0) < Decimal(order.total):
        _reward(session, referral, session.get(LoyaltyMember, referral.advocate_id), order, now or utcnow())
    else:
        referral.status = "rejected"
        referral.hold_reasons = [*(referral.hold_reasons or []), "order_returned"]
    return referral
