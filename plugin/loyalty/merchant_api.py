"""The program in the merchant API (/api/v1/loyalty): the merchant's own systems post events that earn
points, look members up and adjust their points. Authenticated with the shop's API key (as the rest of
the merchant API, ``plugin.api.views``); every read and write is within the key's shop.

A refusal is a problem document naming the field at fault and writes nothing: input the schema
refuses, 422; an unknown customer (or none given), 404 naming ``customer_email`` or ``customer_id``;
a well-formed request the program refuses, 409: a customer who has not joined an opt-in program, a
custom event without points, an adjustment of 0 or beyond the balance, event points past the period's
limit, the program turned off.
"""
from __future__ import annotations

from flask import Blueprint, g
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from plugin.api.operations import operation
from plugin.api.schemas import record_id
from plugin.api.service import MAX_ID
from plugin.api.views import _authenticate
from plugin.extensions import db
from plugin.loyalty import activities, adjustments, ledger
from plugin.loyalty.members import ensure_member, member_by_email, member_of_customer
from plugin.loyalty.models import LoyaltyMember
from plugin.loyalty.publishing import request_publish
from plugin.loyalty.settings import MAX_RULE_POINTS, program
from plugin.loyalty.tiers import tier_of
from plugin.problems import Problem
from plugin.sync.models import Customer

bp = Blueprint("loyalty_api", __name__, url_prefix="/api/v1/loyalty")
bp.before_request(_authenticate)
SECURITY = ("merchantKey",)
TAG = "Loyalty"
KEY = validate.Regexp(r"^[A-Za-z0-9._:\-]{1,100}$", error="Use 1 to 100 letters, digits, '.', '_', ':' or '-'.")


class BalanceSchema(Schema):
    pending = fields.Integer()
    approved = fields.Integer()
    spent = fields.Integer()
    lifetime = fields.Integer()


class MemberSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    email = fields.String(allow_none=True)
    status = fields.String()
    tier = fields.String(allow_none=True)
    referral_code = fields.String()
    joined_at = fields.DateTime()
    balance = fields.Nested(BalanceSchema)


class MembersQuery(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))


class MemberListSchema(Schema):
    data = fields.List(fields.Nested(MemberSchema))


class EventSchema(Schema):
    customer_email = fields.Email(validate=validate.Length(max=320),
                                  metadata={"description": "The customer's email (or customer_id)."})
    customer_id = record_id(metadata={"description": "Our id of the customer (or customer_email)."})
    event = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9_.-]{0,49}$", error="Use 1 to 50 lower-case letters, digits, '_', '.' or '-'."),
        metadata={"description": "review, social_follow (the program's rules), or a name of your own."})
    points = fields.Integer(validate=validate.Range(min=1, max=MAX_RULE_POINTS),
                            metadata={"description": "Required for an event of your own; else the rule's."})
    idempotency_key = fields.String(required=True, validate=KEY,
                                    metadata={"description": "The same key again credits nothing more."})


class EventCreditedSchema(Schema):
    entry_id = fields.Integer()
    points = fields.Integer()
    created = fields.Boolean(metadata={"description": "False: this key was credited before."})
    member = fields.Nested(MemberSchema)


class AdjustmentSchema(Schema):
    points = fields.Integer(required=True, validate=validate.Range(min=-ledger.MAX_POINTS, max=ledger.MAX_POINTS))
    reason = fields.String(required=True, validate=[
        validate.Length(max=adjustments.MAX_REASON),
        validate.Regexp(r"\S", error="Say why: the member reads it.")])
    idempotency_key = fields.String(validate=KEY)


def member_json(session, member: LoyaltyMember) -> dict:
    tier = tier_of(session, member)
    email = session.scalar(select(Customer.email).where(Customer.id == member.customer_id,
                                                        Customer.shop_id == member.shop_id))
    return {"id": member.id, "customer_id": member.customer_id, "email": email, "status": member.status,
            "tier": tier.name if tier is not None else None, "referral_code": member.referral_code,
            "joined_at": member.joined_at, "balance": ledger.balance(member)}


def _refused(field: str, message: str, status: int = 409) -> Problem:
    title = "Not Found" if status == 404 else "Conflict"
    return Problem(status, title, message, errors={field: [message]})


def _program_on(session, shop_id: int) -> dict:
    settings = program(session, shop_id)
    if not settings["enabled"]:
        raise Problem(409, "Conflict", "The shop's loyalty program is off.")
    return settings


def _member_for(session, shop_id: int, settings: dict, body: dict) -> LoyaltyMember:
    """The member the event is for: ``customer_id`` if given, else ``customer_email`` (both: the same
    customer)."""
    customer_id = None
    for field in ("customer_id", "customer_email"):
        if field not in body:
            continue
        where = (Customer.id == body[field]) if field == "customer_id" \
            else (func.lower(Customer.email) == body[field].strip().lower())
        found = session.scalar(select(Customer.id).where(Customer.shop_id == shop_id, where,
                                                         Customer.deleted_at.is_(None)).order_by(Customer.id).limit(1))
        if found is None or (customer_id is not None and found != customer_id):
            raise _refused(field, "No customer of this shop has it.", 404)
        customer_id = found
    if customer_id is None:
        raise _refused("customer_email", "Give the customer's email (customer_email) or id (customer_id).", 404)
    if settings["enrolment"] == "auto":
        return ensure_member(session, shop_id, customer_id)
    member = member_of_customer(session, shop_id, customer_id)
    if member is None or member.status != "active":
        raise _refused(field, "This customer has not joined the loyalty program.")
    return member


@bp.post("/events")
@operation(summary="Credit points for an event", tag=TAG, body=EventSchema, response=EventCreditedSchema,
           status=201, security=SECURITY, problems=(404, 409), rate_limited=True)
def post_event(body):
    """A review, a social follow or an event of your own earned a customer points (once per key)."""
    shop_id = g.api_key.shop_id
    with db.uow() as session:
        settings = _program_on(session, shop_id)
        member = _member_for(session, shop_id, settings, body)
        try:
            posted = activities.award_event(session, member, body["event"], body["idempotency_key"],
                                            body.get("points"))
        except activities.EventRefused as exc:
            session.rollback()
            raise _refused(exc.field, str(exc)) from None
        except activities.LimitReached as exc:
            session.rollback()
            raise _refused("points", str(exc)) from None
        request_publish(session, shop_id)
        session.commit()
        member = session.get(LoyaltyMember, member.id)
        return {"entry_id": posted.entry.id, "points": posted.entry.points, "created": posted.created,
                "member": member_json(session, member)}


@bp.get("/members")
@operation(summary="Find members", tag=TAG, query=MembersQuery, response=MemberListSchema, security=SECURITY,
           rate_limited=True)
def members(query):
    """The member with this email (an empty list when none)."""
    with db.uow() as session:
        member = member_by_email(session, g.api_key.shop_id, query["email"])
        return {"data": [member_json(session, member)] if member is not None else []}


@bp.post("/members/<int:member_id>/adjustments")
@operation(summary="Adjust a member's points", tag=TAG, body=AdjustmentSchema, response=MemberSchema, status=201,
           security=SECURITY, problems=(404, 409), rate_limited=True)
def adjust(member_id: int, body):
    """Add (points > 0) or take (< 0) points with the reason the member reads; never below zero."""
    shop_id = g.api_key.shop_id
    if member_id > MAX_ID:
        raise Problem(404, "Not Found", "No member of this shop has this id.")
    with db.uow() as session:
        member = session.scalar(select(LoyaltyMember).where(LoyaltyMember.id == member_id,
                                                            LoyaltyMember.shop_id == shop_id))
        if member is None:
            raise Problem(404, "Not Found", "No member of this shop has this id.")
        try:
            adjustments.adjust(session, member, body["points"], reason=body["reason"],
                               actor=f"API key {g.api_key.name}"[:320], key=body.get("idempotency_key"))
        except adjustments.AdjustmentRefused as exc:
            session.rollback()
            raise _refused(exc.field, str(exc)) from None
        except ledger.InsufficientPoints as exc:
            session.rollback()
            raise _refused("points", f"Only {exc.available} points can be taken.") from None
        except ledger.LedgerError as exc:
            session.rollback()
            raise _refused("points", str(exc)) from None
        request_publish(session, shop_id)
        session.commit()
        return member_json(session, session.get(LoyaltyMember, member.id))
