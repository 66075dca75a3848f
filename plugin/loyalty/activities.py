"""Points for what a member does besides ordering, and points that expire.

- **Event points**: a review written, a social follow (honour system: the merchant's systems, or the
  widget, say it happened) and custom events posted by the merchant's own systems through the merchant
  API (plugin/loyalty/merchant_api.py). Each is credited once per idempotency key. Together they count
  against the program's per-member limit (``event_points_limit`` per ``event_points_period``: day, week
  from Monday, month, year, in the shop's time zone): an event beyond what is left of the limit is
  credited what is left; with nothing left it is refused (``LimitReached``), nothing written.
- **Birthdays**: once a year on the member's birthday (entered by the shopper; 29 February counts on
  28 February in other years): ``birthday_points`` plus the tier's ``birthday_bonus``.
- **Expiry**: approved points expire ``expiry_months`` after the member's last activity (a credit or a
  spend); ``expiry_warning_days`` before, a message to the shopper is written to the outbox (kind
  ``loyalty.points_expiring``), once per member and expiry date. The expiry is one ``expired`` debit
  per member and expiry date.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from adapters.messages import N_
from plugin.db import utcnow
from plugin.loyalty import ledger
from plugin.loyalty.earning import shop_day
from plugin.loyalty.models import LedgerEntry, LoyaltyMember
from plugin.loyalty.settings import program
from plugin.loyalty.tiers import tier_of
from plugin.outbox.service import InvalidMessage, enqueue_message
from plugin.shops.models import Shop

EVENT_SOURCES = {"review": "review", "social_follow": "social"}  # named events with a configured rule
LIMITED_SOURCES = ("review", "social", "custom_event")
EXPIRING_KIND = "loyalty.points_expiring"

REASON_REVIEW = N_("Thank you for your review")
REASON_SOCIAL = N_("Thank you for following us")
REASON_CUSTOM = N_("Points for %(event)s")
REASON_BIRTHDAY = N_("Happy birthday!")
REASON_EXPIRED = N_("Points expired: no activity in the program for too long")
MESSAGE_EXPIRING = N_("Your points (%(points)s) expire on %(date)s")


class EventRefused(ledger.LedgerError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class LimitReached(ledger.LedgerError):
    def __init__(self, limit: int, period: str):
        super().__init__(f"This member has had the {limit} event points allowed per {period}.")


# -- event points

def period_start(shop: Shop, period: str, now: datetime) -> datetime:
    day = shop_day(shop, now)
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period == "year":
        day = day.replace(month=1, day=1)
    return datetime.combine(day, time(), tzinfo=_zone(shop))


def _zone(shop: Shop) -> ZoneInfo:
    try:
        return ZoneInfo(shop.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def award_event(session: Session, member: LoyaltyMember, event: str, key: str, points: int | None = None,
                now: datetime | None = None) -> ledger.Posted:
    """Credit an event's points (approved) once per ``key``; writes in the caller's session. ``points``:
    as given, else the program's rule for a named event (``review``, ``social_follow``)."""
    now = now or utcnow()
    settings = program(session, member.shop_id)
    source = EVENT_SOURCES.get(event, "custom_event")
    done = session.scalar(select(LedgerEntry).where(
        LedgerEntry.shop_id == member.shop_id, LedgerEntry.source == source, LedgerEntry.source_id == key,
        LedgerEntry.kind == "credit"))
    if done is not None:
        return ledger.Posted(done, False)
    if points is None:
        if source == "custom_event":
            raise EventRefused("points", "Give the points for a custom event.")
        points = settings["review_points" if source == "review" else "social_follow_points"]
    if points <= 0:
        raise EventRefused("points", "This event earns no points in the program.")
    member = ledger._lock(session, member)  # one member's events counted against the limit one at a time
    limit = settings["event_points_limit"]
    if limit:
        since = period_start(session.get(Shop, member.shop_id), settings["event_points_period"], now)
        used = session.scalar(select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.shop_id == member.shop_id, LedgerEntry.member_id == member.id,
            LedgerEntry.source.in_(LIMITED_SOURCES), LedgerEntry.points > 0, LedgerEntry.created_at >= since))
        points = min(points, limit - int(used))
        if points <= 0:
            raise LimitReached(limit, settings["event_points_period"])
    reason = {"review": REASON_REVIEW, "social": REASON_SOCIAL}.get(source, REASON_CUSTOM)
    return ledger.credit(session, member, points, source=source, source_id=key, reason=reason,
                         reason_params={"event": event} if source == "custom_event" else {}, now=now)


# -- birthdays

def birthday_this_year(birthday: date, year: int) -> date:
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def award_birthdays(session: Session, shop_id: int, now: datetime | None = None) -> int:
    """Credit today's birthdays in the shop (its time zone), once a year each; writes, never commits."""
    now = now or utcnow()
    settings = program(session, shop_id)
    if not settings["enabled"]:
        return 0
    today = shop_day(session.get(Shop, shop_id), now)
    days = [today.day] + ([29] if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year) else [])
    members = session.scalars(select(LoyaltyMember).where(
        LoyaltyMember.shop_id == shop_id, LoyaltyMember.status == "active", LoyaltyMember.birthday.is_not(None),
        extract("month", LoyaltyMember.birthday) == today.month, extract("day", LoyaltyMember.birthday).in_(days),
    ).order_by(LoyaltyMember.id)).all()
    credited = 0
    for member in members:
        if birthday_this_year(member.birthday, today.year) != today:
            continue
        tier = tier_of(session, member)
        points = settings["birthday_points"] + (tier.birthday_bonus if tier is not None else 0)
        if points > 0:
            credited += ledger.credit(session, member, points, source="birthday",
                                      source_id=f"{member.id}:{today.year}", reason=REASON_BIRTHDAY,
                                      now=now).created
    return credited


# -- expiry

def months_before(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 - months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def months_after(moment: datetime, months: int) -> datetime:
    return months_before(moment, -months)


def expire_points(session: Session, shop_id: int, now: datetime | None = None) -> tuple[int, int]:
    """Warn members whose points expire within the warning days (once per expiry date), and expire the
    points of those whose last activity is ``expiry_months`` ago; writes, never commits. Returns (warned,
    expired) members."""
    now = now or utcnow()
    settings = program(session, shop_id)
    months = settings["expiry_months"]
    if not settings["enabled"] or not months:
        return 0, 0
    warn_until = months_before(now + timedelta(days=settings["expiry_warning_days"]), months)
    members = session.scalars(select(LoyaltyMember).where(
        LoyaltyMember.shop_id == shop_id, LoyaltyMember.approved > 0,
        LoyaltyMember.last_activity_at <= warn_until).order_by(LoyaltyMember.id)).all()
    warned = expired = 0
    for member in members:
        expires = months_after(member.last_activity_at, months)
        if expires <= now:
            posted = ledger.debit(session, member, member.approved, state="expired", source="expiry",
                                  source_id=f"{member.id}:{expires.date().isoformat()}", reason=REASON_EXPIRED,
                                  reason_params={"months": months}, now=now)
            expired += posted.created
        else:
            try:
                enqueue_message(session, shop_id, kind=EXPIRING_KIND, customer_id=member.customer_id,
                                source_key=f"{member.id}:{expires.date().isoformat()}", reason=MESSAGE_EXPIRING,
                                reason_params={"points": member.approved, "date": expires.date().isoformat()},
                                context={"member_id": member.id, "points": member.approved,
                                         "expires_on": expires.date().isoformat()})
            except InvalidMessage:  # the customer was deleted or redacted: nobody to warn
                continue
            warned += 1
    return warned, expired
