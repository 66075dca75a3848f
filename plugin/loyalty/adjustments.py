"""Manual adjustments: a merchant (or an operator's command) adds or takes points, with a reason the
member reads and the name of who did it. Each is its own entry (source ``manual``), never merged."""
from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from plugin.loyalty import ledger
from plugin.loyalty.models import LoyaltyMember

MAX_REASON = 200


class AdjustmentRefused(ledger.LedgerError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def adjust(session: Session, member: LoyaltyMember, points: int, *, reason: str, actor: str,
           key: str | None = None) -> ledger.Posted:
    """Add (``points`` > 0) or take (< 0) points; writes in the caller's session, never commits.
    Refused (nothing written) without a reason, for 0, beyond the sane maximum, or when taking more
    than the member's approved balance. ``key`` makes a retried adjustment count once."""
    reason = (reason or "").strip()
    if not reason:
        raise AdjustmentRefused("reason", "A reason is required.")
    if len(reason) > MAX_REASON:
        raise AdjustmentRefused("reason", f"A reason is at most {MAX_REASON} characters.")
    if isinstance(points, bool) or not isinstance(points, int) or points == 0 or abs(points) > ledger.MAX_POINTS:
        raise AdjustmentRefused("points", f"Points are a whole number between -{ledger.MAX_POINTS} and "
                                          f"{ledger.MAX_POINTS}, not 0.")
    source_id = key or uuid.uuid4().hex
    if points > 0:
        return ledger.credit(session, member, points, source="manual", source_id=source_id, kind="credit",
                             reason="%(note)s", reason_params={"note": reason}, note=reason, actor=actor)
    return ledger.debit(session, member, -points, state="reversed", may_owe=False,
                        source="manual", source_id=source_id, kind="debit", reason="%(note)s",
                        reason_params={"note": reason}, note=reason, actor=actor)
