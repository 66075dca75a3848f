"""Redeeming a reward: the one use case the storefront, the commands and the tests call.

``redeem(db, shop_id, member_id, reward_id, key=..., points=None)`` runs in three steps, each a
transaction of its own (or none):

a. the checks (the program on, the member and the reward of the shop, the reward visible to the
   member, the points allowed, the balance), then a ``Redemption`` (unique per (shop, member, key)) and
   its ledger debit (``spent``, source ``redemption``, the redemption's id) written and committed
   together. The ledger locks the member's row and refuses a debit beyond the approved balance, so of
   many redemptions racing for one balance only those it covers are written.
b. outside any transaction, the platform makes the code (``create_discount_code``: single use, for
   that customer, with the reward's minimum order, products or collections, expiry and
   combinability) or adds the store credit (``issue_store_credit``, keyed by the redemption). The code
   text and the expiry are fixed in step (a) from the redemption, so asking again after a lost answer
   asks for the same code and gets it, never a second one.
c. the answer is recorded: ``issued`` with the code; a refusal gives the points back (the spent entry
   becomes ``reversed``), marks the redemption ``refused`` with the shopper-readable reason and raises
   ``RedemptionRefused``. A transient platform error leaves the redemption ``pending``: the same key
   again (or ``finish_pending``, run by a job) continues at step (b).

A retry with the same key returns the first redemption and debits nothing again (a refused one is
refused again with its reason).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from adapters.base import DiscountClass, DiscountKind, DiscountSpec, StoreCreditSpec
from adapters.errors import AdapterError, PermissionMissing, PlatformRefused, Unsupported
from adapters.messages import N_
from plugin.db import utcnow
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member, member_by_email, member_of_customer
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Redemption, Reward
from plugin.loyalty.publishing import request_publish
from plugin.loyalty.rewards import CENT, a_reward_id, variable_value, visible_to
from plugin.loyalty.settings import program
from plugin.shops.models import Shop
from plugin.sync.models import Customer, Order
from plugin.upsert import insert_ignore

log = logging.getLogger(__name__)

CODE_PREFIX = "LOYAL-"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
DEFAULT_EXPIRY_DAYS = 90  # a code without the reward's own expiry
PENDING_AFTER = timedelta(minutes=5)  # finish_pending takes up redemptions older than this
# The reason a redemption's ledger entry gives (translated where shown).
SPENT_REASON = N_("Reward: %(reward)s")
# What the shopper reads when the platform failed in a way that is no refusal of the reward as such.
STORE_FAILED = N_("The store could not create this reward. Please contact the store.")


class RedemptionRefused(Exception):
    """Refused: ``field`` names the input at fault (reward, points, member, program), ``message`` says
    why in the current locale's language. Nothing was debited (or the points were given back)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class _Plan:
    """What a redemption asks the platform for, read in step (a) and used outside the transaction."""

    redemption_id: int
    shop: Shop
    customer_platform_id: str | None
    reward: Reward | None


def redeem(db, shop_id: int, member_id: int, reward_id: int, *, key: str, points: int | None = None) -> Redemption:
    """Spend the member's points on the reward and get its code (or store credit) from the platform.

    Returns the redemption (``issued``, or ``pending`` if the platform could not be reached: the same
    key again finishes it). Raises ``RedemptionRefused`` when it is refused, before anything is written
    or after the platform refused (the points given back)."""
    key = (key or "").strip()
    if not key or len(key) > 128:
        raise ValueError("a redemption needs a key of 1 to 128 characters")
    with db.uow() as session:
        existing = _by_key(session, shop_id, member_id, key)
        if existing is None:
            existing = _spend(session, shop_id, member_id, reward_id, key, points)
            session.commit()
        if existing.status == "refused":
            raise RedemptionRefused("reward", gettext(existing.refusal or STORE_FAILED))
        if existing.status != "pending":
            return existing
        plan = _plan(session, existing)
    return _ask_platform(db, plan)


def finish_pending(db, older_than: timedelta = PENDING_AFTER, limit: int = 100) -> int:
    """Ask the platform again for redemptions left ``pending`` longer than ``older_than`` (their
    shopper went away after a transient error). Returns how many were finished (issued or refused)."""
    finished = 0
    with db.uow() as session:
        waiting = list(session.scalars(select(Redemption).where(
            Redemption.status == "pending", Redemption.created_at < utcnow() - older_than)
            .order_by(Redemption.id).limit(limit)))
        plans = [_plan(session, r) for r in waiting]
    for plan in plans:
        try:
            done = _ask_platform(db, plan)
        except RedemptionRefused:
            finished += 1
            continue
        finished += done.status != "pending"
    return finished


FINISH_JOB = "loyalty.finish_redemptions"


def finish_pending_job() -> None:
    """The job (plugin/loyalty/feature.py): ``finish_pending``."""
    from plugin.extensions import db

    finish_pending(db)


def schedule_finish_pending() -> None:
    """Every few minutes (the worker's schedule): ``request_finish_pending``."""
    from plugin.extensions import db, queue

    request_finish_pending(db, queue)


def request_finish_pending(db, queue) -> bool:
    """Queue the job if a redemption waits for the platform longer than ``PENDING_AFTER``; commits."""
    with db.uow() as session:
        waiting = session.scalar(select(Redemption.id).where(
            Redemption.status == "pending", Redemption.created_at < utcnow() - PENDING_AFTER).limit(1))
        if waiting is None:
            return False
        queue.enqueue(session, FINISH_JOB, {})
        session.commit()
        return True


def enrolled_member(db, shop_id: int, customer_id: int | None, *, enrol: bool = True) -> LoyaltyMember | None:
    """The customer's member in the shop; with auto-enrolment (and ``enrol``), a customer who is not
    one yet becomes a member now (committed). None: no customer, or not joined under opt-in."""
    if customer_id is None:
        return None
    with db.uow() as session:
        member = member_of_customer(session, shop_id, customer_id)
        if member is None and enrol and program(session, shop_id)["enrolment"] == "auto":
            exists = session.scalar(select(Customer.id).where(Customer.shop_id == shop_id, Customer.id == customer_id,
                                                              Customer.deleted_at.is_(None)))
            if exists is not None:
                member = ensure_member(session, shop_id, customer_id)
                session.commit()
        return member


def member_id_for_email(db, shop_id: int, email: str) -> int | None:
    """The id of the member with ``email`` in the shop (a customer enrolled now with auto-enrolment)."""
    with db.uow() as session:
        member = member_by_email(session, shop_id, email)
        if member is not None:
            return member.id
        customer_id = session.scalar(select(Customer.id).where(
            Customer.shop_id == shop_id, func.lower(Customer.email) == email.strip().lower(),
            Customer.deleted_at.is_(None)).order_by(Customer.id).limit(1))
    member = enrolled_member(db, shop_id, customer_id)
    return member.id if member is not None else None


def redemptions_of(session: Session, shop_id: int, member_id: int, limit: int = 50) -> list[Redemption]:
    """The member's redemptions that gave a code or credit, newest first."""
    return list(session.scalars(select(Redemption).where(
        Redemption.shop_id == shop_id, Redemption.member_id == member_id,
        Redemption.status.in_(("issued", "used"))).order_by(Redemption.id.desc()).limit(limit)))


def code_for(shop_id: int, member_id: int, key: str) -> str:
    """The code a redemption asks for: derived from what identifies it (shop, member, key) with the
    app's secret, so it cannot be guessed and a retry asks for the same code."""
    secret = str(current_app.config.get("SECRET_KEY") or "storecare").encode()
    digest = hmac.new(secret, f"loyalty:{shop_id}:{member_id}:{key}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return CODE_PREFIX + "".join(chars)


# -- step (a): the checks, the redemption and its debit, in one transaction -----------------------

def _by_key(session: Session, shop_id: int, member_id: int, key: str) -> Redemption | None:
    return session.scalar(select(Redemption).where(Redemption.shop_id == shop_id, Redemption.member_id == member_id,
                                                   Redemption.key == key))


def _spend(session: Session, shop_id: int, member_id: int, reward_id: int, key: str,
           points: int | None) -> Redemption:
    if not program(session, shop_id)["enabled"]:
        raise RedemptionRefused("program", gettext("The loyalty program is not running in this store."))
    # The member's row locked first (PostgreSQL): the redemption's and the entry's foreign keys would
    # otherwise share-lock it before the ledger asks for it, and two redemptions would deadlock.
    member = session.scalar(select(LoyaltyMember).where(LoyaltyMember.shop_id == shop_id,
                                                        LoyaltyMember.id == member_id).with_for_update()
                            .execution_options(populate_existing=True))
    if member is None or member.status != "active":
        raise RedemptionRefused("member", gettext("You are not a member of the loyalty program."))
    reward = session.scalar(select(Reward).where(Reward.shop_id == shop_id, Reward.id == reward_id)) \
        if a_reward_id(reward_id) else None
    if reward is None or not reward.active:
        raise RedemptionRefused("reward", gettext("This reward does not exist."))
    if not visible_to(session, reward, member):
        raise RedemptionRefused("reward", gettext("This reward is not available to you."))
    cost, value = _price(reward, points)
    if member.approved < cost:
        raise _too_few(cost - member.approved)
    now = utcnow().replace(microsecond=0)  # whole seconds: a platform keeps the expiry as it was asked
    days = reward.code_expiry_days or DEFAULT_EXPIRY_DAYS
    shop = session.get(Shop, shop_id)
    row = {"shop_id": shop_id, "member_id": member.id, "reward_id": reward.id, "key": key, "points": cost,
           "kind": reward.kind, "value": value, "currency": shop.currency, "code": code_for(shop_id, member.id, key)
           if reward.kind != "store_credit" else None, "status": "pending", "expires_at": now + timedelta(days=days),
           "created_at": now}
    inserted = insert_ignore(session, Redemption.__table__, [row], conflict=["shop_id", "member_id", "key"],
                             returning=[Redemption.id])
    if not inserted:  # the same key at the same moment: the other request's redemption
        session.rollback()
        return _by_key(session, shop_id, member_id, key)
    redemption = session.get(Redemption, inserted[0].id)
    try:
        ledger.debit(session, member, cost, state="spent", source="redemption", source_id=str(redemption.id),
                     reason=SPENT_REASON, reason_params={"reward": reward.name})
    except ledger.InsufficientPoints as exc:
        session.rollback()
        raise _too_few(exc.asked - exc.available) from None
    return redemption


def _price(reward: Reward, points: int | None) -> tuple[int, object]:
    """The points the redemption costs and the money (or percentage) it is worth."""
    if reward.kind != "variable":
        if points is not None and points != reward.cost:
            raise RedemptionRefused("points", ngettext("This reward costs %(num)d point.",
                                                       "This reward costs %(num)d points.", reward.cost))
        return reward.cost, reward.value
    low, high, step = reward.min_points or reward.cost, reward.max_points or reward.cost, reward.cost
    if isinstance(points, bool) or not isinstance(points, int) or not low <= points <= high or points % step:
        raise RedemptionRefused("points", gettext("Choose from %(low)d to %(high)d points, in steps of %(step)d.",
                                                  low=low, high=high, step=step))
    return points, variable_value(reward, points)


def _too_few(missing: int) -> RedemptionRefused:
    return RedemptionRefused("points", ngettext("You need %(num)d more point.", "You need %(num)d more points.",
                                                missing))


def _plan(session: Session, redemption: Redemption) -> _Plan:
    member = session.get(LoyaltyMember, redemption.member_id)
    customer = session.scalar(select(Customer).where(Customer.shop_id == redemption.shop_id,
                                                     Customer.id == member.customer_id))
    reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
    return _Plan(redemption.id, session.get(Shop, redemption.shop_id),
                 customer.platform_id if customer is not None else None, reward)


# -- step (b): the platform, outside any transaction; (c): its answer -----------------------------

def _ask_platform(db, plan: _Plan) -> Redemption:
    from plugin.shops.service import ShopError, adapter_for

    with db.uow() as session:
        redemption = session.get(Redemption, plan.redemption_id)
    try:
        if plan.reward is None or plan.customer_platform_id is None:
            raise PlatformRefused(STORE_FAILED, PlatformRefused.INVALID, "the reward or the customer is gone")
        adapter = adapter_for(plan.shop)
        if redemption.kind == "store_credit":
            credit = adapter.issue_store_credit(StoreCreditSpec(
                key=f"loyalty-redemption-{redemption.id}", customer_platform_id=plan.customer_platform_id,
                amount=_cents(redemption.value), currency=redemption.currency or plan.shop.currency,
                expires_at=redemption.expires_at if plan.reward.code_expiry_days else None))
            code, platform_id = None, credit.platform_id
        else:
            made = adapter.create_discount_code(_discount_spec(redemption, plan))
            code, platform_id = made.code, made.platform_id
    except (PlatformRefused, Unsupported, PermissionMissing, ShopError) as exc:
        return _refused(db, redemption, getattr(exc, "message", "") or STORE_FAILED)
    except AdapterError as exc:
        if exc.transient:
            log.warning("redemption %s waits: the platform did not answer (%s)", redemption.id, exc)
            return redemption
        log.warning("redemption %s refused: %s", redemption.id, exc)
        return _refused(db, redemption, STORE_FAILED)
    with db.uow() as session:
        session.execute(update(Redemption).where(Redemption.id == redemption.id, Redemption.status == "pending")
                        .values(status="issued", code=code or redemption.code, platform_id=platform_id)
                        .execution_options(synchronize_session=False))
        request_publish(session, redemption.shop_id)  # the member's balance on the platform
        session.commit()
        return session.get(Redemption, redemption.id)


def _discount_spec(redemption: Redemption, plan: _Plan) -> DiscountSpec:
    reward = plan.reward
    kind = {"fixed_amount": DiscountKind.FIXED_AMOUNT, "variable": DiscountKind.FIXED_AMOUNT,
            "percentage": DiscountKind.PERCENTAGE, "free_shipping": DiscountKind.FREE_SHIPPING,
            "free_product": DiscountKind.FREE_PRODUCT}[redemption.kind]
    limited = kind in (DiscountKind.FIXED_AMOUNT, DiscountKind.PERCENTAGE)
    return DiscountSpec(
        code=redemption.code, kind=kind,
        value=_cents(redemption.value) if limited else 0,
        title=f"Loyalty reward: {reward.name}"[:255],
        customer_platform_id=plan.customer_platform_id, ends_at=redemption.expires_at,
        minimum_subtotal=_cents(reward.min_order) if reward.min_order else None, usage_limit=1,
        product_ids=(reward.free_product_id,) if kind is DiscountKind.FREE_PRODUCT
        else tuple(reward.product_ids or ()) if limited else (),
        collection_ids=tuple(reward.collection_ids or ()) if limited else (),
        shipping_cap=_cents(redemption.value) if kind is DiscountKind.FREE_SHIPPING and redemption.value > 0 else None,
        combines_with=frozenset(DiscountClass(c) for c in reward.combines_with or ()))


def _cents(amount: Decimal) -> Decimal:
    """Money (and percentages) as platforms take them: to the cent ("10.00", not our column's "10.0000")."""
    return Decimal(amount).quantize(CENT)


def _refused(db, redemption: Redemption, message: str) -> Redemption:
    """The platform refused: the points back, the redemption ``refused`` with the reason; raises."""
    with db.uow() as session:
        moved = session.execute(update(Redemption).where(
            Redemption.id == redemption.id, Redemption.status == "pending",
        ).values(status="refused", refusal=message).execution_options(synchronize_session=False)).rowcount
        if moved:
            entry = session.scalar(select(LedgerEntry).where(
                LedgerEntry.shop_id == redemption.shop_id, LedgerEntry.source == "redemption",
                LedgerEntry.source_id == str(redemption.id), LedgerEntry.kind == "debit"))
            if entry is not None:
                ledger.give_back(session, entry)
            session.commit()
        current = session.get(Redemption, redemption.id)
    if current.status != "refused":  # finished meanwhile by another attempt
        return current
    raise RedemptionRefused("reward", gettext(current.refusal or STORE_FAILED))



# -- a code used by an order ----------------------------------------------------------------------

def mark_used_in_run(session: Session, events: list) -> None:
    """Subscriber ``loyalty.rewards_used``, a batch one: ``mark_used`` for a run of the shop's paid
    orders. Most orders use no code of ours, so one statement reads the run's orders' codes and one
    finds which of them are redemptions still to be used; only those orders are marked, in order."""
    shop_id = events[0].shop_id
    order_ids = [event.payload.get("order_id") for event in events]
    codes_of = {order_id: _codes(codes) for order_id, codes in session.execute(
        select(Order.id, Order.discount_codes).where(Order.shop_id == shop_id, Order.id.in_(
            [i for i in order_ids if isinstance(i, int)])))}
    wanted = set().union(*codes_of.values()) if codes_of else set()
    if not wanted:
        return
    ours = set(session.scalars(select(Redemption.code).where(
        Redemption.shop_id == shop_id, Redemption.code.in_(wanted), Redemption.status.in_(("issued", "pending")))))
    if not ours:
        return
    for event in events:
        if codes_of.get(event.payload.get("order_id"), set()) & ours:
            mark_used(session, event)


def _codes(discount_codes) -> set[str]:
    return {str(code).strip().upper() for code in discount_codes or () if str(code).strip()}


def mark_used(session: Session, event) -> None:
    """Subscriber ``loyalty.rewards_used`` (OrderPaid): a redemption of the shop whose code the order
    used (compared without regard to case, as checkouts do) becomes ``used`` by that order. The
    payload carries no codes: they are read from the mirror's order. Once: a redemption already used
    is left as it is, so the event handled again changes nothing. Writes in ``session``, never commits."""
    order = session.scalar(select(Order).where(Order.shop_id == event.shop_id,
                                               Order.id == event.payload.get("order_id")))
    codes = _codes(order.discount_codes) if order is not None else set()
    if not codes:
        return
    session.execute(update(Redemption).where(
        Redemption.shop_id == event.shop_id, Redemption.code.in_(codes),
        Redemption.status.in_(("issued", "pending")),
    ).values(status="used", used_order_id=order.id, used_at=order.paid_at or order.created_at or utcnow())
        .execution_options(synchronize_session=False))
