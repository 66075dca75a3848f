"""Tiers: what a member's tier gives them, where each member is placed, and the merchant's tier editor.

**The measure.** A member is placed on the program's ``tier_basis`` over its ``tier_period``
(plugin/loyalty/settings.py), computed for a whole shop in one set-based query (``measures``):

- ``spend``: the paid net revenue (plugin/sync/revenue.py) of the member's customer's orders created
  in the period, in the shop's currency as the mirror keeps it;
- ``points``: points credited in the period: credits pending or approved, less reversals (refunds,
  a merchant taking points back); points spent on rewards, expired or never approved do not count;
- ``orders``: the number of the customer's paid orders (paid, not cancelled, not deleted).

Periods: ``lifetime``; ``calendar_year`` (from 1 January in the shop's time zone); ``rolling_12`` (the
last 12 months up to now).

**Placement** (``place``): tiers rank by their entry threshold. A member enters the highest tier whose
``entry_threshold`` they reach; a member already in a tier keeps it while they reach its
``retention_threshold`` (never above the entry threshold), or moves up if they reach a higher tier's
entry; otherwise they drop to the highest tier whose entry threshold they reach (none: no tier).
``LoyaltyMember.tier_id`` is the tier earned so; the merchant's ``manual_tier_id`` is a floor that
``tier_of`` applies when the tier is read (the earned tier is kept, so removing the floor needs no
recalculation). ``tier_since`` is set whenever the earned tier changes.

**Recalculation** (``recalculate``, the job ``loyalty.recalculate_tiers``): one measuring query per
shop, then the members whose earned tier changed updated in batches (one UPDATE per tier and batch),
each batch its own transaction. Nothing is written to the ledger. Running it again changes nothing.
It returns the ids of the members whose tier changed (``Recalculated.changed_member_ids``) and calls
every function of ``TIER_CHANGE_HOOKS`` with ``(session, shop_id, member_ids)`` inside each batch's
transaction (publishing the tier to the platform belongs there); a hook writes, never commits.

**The editor**: ``create_tier``, ``update_tier``, ``delete_tier`` validate (``TierInvalid`` naming
the field, in the merchant's language) and write in the caller's session; ``preview`` says who would
move up or down under a proposed set of tiers, writing nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.features import load
from plugin.loyalty.messages import _
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.shops.models import Shop
from plugin.sync.models import Order
from plugin.sync.revenue import paid_net_amount, paid_order

BASES = ("spend", "points", "orders")
PERIODS = ("lifetime", "calendar_year", "rolling_12")
MAX_MULTIPLIER = Decimal(10)
MAX_THRESHOLD = Decimal("1000000000000")  # Numeric(18, 4)
MAX_BIRTHDAY_BONUS = 1_000_000
BATCH = 5000
ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")

# Functions ("module:function") called with (session, shop_id, member_ids) when a recalculation changed
# members' tiers: publishing the tiers to the platform.
TIER_CHANGE_HOOKS: list[str | Callable[[Session, int, list[int]], None]] = [
    "plugin.loyalty.publishing:on_tiers_changed"]


# -- reading a member's tier -----------------------------------------------------------------------

def tier_of(session: Session, member: LoyaltyMember) -> Tier | None:
    """The member's tier: the one they earned, or the merchant's manual tier if that is higher."""
    earned = session.get(Tier, member.tier_id) if member.tier_id else None
    floor = session.get(Tier, member.manual_tier_id) if member.manual_tier_id else None
    ours = {t.id: t for t in (earned, floor) if t is not None and t.shop_id == member.shop_id}
    chosen = effective_tier(member.tier_id, member.manual_tier_id, {i: t.position for i, t in ours.items()})
    return ours.get(chosen)


def effective_tier(earned: int | None, floor: int | None, positions: dict[int, int]) -> int | None:
    """The id of a member's tier: the one earned, or the manual floor if that is higher; ``positions``
    holds the shop's tiers (id: position), so a tier of another shop or one deleted counts as none."""
    earned = earned if earned in positions else None
    floor = floor if floor in positions else None
    if floor is not None and (earned is None or positions[floor] > positions[earned]):
        return floor
    return earned


def earn_multiplier(session: Session, member: LoyaltyMember) -> Decimal:
    """The earn multiplier of the member's tier (1 without a tier)."""
    tier = tier_of(session, member)
    return tier.earn_multiplier if tier is not None else Decimal(1)


def perks_of(session: Session, member: LoyaltyMember) -> dict:
    """The perks of the member's tier (the manual floor applied): ``{"tier": name or None,
    "earn_multiplier": Decimal, "birthday_bonus": int, "free_shipping": bool}``. The rewards' side
    shows a free-shipping reward of cost 0 to a member whose ``free_shipping`` is true."""
    tier = tier_of(session, member)
    if tier is None:
        return {"tier": None, "earn_multiplier": Decimal(1), "birthday_bonus": 0, "free_shipping": False}
    return {"tier": tier.name, "earn_multiplier": tier.earn_multiplier, "birthday_bonus": tier.birthday_bonus,
            "free_shipping": bool(tier.free_shipping)}


def tiers(session: Session, shop_id: int) -> list[Tier]:
    """The shop's tiers, lowest first."""
    return list(session.scalars(select(Tier).where(Tier.shop_id == shop_id).order_by(Tier.position, Tier.id)))


# -- measuring -------------------------------------------------------------------------------------

def period_start(period: str, now: datetime, timezone: str = "UTC") -> datetime | None:
    """Where the period begins (UTC), None for ``lifetime``."""
    if period == "lifetime":
        return None
    if period == "rolling_12":
        try:
            return now.replace(year=now.year - 1)
        except ValueError:  # 29 February
            return now.replace(year=now.year - 1, day=28)
    if period == "calendar_year":
        try:
            zone = ZoneInfo(timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        local = now.astimezone(zone)
        return datetime(local.year, 1, 1, tzinfo=zone).astimezone(UTC)
    raise ValueError(f"unknown tier period {period!r}")


def _per_member(shop_id: int, basis: str, since: datetime | None):
    """(member_id or customer_id, value) for one shop, grouped; only members/customers with something."""
    if basis == "points":
        counted = or_(and_(LedgerEntry.points > 0, LedgerEntry.state.in_(("pending", "approved"))),
                      and_(LedgerEntry.points < 0, LedgerEntry.state == "reversed",
                           LedgerEntry.source != "redemption"))
        query = select(LedgerEntry.member_id.label("key"), func.sum(LedgerEntry.points).label("value")).where(
            LedgerEntry.shop_id == shop_id, counted)
        if since is not None:
            query = query.where(LedgerEntry.created_at >= since)
        return query.group_by(LedgerEntry.member_id).subquery(), LoyaltyMember.id
    value = func.sum(paid_net_amount()) if basis == "spend" else func.count(Order.id)
    query = select(Order.customer_id.label("key"), value.label("value")).where(
        Order.shop_id == shop_id, paid_order(), Order.customer_id.is_not(None))
    if since is not None:
        query = query.where(Order.created_at >= since)
    return query.group_by(Order.customer_id).subquery(), LoyaltyMember.customer_id


def measures(session: Session, shop_id: int, *, basis: str, period: str, now: datetime | None = None,
             member_ids: Iterable[int] | None = None):
    """One query for the shop: rows ``(member_id, tier_id, manual_tier_id, value)`` of every active
    member (or of ``member_ids``), ``value`` a Decimal (0 for a member with nothing in the period),
    in member id order."""
    if basis not in BASES:
        raise ValueError(f"unknown tier basis {basis!r}")
    shop = session.get(Shop, shop_id)
    since = period_start(period, now or utcnow(), shop.timezone if shop else "UTC")
    grouped, joined_on = _per_member(shop_id, basis, since)
    query = (select(LoyaltyMember.id, LoyaltyMember.tier_id, LoyaltyMember.manual_tier_id, grouped.c.value)
             .outerjoin(grouped, grouped.c.key == joined_on)
             .where(LoyaltyMember.shop_id == shop_id, LoyaltyMember.status == "active")
             .order_by(LoyaltyMember.id))
    if member_ids is not None:
        query = query.where(LoyaltyMember.id.in_(list(member_ids)))
    exponent = CENT if basis == "spend" else ONE
    for member_id, tier_id, manual_tier_id, value in session.execute(query).yield_per(BATCH):
        yield member_id, tier_id, manual_tier_id, _decimal(value).quantize(exponent)


def _decimal(value) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))  # SQLite sums NUMERIC as floating point: read it back as written


# -- placement -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rung:
    """What placement needs of a tier (a stored one or a proposed one): ``key`` identifies it."""

    key: object
    entry: Decimal
    retention: Decimal


def ladder(rows: Iterable) -> list[Rung]:
    """Rungs from tiers (``Tier`` rows, or dicts with id/entry_threshold/retention_threshold), lowest first."""
    rungs = []
    for row in rows:
        get = row.get if isinstance(row, Mapping) else (lambda name, default=None, r=row: getattr(r, name, default))
        entry = Decimal(get("entry_threshold"))
        retention = get("retention_threshold")
        rungs.append(Rung(get("id") if get("id") is not None else get("key"), entry,
                          Decimal(retention) if retention is not None else entry))
    return sorted(rungs, key=lambda r: r.entry)


def place(value: Decimal, current: object, rungs: Sequence[Rung]) -> object:
    """The key of the tier a member with ``value`` belongs in, ``current`` the key of the tier they are
    in (None: none); None when they reach no tier's entry threshold. ``rungs`` lowest first."""
    entered = None
    for rung in rungs:
        if value >= rung.entry:
            entered = rung
    kept = next((r for r in rungs if r.key == current and current is not None and value >= r.retention), None)
    if kept is None:
        return entered.key if entered else None
    if entered is not None and entered.entry > kept.entry:
        return entered.key
    return kept.key


# -- recalculation ---------------------------------------------------------------------------------

@dataclass
class Recalculated:
    members: int = 0
    changed_member_ids: list[int] = field(default_factory=list)


def recalculate(db, shop_id: int, *, now: datetime | None = None, batch: int = BATCH) -> Recalculated:
    """Place every member of the shop again (see the module's docstring); each batch of changes is
    committed on its own, so a run stopped half-way is finished by the next one."""
    from plugin.loyalty.settings import program

    now = now or utcnow()
    result = Recalculated()
    with db.uow() as session:
        settings = program(session, shop_id)
        rungs = ladder(tiers(session, shop_id))
        moves: list[tuple[int, object]] = []
        for member_id, tier_id, _manual, value in measures(session, shop_id, basis=settings["tier_basis"],
                                                            period=settings["tier_period"], now=now):
            result.members += 1
            placed = place(value, tier_id, rungs)
            if placed != tier_id:
                moves.append((member_id, placed))
        session.rollback()  # the reading transaction ends here: writes go in batches of their own
        for start in range(0, len(moves), batch):
            chunk = moves[start:start + batch]
            changed = _apply(session, shop_id, chunk, now)
            for hook in TIER_CHANGE_HOOKS:
                (load(hook) if isinstance(hook, str) else hook)(session, shop_id, changed)
            session.commit()
            result.changed_member_ids.extend(changed)
    return result


def _apply(session: Session, shop_id: int, moves: list[tuple[int, object]], now: datetime) -> list[int]:
    """Set each member's earned tier: one UPDATE per tier; only rows still elsewhere change."""
    by_tier: dict[object, list[int]] = {}
    for member_id, tier_id in moves:
        by_tier.setdefault(tier_id, []).append(member_id)
    changed: list[int] = []
    for tier_id, member_ids in by_tier.items():
        elsewhere = LoyaltyMember.tier_id.is_not(None) if tier_id is None else or_(
            LoyaltyMember.tier_id.is_(None), LoyaltyMember.tier_id != tier_id)
        rows = session.execute(update(LoyaltyMember).where(
            LoyaltyMember.shop_id == shop_id, LoyaltyMember.id.in_(member_ids), elsewhere,
        ).values(tier_id=tier_id, tier_since=now).returning(LoyaltyMember.id)
            .execution_options(synchronize_session=False)).scalars().all()
        changed.extend(rows)
    return sorted(changed)


def recalculate_job(shop_id: int) -> dict:
    """The queue job ``loyalty.recalculate_tiers``."""
    from flask import current_app

    result = recalculate(current_app.extensions["storecare.db"], shop_id)
    return {"members": result.members, "changed": len(result.changed_member_ids)}


def recalculate_everywhere() -> int:
    """Hourly (a periodic task); once a day, at 03:00 UTC, a recalculation job for every installed shop
    whose program is on and has tiers. Returns how many were queued."""
    from flask import current_app

    if utcnow().hour != 3:
        return 0
    return request_recalculations(current_app.extensions["storecare.db"], current_app.extensions["storecare.queue"])


def request_tier_recalculation(session: Session, shop_id: int):
    """Queue the shop's recalculation in the caller's transaction, unless one is waiting already."""
    from flask import current_app

    from plugin.jobs.models import JobRun

    waiting = session.scalar(select(JobRun.id).where(
        JobRun.shop_id == shop_id, JobRun.name == "loyalty.recalculate_tiers",
        JobRun.status.in_(("queued", "retrying"))).limit(1))
    if waiting is not None:
        return None
    return current_app.extensions["storecare.queue"].enqueue(session, "loyalty.recalculate_tiers",
                                                             {"shop_id": shop_id}, shop_id=shop_id)


def request_recalculations(db, queue) -> int:
    from plugin.loyalty.settings import program

    with db.uow() as session:
        shop_ids = session.scalars(select(Shop.id).where(Shop.status == "installed").where(
            select(Tier.id).where(Tier.shop_id == Shop.id).exists()).order_by(Shop.id)).all()
        queued = 0
        for shop_id in shop_ids:
            if program(session, shop_id)["enabled"]:
                queue.enqueue(session, "loyalty.recalculate_tiers", {"shop_id": shop_id}, shop_id=shop_id)
                queued += 1
        session.commit()
    return queued


# -- the editor ------------------------------------------------------------------------------------

class TierInvalid(ValueError):
    """A tier the merchant wrote cannot be saved; ``field`` names the input, the message is translated."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _number(data: Mapping, name: str, default, *, low: Decimal, high: Decimal, whole: bool = False):
    raw = data.get(name, default)
    if raw is None or raw == "":
        raw = default
    if raw is None:
        raise TierInvalid(name, _("This field is required."))
    if isinstance(raw, bool):
        raise TierInvalid(name, _("Enter a number."))
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise TierInvalid(name, _("Enter a number.")) from None
    if not value.is_finite() or not low <= value <= high:
        raise TierInvalid(name, _("Enter a number between %(low)s and %(high)s.", low=low, high=high))
    if whole:
        if value != value.to_integral_value():
            raise TierInvalid(name, _("Enter a whole number."))
        return int(value)
    return value


def clean_tier(data: Mapping, *, taken_names: Iterable[str] = (), taken_entries: Iterable[Decimal] = ()) -> dict:
    """The tier's values checked and typed, or ``TierInvalid`` for the first field at fault.
    ``taken_names`` / ``taken_entries``: the shop's other tiers' (a name is unique without regard to
    case; two tiers cannot share an entry threshold, which ranks them)."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise TierInvalid("name", _("A tier needs a name."))
    if len(name) > 100:
        raise TierInvalid("name", _("A tier's name is at most 100 characters."))
    if name.casefold() in {n.casefold() for n in taken_names}:
        raise TierInvalid("name", _("Another tier already has this name."))
    entry = _number(data, "entry_threshold", None, low=ZERO, high=MAX_THRESHOLD)
    if entry in set(taken_entries):
        raise TierInvalid("entry_threshold", _("Another tier already has this entry threshold."))
    retention = _number(data, "retention_threshold", entry, low=ZERO, high=MAX_THRESHOLD)
    if retention > entry:
        raise TierInvalid("retention_threshold",
                          _("The threshold to keep the tier cannot be above the threshold to enter it."))
    multiplier = _number(data, "earn_multiplier", 1, low=ZERO, high=MAX_MULTIPLIER)
    bonus = _number(data, "birthday_bonus", 0, low=ZERO, high=Decimal(MAX_BIRTHDAY_BONUS), whole=True)
    free_shipping = data.get("free_shipping", False)
    if not isinstance(free_shipping, bool):
        free_shipping = str(free_shipping).strip().lower() in ("1", "true", "on", "yes", "y")
    return {"name": name, "entry_threshold": entry, "retention_threshold": retention,
            "earn_multiplier": multiplier, "birthday_bonus": bonus, "free_shipping": free_shipping}


def _others(session: Session, shop_id: int, except_id: int | None = None) -> list[Tier]:
    return [t for t in tiers(session, shop_id) if t.id != except_id]


def _renumber(session: Session, shop_id: int) -> None:
    session.flush()
    for position, tier in enumerate(sorted(tiers(session, shop_id), key=lambda t: Decimal(t.entry_threshold))):
        tier.position = position
    session.flush()


def create_tier(session: Session, shop_id: int, data: Mapping) -> Tier:
    """A new tier of the shop (positions follow the entry thresholds); in the caller's session."""
    others = _others(session, shop_id)
    values = clean_tier(data, taken_names=[t.name for t in others],
                        taken_entries=[Decimal(t.entry_threshold) for t in others])
    tier = Tier(shop_id=shop_id, position=len(others), **values)
    session.add(tier)
    _renumber(session, shop_id)
    return tier


def _tier(session: Session, shop_id: int, tier_id: int) -> Tier:
    tier = session.get(Tier, tier_id)
    if tier is None or tier.shop_id != shop_id:
        raise TierInvalid("id", _("There is no such tier."))
    return tier


def update_tier(session: Session, shop_id: int, tier_id: int, data: Mapping) -> Tier:
    """Change a tier (all its values, as ``create_tier`` takes them). Members stay where they are
    until the next recalculation (use ``preview`` first to see who would move)."""
    tier = _tier(session, shop_id, tier_id)
    others = _others(session, shop_id, tier.id)
    values = clean_tier(data, taken_names=[t.name for t in others],
                        taken_entries=[Decimal(t.entry_threshold) for t in others])
    for name, value in values.items():
        setattr(tier, name, value)
    _renumber(session, shop_id)
    return tier


def delete_tier(session: Session, shop_id: int, tier_id: int) -> None:
    """Remove a tier: its members have no earned tier (and no floor, if it was theirs) until the
    next recalculation places them."""
    tier = _tier(session, shop_id, tier_id)
    session.execute(update(LoyaltyMember).where(LoyaltyMember.shop_id == shop_id, LoyaltyMember.tier_id == tier.id)
                    .values(tier_id=None, tier_since=utcnow()).execution_options(synchronize_session=False))
    session.execute(update(LoyaltyMember).where(LoyaltyMember.shop_id == shop_id,
                                                LoyaltyMember.manual_tier_id == tier.id)
                    .values(manual_tier_id=None).execution_options(synchronize_session=False))
    session.delete(tier)
    _renumber(session, shop_id)


def set_manual_tier(session: Session, member: LoyaltyMember, tier_id: int | None, actor: str) -> LoyaltyMember:
    """The merchant's floor for ``member`` (None removes it): the member is at least in this tier
    whatever they earn. In the caller's session; ``actor`` is who set it (kept in the log)."""
    import logging

    if tier_id is not None:
        _tier(session, member.shop_id, tier_id)
    if member.manual_tier_id != tier_id:
        member.manual_tier_id = tier_id
        member.tier_since = utcnow()
        logging.getLogger(__name__).info("manual tier of member %s set to %s by %s", member.id, tier_id, actor)
    session.flush()
    return member


# -- preview ---------------------------------------------------------------------------------------

def preview(session: Session, shop_id: int, proposed: Sequence[Mapping], *, now: datetime | None = None,
            limit: int = 100) -> dict:
    """What applying ``proposed`` (a list of tiers as ``create_tier`` takes them; ``id`` keeps an
    existing tier, so its members are judged on its retention threshold) would do now, writing nothing.

    Returns::

        {"members": 1200,                      # active members measured
         "up":   {"count": 40, "members": [m, ...]},   # at most ``limit`` listed, highest measure first
         "down": {"count": 12, "members": [m, ...]},
         "tiers": [{"id": 3 or None, "name": "Gold", "before": 100, "after": 130}, ...],  # lowest first
         "no_tier": {"before": 800, "after": 760}}

    where ``m`` is ``{"member_id", "value" (the measure, a string), "from": name or None, "to": name or
    None}``. Tiers are compared as members see them (the manual floor applied); a move is up when the
    new tier's entry threshold is higher than the old one's (no tier is lowest). Bad input raises
    ``TierInvalid`` with ``field`` as ``"<index>.<field>"``."""
    from plugin.loyalty.settings import program

    settings = program(session, shop_id)
    current = {t.id: t for t in tiers(session, shop_id)}
    cleaned: list[dict] = []
    for index, data in enumerate(proposed):
        try:
            values = clean_tier(data, taken_names=[c["name"] for c in cleaned],
                                taken_entries=[c["entry_threshold"] for c in cleaned])
        except TierInvalid as exc:
            raise TierInvalid(f"{index}.{exc.field}", exc.message) from None
        raw_id = str(data.get("id") or "").strip()
        values["id"] = int(raw_id) if raw_id.isdigit() and int(raw_id) in current else None
        values["key"] = values["id"] if values["id"] is not None else f"new:{index}"
        cleaned.append(values)
    new_rungs = ladder(cleaned)
    new_by_key = {c["key"]: c for c in cleaned}
    old_by_key = {t.id: {"name": t.name, "entry_threshold": Decimal(t.entry_threshold)} for t in current.values()}

    def seen(earned, manual, by_key):  # the tier a member sees: the higher of earned and floor
        options = [by_key[k] for k in (earned, manual) if k is not None and k in by_key]
        return max(options, key=lambda t: t["entry_threshold"]) if options else None

    before_counts: dict[object, int] = {}
    after_counts: dict[object, int] = {}
    up: list[dict] = []
    down: list[dict] = []
    up_count = down_count = members = 0
    for member_id, tier_id, manual_id, value in measures(session, shop_id, basis=settings["tier_basis"],
                                                          period=settings["tier_period"], now=now):
        members += 1
        old = seen(tier_id, manual_id, old_by_key)
        new_earned = place(value, tier_id, new_rungs)
        new = seen(new_earned, manual_id if manual_id in new_by_key else None, new_by_key)
        old_key = next((k for k, t in old_by_key.items() if t is old), None)
        new_key = next((k for k, t in new_by_key.items() if t is new), None)
        before_counts[old_key] = before_counts.get(old_key, 0) + 1
        after_counts[new_key] = after_counts.get(new_key, 0) + 1
        if old_key == new_key:
            continue
        old_rank = old["entry_threshold"] if old else Decimal(-1)
        new_rank = new["entry_threshold"] if new else Decimal(-1)
        move = {"member_id": member_id, "value": str(value), "from": old["name"] if old else None,
                "to": new["name"] if new else None}
        if new_rank > old_rank or (new_rank == old_rank and old is None):
            up_count += 1
            up.append(move)
        else:
            down_count += 1
            down.append(move)

    def listed(moves):
        return sorted(moves, key=lambda m: Decimal(m["value"]), reverse=True)[:limit]

    rows = [{"id": c["id"], "name": c["name"], "before": before_counts.get(c["id"], 0) if c["id"] else 0,
             "after": after_counts.get(c["key"], 0)} for c in sorted(cleaned, key=lambda c: c["entry_threshold"])]
    return {"members": members, "up": {"count": up_count, "members": listed(up)},
            "down": {"count": down_count, "members": listed(down)}, "tiers": rows,
            "no_tier": {"before": before_counts.get(None, 0), "after": after_counts.get(None, 0)}}
