"""Points from money: the one rounding rule of the program.

A rule says ``points`` per ``per`` of the shop's currency (1 point per 10 zł: points=1, per=10; 2.5
points per 1 €: points=2.5, per=1). The points an amount earns are ``amount / per * points * multiplier``
computed exactly in ``Decimal`` and then rounded **down** to a whole point (``ROUND_FLOOR``): a member is
never credited a point the rule did not fully earn, and a balance is always a whole number. A reversal
of a part of an order takes the same share of the points credited for it, rounded **up** (``ROUND_CEILING``)
but never more than was credited, so a full refund takes back exactly what was given.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

ONE = Decimal(1)


def points_for(amount: Decimal, points: Decimal, per: Decimal, multiplier: Decimal = ONE) -> int:
    """Whole points that ``amount`` earns at ``points`` per ``per``, times ``multiplier``; 0 for
    nothing or less."""
    if amount <= 0 or points <= 0 or per <= 0 or multiplier <= 0:
        return 0
    return int((Decimal(amount) / Decimal(per) * Decimal(points) * Decimal(multiplier)).to_integral_value(
        rounding=ROUND_FLOOR))


def share_of(credited: int, part: Decimal, whole: Decimal) -> int:
    """The points to take back when ``part`` of ``whole`` is refunded from an order that earned
    ``credited`` points: the same share, rounded up, at most ``credited``."""
    if credited <= 0 or part <= 0 or whole <= 0:
        return 0
    if part >= whole:
        return credited
    share = (Decimal(credited) * Decimal(part) / Decimal(whole)).to_integral_value(rounding=ROUND_CEILING)
    return min(credited, int(share))
