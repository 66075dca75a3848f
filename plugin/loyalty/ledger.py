"""The ledger: every change of a member's points, and the balances kept with it.

Each function writes in the caller's session and never commits: a use case (an event handler's
transaction, a redemption, an adjustment) commits the entry, the balances and whatever caused them
together. An entry is written first (``INSERT ... ON CONFLICT DO NOTHING`` on ``(shop, source,
source_id, kind)``): if it is already there, nothing else happens and the entry written first is
returned with ``created=False``, so a fact delivered twice counts once. Only then is the member's row
locked (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the insert already holds the database's
write lock) and the balances changed, so two transactions crediting or spending one member's points
never lose an update, and a debit that the approved balance cannot cover is refused
(``InsufficientPoints``; the caller rolls back, so nothing is written).

Balances (``LoyaltyMember``): a credit adds to ``pending`` or ``approved`` and to ``lifetime``; an
approved credit first pays what the member ``owes`` (points reversed after they were spent). A spend
or an expiry takes from ``approved``; a reversal (a refund) takes what it can from ``approved`` and
records the rest as ``owed``: a balance never goes below zero.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from plugin.db import utcnow
from plugin.loyalty.models import LedgerEntry, LoyaltyMember
from plugin.upsert import insert_ignore

# A sane maximum for one entry and for a balance: far beyond any program, well inside BIGINT.
MAX_POINTS = 1_000_000_000


class LedgerError(Exception):
    """Root of the ledger's refusals; ``field`` names the input at fault (for problem details)."""

    field = "points"


class InsufficientPoints(LedgerError):
    def __init__(self, available: int, asked: int):
        super().__init__(f"{asked} points asked, {available} available")
        self.available, self.asked = available, asked


class PointsOutOfRange(LedgerError):
    def __init__(self, points: int):
        super().__init__(f"{points} points is not between 1 and {MAX_POINTS}")
        self.points = points


@dataclass(frozen=True)
class Posted:
    entry: LedgerEntry
    created: bool  # False: the entry was there already (a fact delivered again); nothing changed


def credit(session: Session, member: LoyaltyMember, points: int, *, source: str, source_id: str,
           reason: str, reason_params: Mapping[str, Any] | None = None, kind: str = "credit",
           pending_until: datetime | None = None, note: str | None = None, actor: str | None = None,
           order_id: int | None = None, amount: Decimal | None = None, now: datetime | None = None,
           pending: bool = False) -> Posted:
    """Credit ``points`` (> 0) to ``member``: ``pending`` until ``pending_until`` if given (the order's
    return window), or ``pending`` without a date yet (an order not fulfilled: its fulfilment sets
    ``settle_after``), else ``approved`` at once."""
    _check(points)
    now = now or utcnow()
    state = "pending" if pending or pending_until is not None else "approved"
    posted = _insert(session, member, points, state, source, source_id, kind, reason, reason_params, note,
                     actor, order_id, amount, now, settle_after=pending_until)
    if posted.created:
        locked = _lock(session, member)
        values: dict[str, Any] = {"lifetime": locked.lifetime + points, "last_activity_at": now}
        if state == "pending":
            values["pending"] = locked.pending + points
        else:
            values.update(_pay_owed(locked, points))
        _set(session, locked, values)
    return posted


@dataclass(frozen=True)
class Credit:
    """One credit of ``credit_many``: ``credit``'s arguments (the member's id and shop stand for it)."""

    member: LoyaltyMember
    points: int
    source: str
    source_id: str
    reason: str
    reason_params: Mapping[str, Any] | None = None
    kind: str = "credit"
    pending: bool = False
    pending_until: datetime | None = None
    order_id: int | None = None
    amount: Decimal | None = None


def credit_many(session: Session, credits: list[Credit], now: datetime | None = None) -> int:
    """What ``credit`` does for each of ``credits`` in turn, in three statements whatever their number:
    the entries inserted together (one already there, or given twice, is left out), the members whose
    entries were new locked together (in the order of their ids, so that two such batches never wait
    for each other crosswise), then their balances set together. Returns the entries written."""
    now = now or utcnow()
    rows, keys = [], set()
    for c in credits:
        _check(c.points)
        key = (c.source, str(c.source_id), c.kind)
        if key in keys:
            continue
        keys.add(key)
        rows.append(_row(c.member, c.points, "pending" if c.pending or c.pending_until is not None else "approved",
                         c.source, c.source_id, c.kind, c.reason, c.reason_params, None, None, c.order_id, c.amount,
                         now, c.pending_until))
    written = insert_ignore(session, LedgerEntry.__table__, rows, conflict=["shop_id", "source", "source_id", "kind"],
                            returning=[LedgerEntry.member_id, LedgerEntry.points, LedgerEntry.state])
    if not written:
        return 0
    added: dict[int, list[int]] = {}  # member id -> [pending, approved] points written
    for entry in written:
        added.setdefault(entry.member_id, [0, 0])[0 if entry.state == "pending" else 1] += entry.points
    given = {c.member.id: c.member for c in credits}
    balances = session.execute(  # the rows as they are now, locked until the transaction ends
        select(LoyaltyMember.id, LoyaltyMember.pending, LoyaltyMember.approved, LoyaltyMember.owed,
               LoyaltyMember.lifetime).where(LoyaltyMember.id.in_(sorted(added)))
        .order_by(LoyaltyMember.id).with_for_update()).all()
    changes = []
    for row in balances:
        pending, approved = added[row.id]
        values = {"pending": row.pending + pending, "lifetime": row.lifetime + pending + approved,
                  "last_activity_at": now, **_pay_owed(row, approved)}
        if values["approved"] > MAX_POINTS:
            raise PointsOutOfRange(values["approved"])
        changes.append((given[row.id], values))
    columns = LoyaltyMember.__table__.c
    session.connection().execute(  # one statement, executed for every member (psycopg: in a pipeline)
        update(LoyaltyMember.__table__).where(columns.id == bindparam("member_id"))
        .values({name: bindparam(name) for name in changes[0][1]}),
        [{"member_id": member.id, **values} for member, values in changes])
    for member, values in changes:
        for name, value in values.items():
            set_committed_value(member, name, value)
    return len(written)


def debit(session: Session, member: LoyaltyMember, points: int, *, state: str, source: str, source_id: str,
          reason: str, reason_params: Mapping[str, Any] | None = None, kind: str = "debit",
          note: str | None = None, actor: str | None = None, order_id: int | None = None,
          may_owe: bool = True, now: datetime | None = None) -> Posted:
    """Take ``points`` (> 0) from ``member``. ``state``: ``spent`` (a redemption) or ``expired`` take
    from the approved balance and are refused beyond it; ``reversed`` (points taken back for a refund
    or a correction) takes what the approved balance holds and records the rest as owed, unless
    ``may_owe`` is False (a merchant's adjustment): then it too is refused beyond the approved balance."""
    _check(points)
    if state not in ("spent", "expired", "reversed"):
        raise ValueError(f"a debit is spent, expired or reversed, not {state!r}")
    now = now or utcnow()
    posted = _insert(session, member, -points, state, source, source_id, kind, reason, reason_params, note,
                     actor, order_id, None, now)
    if posted.created:
        locked = _lock(session, member)
        if state == "reversed" and not may_owe and locked.approved < points:
            raise InsufficientPoints(locked.approved, points)
        if state == "reversed":
            taken = min(points, locked.approved)
            _set(session, locked, {"approved": locked.approved - taken, "owed": locked.owed + points - taken,
                                   "lifetime": max(0, locked.lifetime - points)})
        else:
            if locked.approved < points:
                raise InsufficientPoints(locked.approved, points)
            values: dict[str, Any] = {"approved": locked.approved - points}
            if state == "spent":
                values.update(spent=locked.spent + points, last_activity_at=now)
            else:
                values["expired"] = locked.expired + points
            _set(session, locked, values)
    return posted


def settle(session: Session, entry: LedgerEntry, to: str, *, points: int | None = None,
           now: datetime | None = None) -> bool:
    """Move a pending credit to ``approved`` (its return window passed) or ``reversed`` (its order was
    refunded or cancelled within it). A compare-and-set on ``state = 'pending'``: of two jobs settling
    one entry, one does it; the other gets False and changes nothing."""
    if to not in ("approved", "reversed"):
        raise ValueError(f"a pending credit settles as approved or reversed, not {to!r}")
    now = now or utcnow()
    moved = session.execute(update(LedgerEntry).where(
        LedgerEntry.id == entry.id, LedgerEntry.shop_id == entry.shop_id, LedgerEntry.state == "pending",
    ).values(state=to, settled_at=now).execution_options(synchronize_session=False)).rowcount
    if not moved:
        return False
    member = _lock(session, session.get(LoyaltyMember, entry.member_id))
    values: dict[str, Any] = {"pending": max(0, member.pending - entry.points)}
    if to == "approved":
        values.update(_pay_owed(member, entry.points))
    else:
        values["lifetime"] = max(0, member.lifetime - entry.points)
    _set(session, member, values)
    entry.state, entry.settled_at = to, now
    return True


def give_back(session: Session, entry: LedgerEntry, now: datetime | None = None) -> bool:
    """Return the points of a ``spent`` debit whose reward was not made (the platform refused it): the
    entry becomes ``reversed`` and its points are approved again. A compare-and-set: once only."""
    now = now or utcnow()
    moved = session.execute(update(LedgerEntry).where(
        LedgerEntry.id == entry.id, LedgerEntry.shop_id == entry.shop_id, LedgerEntry.state == "spent",
    ).values(state="reversed", settled_at=now).execution_options(synchronize_session=False)).rowcount
    if not moved:
        return False
    member = _lock(session, session.get(LoyaltyMember, entry.member_id))
    _set(session, member, {"approved": member.approved - entry.points, "spent": max(0, member.spent + entry.points)})
    entry.state, entry.settled_at = "reversed", now
    return True


def balance(member: LoyaltyMember) -> dict[str, int]:
    """The member's balances as the commands and APIs give them."""
    return {"pending": member.pending, "approved": member.approved, "spent": member.spent,
            "lifetime": member.lifetime}


# -- inside

def _check(points: int) -> None:
    if not isinstance(points, int) or isinstance(points, bool) or not 0 < points <= MAX_POINTS:
        raise PointsOutOfRange(points)


def _row(member: LoyaltyMember, points: int, state: str, source: str, source_id: str, kind: str, reason: str,
         reason_params, note, actor, order_id, amount, now: datetime, settle_after: datetime | None) -> dict:
    return {"shop_id": member.shop_id, "member_id": member.id, "points": points, "state": state,
            "source": source, "source_id": str(source_id), "kind": kind, "reason": reason,
            "reason_params": dict(reason_params or {}), "note": note, "actor": actor, "order_id": order_id,
            "amount": amount, "created_at": now, "settle_after": settle_after}


def _insert(session: Session, member: LoyaltyMember, points: int, state: str, source: str, source_id: str,
            kind: str, reason: str, reason_params, note, actor, order_id, amount, now: datetime,
            settle_after: datetime | None = None) -> Posted:
    row = _row(member, points, state, source, source_id, kind, reason, reason_params, note, actor, order_id, amount,
               now, settle_after)
    inserted = insert_ignore(session, LedgerEntry.__table__, [row],
                             conflict=["shop_id", "source", "source_id", "kind"], returning=[LedgerEntry.id])
    if inserted:
        return Posted(session.get(LedgerEntry, inserted[0].id), True)
    existing = session.scalars(select(LedgerEntry).where(
        LedgerEntry.shop_id == member.shop_id, LedgerEntry.source == source,
        LedgerEntry.source_id == str(source_id), LedgerEntry.kind == kind)).one()
    return Posted(existing, False)


def _lock(session: Session, member: LoyaltyMember) -> LoyaltyMember:
    """The member's row as it is now, locked until the transaction ends."""
    return session.scalars(select(LoyaltyMember).where(LoyaltyMember.id == member.id).with_for_update()
                           .execution_options(populate_existing=True)).one()


def _pay_owed(member, points: int) -> dict[str, int]:  # a member, or a row of its balances
    paid = min(member.owed, points)
    return {"owed": member.owed - paid, "approved": member.approved + points - paid}


def _set(session: Session, member: LoyaltyMember, values: dict[str, Any]) -> None:
    if values.get("approved", 0) > MAX_POINTS:
        raise PointsOutOfRange(values["approved"])
    session.execute(update(LoyaltyMember).where(LoyaltyMember.id == member.id).values(**values)
                    .execution_options(synchronize_session=False))
    for name, value in values.items():
        set_committed_value(member, name, value)  # what the row holds now, without a second UPDATE
