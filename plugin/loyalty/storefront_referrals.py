"""The referral endpoints of the storefront (mounted under /storefront/api/v1 and /proxy/api/v1):

- ``GET /loyalty/referral``: the signed-in member's code, link and how many friends joined;
- ``POST /loyalty/referrals`` ``{code, email}``: a friend (a guest may) joins with a member's code and
  gets their welcome code. Bad input is a 422 problem; a refusal (a code not of this shop, a friend
  someone else invited, the platform refusing the code) a 409 problem; both name the field
  (``errors: {field: [message]}``), in the shopper's language. Rate limited and idempotent (Idempotency-Key) by the kit.
"""
from __future__ import annotations

from flask import g, request
from marshmallow import Schema, fields, validate

from plugin.extensions import db
from plugin.loyalty import referrals
from plugin.loyalty.members import member_of_customer
from plugin.loyalty.messages import _
from plugin.problems import Problem
from plugin.rate_limits import client_address
from plugin.storefront.routes import StorefrontRoutes, current_shopper, sign_in_required

routes = StorefrontRoutes("loyalty_referrals")
REFUSED = "urn:storecare:problem:referral-refused"


class ReferralSchema(Schema):
    code = fields.String()
    link = fields.String()
    friends = fields.Integer()
    rewarded = fields.Integer()
    pending = fields.Integer()


class FriendSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    email = fields.Email(required=True, validate=validate.Length(max=320))


class WelcomeSchema(Schema):
    discount_code = fields.String(allow_none=True)
    amount = fields.Decimal(as_string=True)
    currency = fields.String()
    held = fields.Boolean()


def _address() -> str:
    if g.get("storefront_mount") == "proxy":  # through Shopify's proxy: the shopper's is the first hop
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        if forwarded:
            return forwarded[:64]
    return client_address()


@routes.get("/loyalty/referral", summary="The member's referral code and link", response=ReferralSchema,
            problems=(404,))
def referral():
    shopper = current_shopper()
    if shopper.is_guest or shopper.customer_id is None:
        raise sign_in_required(_("Sign in to invite friends"), _("Guests have no referral link."))
    with db.uow() as session:
        member = member_of_customer(session, shopper.shop_id, shopper.customer_id)
        if member is None or member.status != "active":
            raise Problem(404, "Not a member", _("Join the loyalty program to invite friends."))
        return referrals.summary(session, member)


@routes.post("/loyalty/referrals", summary="A friend joins with a member's referral code", body=FriendSchema,
             response=WelcomeSchema, status=201, problems=(409, 422))
def join(body):
    shopper = current_shopper()
    with db.uow() as session:
        try:
            welcome = referrals.register_friend(session, shopper.shop_id, body["code"], body["email"], _address())
        except referrals.ReferralRefused as exc:
            raise Problem(409, "Conflict", exc.message, type_=REFUSED,
                          errors={exc.field: [exc.message]}) from None
        return {"discount_code": welcome.discount_code, "amount": welcome.amount, "currency": welcome.currency,
                "held": welcome.held}
