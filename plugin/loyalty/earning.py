"""Earning from the shop's events: the ``loyalty.points`` subscriber (one, so a shop's order events
reach it in their order) and the rules it applies.

**Which orders earn.** An order paid while the program is on, in the shop's currency (an order booked in
another currency earns nothing: a line in the log says so), not historical (what happened before the
shop installed Storecare is the import's: plugin/loyalty/importing.py). Its customer is the order's, or
for a guest order the shop's customer with the order's email (case aside). With automatic enrolment
that customer becomes a member; with opt-in only a member earns.

**How much** (plugin/loyalty/points.py rounds, once, at the end):

- the amount: the order's total, less shipping unless the program counts it, less tax unless it counts
  it; shipping is taken as ``total - subtotal - tax`` (never below 0), so with prices that include tax
  it is an estimate;
- product multipliers: each line's share of that amount counts times its product's multiplier (0: the
  product earns nothing);
- times the highest multiplier of the bonus campaigns running on the day the order was paid (in the
  shop's time zone), times the earn multiplier of the member's tier;
- ``earn_points`` per ``earn_per`` of that, rounded down to a whole point; plus ``first_order_points``
  on the customer's first order (no earlier order of theirs in the mirror), once per member.

**Pending.** Order points are ``pending``: until the order is fulfilled without a date, then until
fulfilment + ``pending_days`` (``settle_after``); the approval job (plugin/loyalty/tasks.py) approves
them after that.

**Refunds, cancellation, deletion.** What an order still holds (its credits, pending or approved, less
what was taken back) is brought down to its share of the order not refunded: the points credited for
it times ``1 - total_refunded / total``, the share taken back rounded up (``points.share_of``); a
cancellation or a deletion brings it to 0. Pending points of the order are settled ``reversed`` whole
(an entry's points never change) and what the order keeps is credited again as a new pending entry
(``source_id`` "<order>:<refund>", kind ``rest``) with the same ``settle_after``; approved points are
taken back by a ``reversed`` debit (source ``refund``), which takes what the approved balance holds
and records the rest as owed (taken from the next credits). Computed from totals, a refund handled
twice takes nothing more; every entry also has its unique key.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from adapters.messages import N_
from plugin.db import utcnow
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_members
from plugin.loyalty.models import LedgerEntry, LoyaltyMember
from plugin.loyalty.points import points_for, share_of
from plugin.loyalty.publishing import request_publish
from plugin.loyalty.settings import program
from plugin.loyalty.tiers import earn_multiplier
from plugin.shops.models import Shop
from plugin.sync import payloads
from plugin.sync.models import Customer, Order

log = logging.getLogger(__name__)

EVENTS = ("OrderPaid", "OrderRefunded", "OrderCancelled", "OrderFulfilled", "OrderDeleted", "CustomerCreated")
ORDER_SOURCES = ("order", "first_order", "import", "refund")

REASON_ORDER = N_("Points for order %(number)s")
REASON_FIRST_ORDER = N_("Bonus for your first order %(number)s")
REASON_REST = N_("Points kept for order %(number)s after a refund")
REASON_REFUND = N_("Points taken back: order %(number)s was refunded")
REASON_CANCELLED = N_("Points taken back: order %(number)s was cancelled")
REASON_SIGNUP = N_("Welcome to the program")


def handle(session: Session, events: list) -> None:
    """The ``loyalty.points`` subscriber, a batch one: the shop's next events in their order, in the
    dispatcher's transaction; never commits. The customers who joined and the orders paid between two
    other events are handled at once (``members_for``, ``orders_paid``), the other events one by one,
    in their place."""
    shop_id = events[0].shop_id
    settings = program(session, shop_id)
    if not settings["enabled"]:
        return
    publish, joined, paid = False, set(), []

    def run() -> bool:  # the customers who joined (with their sign-up points), then the orders paid
        members_for(session, shop_id, joined, settings)
        orders_paid(session, shop_id, paid, settings)
        done = bool(paid or joined)
        joined.clear()
        paid.clear()
        return done

    for event in events:
        data = event.data
        if data.historical:
            continue  # history is the import's, when the program is turned on
        if event.name == "OrderPaid":
            paid.append(data)
        elif event.name == "CustomerCreated":
            if settings["enrolment"] == "auto":  # with opt-in a customer joins from the widget
                joined.add(data.customer_id)
        else:
            publish = run() or publish
            publish = _handle_one(session, event, data, settings) or publish
    publish = run() or publish
    if publish:
        request_publish(session, shop_id)  # the approved balance may have changed (coalesced per shop)


def _handle_one(session: Session, event, data, settings: dict) -> bool:
    """An order's later event (fulfilled, refunded, cancelled, deleted); returns whether balances may
    have changed."""
    if event.name == "OrderFulfilled":
        order_fulfilled(session, event.shop_id, data, settings)
        return False
    if event.name == "OrderRefunded":
        take_back(session, event.shop_id, data.order_id, data.order_number, key=data.refund_platform_id,
                  refunded=Decimal(data.total_refunded), total=Decimal(data.total))
    else:  # OrderCancelled, OrderDeleted
        take_back(session, event.shop_id, data.order_id, data.order_number, key=f"{event.name}:{data.order_id}",
                  refunded=None, total=Decimal(data.total))
    return True


# -- enrolment

def guest_customer(session: Session, shop_id: int, email: str | None) -> int | None:
    """For a guest order: the shop's customer with the order's email (case aside)."""
    if not email:
        return None
    return session.scalar(select(Customer.id).where(
        Customer.shop_id == shop_id, func.lower(Customer.email) == email.strip().lower(),
        Customer.deleted_at.is_(None)).order_by(Customer.id).limit(1))


def members_for(session: Session, shop_id: int, customer_ids: set[int], settings: dict) -> dict[int, LoyaltyMember]:
    """The customers' memberships by customer id: with automatic enrolment every one of them (made now
    if need be, with its sign-up points); with opt-in the active members among them."""
    found = {m.customer_id: m for m in session.scalars(select(LoyaltyMember).where(
        LoyaltyMember.shop_id == shop_id, LoyaltyMember.customer_id.in_(customer_ids)))} if customer_ids else {}
    if settings["enrolment"] != "auto":
        return {c: m for c, m in found.items() if m.status == "active"}
    found.update(ensure_members(session, shop_id, customer_ids - set(found)))
    if settings["signup_points"] > 0 and found:  # a member enrolled without them (or just now) gets them
        welcomed = set(session.scalars(select(LedgerEntry.source_id).where(
            LedgerEntry.shop_id == shop_id, LedgerEntry.source == "signup",
            LedgerEntry.source_id.in_([str(m.id) for m in found.values()]))))
        ledger.credit_many(session, [_signup(m, settings) for m in found.values() if str(m.id) not in welcomed])
    return found


def signup_bonus(session: Session, member: LoyaltyMember, settings: dict) -> None:
    if settings["signup_points"] > 0:
        ledger.credit_many(session, [_signup(member, settings)])


def _signup(member: LoyaltyMember, settings: dict) -> ledger.Credit:
    return ledger.Credit(member, settings["signup_points"], source="signup", source_id=str(member.id),
                         reason=REASON_SIGNUP)


# -- the rules

def earning_amount(data: payloads.OrderPaid, settings: dict) -> Decimal:
    """The money an order earns on, before multipliers (see the module's docstring)."""
    total, subtotal, tax = Decimal(data.total), Decimal(data.subtotal), Decimal(data.total_tax)
    amount = total
    if not settings["include_shipping"]:
        amount -= max(Decimal(0), total - subtotal - tax)
    if not settings["include_tax"]:
        amount -= tax
    return max(Decimal(0), amount)


def product_factor(data: payloads.OrderPaid, settings: dict) -> Decimal:
    """The lines' weighted multiplier: 1 without product multipliers (or lines)."""
    multipliers = {m["product_id"]: Decimal(m["multiplier"]) for m in settings["multipliers"]}
    if not multipliers or not data.line_items:
        return Decimal(1)
    whole = sum((Decimal(li.total) for li in data.line_items), Decimal(0))
    if whole <= 0:
        return Decimal(1)
    weighted = sum((Decimal(li.total) * multipliers.get(li.product_id or "", Decimal(1)) for li in data.line_items),
                   Decimal(0))
    return weighted / whole


def campaign_factor(settings: dict, day: date) -> Decimal:
    """The highest multiplier of the campaigns running on ``day`` (1 without one)."""
    running = [Decimal(c["multiplier"]) for c in settings["campaigns"] if c["starts_on"] <= day <= c["ends_on"]]
    return max(running, default=Decimal(1))


def shop_day(shop: Shop, moment: datetime | None) -> date:
    moment = moment or utcnow()
    try:
        zone = ZoneInfo(shop.timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


def order_points(session: Session, member: LoyaltyMember, shop: Shop, data: payloads.OrderPaid,
                 settings: dict) -> int:
    factor = product_factor(data, settings) * campaign_factor(settings, shop_day(shop, _when(data.occurred_at)))
    return points_for(earning_amount(data, settings) * factor, settings["earn_points"], settings["earn_per"],
                      earn_multiplier(session, member))


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# -- the events

def orders_paid(session: Session, shop_id: int, paid: list[payloads.OrderPaid], settings: dict) -> None:
    """Credit a run of paid orders, reading what they need (imports, orders, members, first orders) in
    one query each and writing every credit together (``ledger.credit_many``)."""
    shop = session.get(Shop, shop_id)
    for data in paid:
        if data.currency != shop.currency:
            log.info("shop %s: order %s is in %s, not the shop's %s: it earns no points",
                     shop_id, data.order_number, data.currency, shop.currency)
    ids = [d.order_id for d in paid if d.currency == shop.currency]
    if not ids:
        return
    imported = set(session.scalars(select(LedgerEntry.order_id).where(
        LedgerEntry.shop_id == shop_id, LedgerEntry.order_id.in_(ids), LedgerEntry.source == "import")))
    orders = {o.id: o for o in session.execute(select(Order.id, Order.email, Order.fulfilled_at, Order.created_at)
                                               .where(Order.shop_id == shop_id, Order.id.in_(ids)))}
    buyers = {}  # order id -> customer id: the order's, or for a guest order the customer with its email
    for data in paid:
        if data.order_id in ids and data.order_id not in imported:  # imported with the shop's history already
            order = orders.get(data.order_id)
            buyers[data.order_id] = data.customer_id if data.customer_id is not None else \
                guest_customer(session, shop_id, order.email if order is not None else None)
    members = members_for(session, shop_id, {c for c in buyers.values() if c is not None}, settings)
    first = _first_orders(session, shop_id, {o: c for o, c in buyers.items() if c in members}, orders) \
        if settings["first_order_points"] > 0 else set()
    credits = []
    for data in paid:
        member = members.get(buyers.get(data.order_id))
        if member is None:
            continue
        order = orders.get(data.order_id)
        settle_after = None
        if order is not None and order.fulfilled_at is not None:
            settle_after = order.fulfilled_at + timedelta(days=settings["pending_days"])
        points = order_points(session, member, shop, data, settings)
        params = {"number": data.order_number}
        if points > 0:
            credits.append(ledger.Credit(member, points, source="order", source_id=str(data.order_id),
                                         reason=REASON_ORDER, reason_params=params, order_id=data.order_id,
                                         amount=Decimal(data.total), pending=True, pending_until=settle_after))
        if data.order_id in first:
            credits.append(ledger.Credit(member, settings["first_order_points"], source="first_order",
                                         source_id=str(member.id), reason=REASON_FIRST_ORDER, reason_params=params,
                                         order_id=data.order_id, pending=True, pending_until=settle_after))
    ledger.credit_many(session, credits)


def _first_orders(session: Session, shop_id: int, buyers: dict[int, int], orders: dict) -> set[int]:
    """Which of the orders (order id -> its member's customer id) are that customer's first: no order of
    theirs in the mirror, not deleted, was created before it. (Its credit is once per member: the
    entry's unique key.)"""
    if not buyers:
        return set()
    earliest = dict(session.execute(
        select(Order.customer_id, func.min(Order.created_at)).where(
            Order.shop_id == shop_id, Order.customer_id.in_(set(buyers.values())), Order.deleted_at.is_(None))
        .group_by(Order.customer_id)).all())
    firsts = set()
    for order_id, customer_id in buyers.items():
        order = orders.get(order_id)
        if order is None:
            continue
        least = earliest.get(customer_id)
        if least is None or order.created_at is None or least >= order.created_at:
            firsts.add(order_id)
    return firsts


def order_fulfilled(session: Session, shop_id: int, data: payloads.OrderFulfilled, settings: dict) -> None:
    """The return window starts: the order's pending points are due ``pending_days`` after fulfilment."""
    fulfilled = _when(data.occurred_at) or utcnow()
    session.execute(update(LedgerEntry).where(
        LedgerEntry.shop_id == shop_id, LedgerEntry.order_id == data.order_id, LedgerEntry.state == "pending",
        LedgerEntry.settle_after.is_(None),
    ).values(settle_after=fulfilled + timedelta(days=settings["pending_days"]))
        .execution_options(synchronize_session=False))


def take_back(session: Session, shop_id: int, order_id: int, number: str, *, key: str,
              refunded: Decimal | None, total: Decimal) -> int:
    """Bring what the order holds down to its share not refunded (``refunded`` None: to nothing).
    Returns the points taken back now (0 when this was done already)."""
    entries = session.scalars(select(LedgerEntry).where(
        LedgerEntry.shop_id == shop_id, LedgerEntry.order_id == order_id,
        LedgerEntry.source.in_(ORDER_SOURCES)).order_by(LedgerEntry.id)).all()
    credited = sum(e.points for e in entries if e.kind == "credit" and e.points > 0)
    held = sum(e.points for e in entries if e.state in ("pending", "approved") and e.points > 0) \
        + sum(e.points for e in entries if e.points < 0)
    keep = 0 if refunded is None else credited - share_of(credited, refunded, total)
    excess = held - max(0, keep)
    if excess <= 0:
        return 0
    member = session.get(LoyaltyMember, entries[0].member_id)
    params = {"number": number}
    reason = REASON_CANCELLED if refunded is None else REASON_REFUND
    pending = [e for e in entries if e.state == "pending" and e.points > 0]
    due = excess
    if pending:
        in_window = sum(e.points for e in pending)
        settle_after = pending[0].settle_after
        for entry in pending:
            ledger.settle(session, entry, "reversed")
        rest = in_window - due
        if rest > 0:
            ledger.credit(session, member, rest, source="order", source_id=f"{order_id}:{key}", kind="rest",
                          reason=REASON_REST, reason_params=params, order_id=order_id, pending=True,
                          pending_until=settle_after)
        due = max(0, -rest)
    if due > 0:
        ledger.debit(session, member, due, state="reversed", source="refund", source_id=f"{order_id}:{key}",
                     kind="reversal", reason=reason, reason_params=params, order_id=order_id)
    return excess
