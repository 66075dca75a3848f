"""Joining the program: with opt-in enrolment a customer joins from the storefront (its Join button
calls ``join``); with automatic enrolment every customer is a member (plugin/loyalty/earning.py)."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from plugin.loyalty.earning import signup_bonus
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember
from plugin.loyalty.publishing import request_publish
from plugin.loyalty.settings import program


class NotEnrolling(Exception):
    """The shop's program is off: nobody joins."""


def join(session: Session, shop_id: int, customer_id: int) -> LoyaltyMember:
    """Make the customer a member (once: joining again returns the same member) with the sign-up
    points once; writes in the caller's session, never commits. A member who had left is active again."""
    settings = program(session, shop_id)
    if not settings["enabled"]:
        raise NotEnrolling("the loyalty program is off")
    member = ensure_member(session, shop_id, customer_id)
    if member.status != "active":
        member.status = "active"
    signup_bonus(session, member, settings)
    request_publish(session, shop_id)
    return member


def set_birthday(session: Session, member: LoyaltyMember, birthday: date) -> None:
    """The shopper's birthday (entered by them); a date in the future is refused."""
    if birthday > date.today():
        raise ValueError("a birthday is not in the future")
    member.birthday = birthday
