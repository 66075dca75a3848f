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

from plugin.api.operations import operation
from plugin.api.schemas import record_id
from plugin.api.views import _authenticate
from plugin.extensions import db
from plugin.loyalty import adjustments, ledger, service
from plugin.loyalty.settings import MAX_RULE_POINTS
from plugin.problems import Problem

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


def _problem(exc: service.Refused) -> Problem:
    return Problem(exc.status, "Not Found" if exc.status == 404 else "Conflict", str(exc),
                   errors={exc.field: [str(exc)]})


@bp.post("/events")
@operation(summary="Credit points for an event", tag=TAG, body=EventSchema, response=EventCreditedSchema,
           status=201, security=SECURITY, problems=(404, 409), rate_limited=True)
def post_event(body):
    """A review, a social follow or an event of your own earned a customer points (once per key)."""
    try:
        return service.credit_event(db, g.api_key.shop_id, event=body["event"], key=body["idempotency_key"],
                                    points=body.get("points"), customer_email=body.get("customer_email"),
                                    customer_id=body.get("customer_id"))
    except service.Refused as exc:
        raise _problem(exc) from None


@bp.get("/members")
@operation(summary="Find members", tag=TAG, query=MembersQuery, response=MemberListSchema, security=SECURITY,
           rate_limited=True)
def members(query):
    """The member with this email (an empty list when none)."""
    found = service.find_member(db, g.api_key.shop_id, query["email"])
    return {"data": [found] if found is not None else []}


@bp.post("/members/<int:member_id>/adjustments")
@operation(summary="Adjust a member's points", tag=TAG, body=AdjustmentSchema, response=MemberSchema, status=201,
           security=SECURITY, problems=(404, 409), rate_limited=True)
def adjust(member_id: int, body):
    """Add (points > 0) or take (< 0) points with the reason the member reads; never below zero."""
    try:
        return service.adjust_member(db, g.api_key.shop_id, member_id, body["points"], reason=body["reason"],
                                     actor=f"API key {g.api_key.name}"[:320], key=body.get("idempotency_key"))
    except service.Refused as exc:
        raise _problem(exc) from None
