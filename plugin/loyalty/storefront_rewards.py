"""The loyalty widget's reward endpoints, mounted under /storefront/api/v1 and Shopify's /proxy/api/v1:

- ``GET /loyalty/rewards``: ``{"balance": <approved points>, "rewards": [{"id", "name", "kind", "cost",
  "value", "min_points", "max_points", "affordable"}]}``, the rewards the signed-in member may redeem;
- ``POST /loyalty/redemptions`` ``{"reward_id", "points"?}`` (with an Idempotency-Key): 201
  ``{"id", "code", "reward", "reward_name", "points", "kind", "value", "expires_at", "status"}``; refused:
  a 422 problem naming the field (``reward``, ``points``, ``member``, ``program``) with a sentence in the
  shopper's language; the store not answering: a 503 problem (the same key again finishes it);
- ``GET /loyalty/redemptions``: ``{"redemptions": [...]}``, the member's codes, newest first.

A guest gets the 401 sign-in problem. The member is the shopper's customer in this shop only: a shopper
never sees or spends another shop's rewards or points.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from flask_babel import gettext
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, bindparam, select

from plugin.api.operations import Reply
from plugin.extensions import db
from plugin.loyalty.models import LoyaltyMember, Reward, Tier
from plugin.loyalty.redemption import RedemptionRefused, enrolled_member, redeem, redemptions_of
from plugin.loyalty.rewards import list_rewards
from plugin.loyalty.settings import program, program_shown
from plugin.loyalty.storefront import program_off
from plugin.loyalty.tiers import effective_tier
from plugin.problems import Problem
from plugin.row_changes import MEMBER_TTL, member_key
from plugin.storefront.identity import Shopper
from plugin.storefront.routes import StorefrontRoutes, current_shopper, sign_in_required
from plugin.sync.models import Customer

routes = StorefrontRoutes("loyalty_rewards")
REFUSED_PROBLEM = "urn:storecare:problem:loyalty-redemption-refused"
STORE_BUSY_PROBLEM = "urn:storecare:problem:loyalty-store-unavailable"


class RewardSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["fixed_amount", "percentage", "free_shipping",
                                                           "free_product", "store_credit", "variable"]})
    cost = fields.Integer(required=True, metadata={"description": "Points; for a variable reward, the points "
                                                                  "that buy `value` (the step)."})
    value = fields.Decimal(as_string=True, places=2, required=True,
                           metadata={"description": "The amount off or of credit in the shop's currency, the "
                                                    "percentage, or the free-shipping cap (0: none)."})
    min_points = fields.Integer(allow_none=True)
    max_points = fields.Integer(allow_none=True)
    affordable = fields.Boolean(required=True, metadata={"description": "The member's available points cover "
                                                                        "it (a variable reward: its minimum)."})


_OFFER_SCHEMA = RewardSchema()


class RewardListSchema(Schema):
    balance = fields.Integer(required=True, metadata={"description": "The member's available points."})
    rewards = fields.List(fields.Nested(RewardSchema), required=True)


class RedeemSchema(Schema):
    reward_id = fields.Integer(required=True, validate=validate.Range(min=1))
    points = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                            metadata={"description": "The points to use, for a variable reward."})


class RedemptionSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(allow_none=True, metadata={"description": "The code to enter at checkout; null for "
                                                                    "store credit."})
    reward = fields.Integer(allow_none=True, attribute="reward_id")
    reward_name = fields.String(allow_none=True)
    points = fields.Integer(required=True)
    kind = fields.String(required=True)
    value = fields.Decimal(as_string=True, places=2, required=True)
    expires_at = fields.DateTime(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["issued", "used"]})


class RedemptionListSchema(Schema):
    redemptions = fields.List(fields.Nested(RedemptionSchema), required=True)


def _member(session, *, enrol: bool) -> tuple[int, LoyaltyMember | None]:
    """The shop and the shopper's member (None: not a member); a guest is asked to sign in; the
    program off is a 404 problem. ``enrol``: with auto-enrolment, a customer becomes a member now."""
    shopper = _signed_in()
    if not program(session, shopper.shop_id)["enabled"]:
        raise program_off()
    return shopper.shop_id, enrolled_member(db, shopper.shop_id, shopper.customer_id, enrol=enrol)


def _signed_in() -> Shopper:
    """The shopper, who must be signed in: a guest is asked to sign in."""
    shopper = current_shopper()
    if shopper.is_guest:
        raise sign_in_required(gettext("Sign in to use your points"), gettext("Sign in to the store first."))
    return shopper


@routes.get("/loyalty/rewards", summary="The rewards the member may redeem", response=RewardListSchema,
            problems=(404,))
def rewards():
    """The signed-in member's rewards, each saying whether their available points cover it. A customer
    who is not a member yet sees the rewards offered to everyone, none affordable.

    The widget asks for this on every open, so it is read lean: the program, the rewards and the tiers
    as kept a few seconds in the process (``db.reads``), the member as one row. Redeeming reads all of
    them again in its own transaction."""
    shopper = _signed_in()
    if not program_shown(shopper.shop_id)["enabled"]:
        raise program_off()
    member = _member_row(shopper)
    offered = _offers(shopper.shop_id)
    if member is None:
        offered, balance = [r for r in offered if not r.tier_ids], 0
    else:
        balance = member.approved
        if any(r.tier_ids for r in offered):
            tier = effective_tier(member.tier_id, member.manual_tier_id, _tier_positions(shopper.shop_id))
            offered = [r for r in offered if not r.tier_ids or tier in r.tier_ids]
    # in RewardListSchema's shape already: each offer's document is made once, when the rewards are read
    return Reply({"balance": balance, "rewards": [{**r.document, "affordable": balance >= r.least}
                                                  for r in offered]}, dumped=True)


_MEMBER = select(LoyaltyMember.approved, LoyaltyMember.tier_id, LoyaltyMember.manual_tier_id).where(
    LoyaltyMember.shop_id == bindparam("shop_id"), LoyaltyMember.customer_id == bindparam("customer_id"))
_TIER_POSITIONS = select(Tier.id, Tier.position).where(Tier.shop_id == bindparam("shop_id"))
_CUSTOMER_AND_MEMBER = select(
    Customer.id.label("customer_id"), LoyaltyMember.id.label("member_id"), LoyaltyMember.approved,
    LoyaltyMember.tier_id, LoyaltyMember.manual_tier_id,
).select_from(Customer).outerjoin(
    LoyaltyMember, and_(LoyaltyMember.customer_id == Customer.id, LoyaltyMember.shop_id == Customer.shop_id),
).where(Customer.shop_id == bindparam("shop_id"), Customer.platform_id == bindparam("platform_id"),
        Customer.deleted_at.is_(None))


def _member_row(shopper: Shopper):
    """The member's balance and tiers as one row (None: not a member, or no customer mirrored).

    On PostgreSQL, while this process hears which members are written (plugin/row_changes.py), a
    member's row is kept in the process, and so is the shopper's customer id: most reads send nothing
    to the database. Otherwise (SQLite, or not listening yet), when the shopper's customer id is not
    known yet, one statement finds it and the member (and the shopper learns it)."""
    changes = db.row_changes()
    if shopper.customer_known or (changes is not None and changes.listening()):
        if shopper.customer_id is None:
            return None
        return _member_of(shopper.shop_id, shopper.customer_id, changes)
    row = _first(db.read(_CUSTOMER_AND_MEMBER, {"shop_id": shopper.shop_id,
                                                "platform_id": shopper.platform_customer_id}))
    shopper.learn_customer(row.customer_id if row is not None else None)
    return row if row is not None and row.member_id is not None else None


def _first(rows: list):
    return rows[0] if rows else None


def _member_of(shop_id: int, customer_id: int, changes):
    def load():
        return _first(db.read(_MEMBER, {"shop_id": shop_id, "customer_id": customer_id}))

    if changes is None:
        return load()
    return db.reads.get(member_key(shop_id, customer_id), load, LoyaltyMember, ttl=MEMBER_TTL,
                        keep=lambda _row: changes.listening())


@dataclass(frozen=True)
class Offer:
    """An active reward as the storefront lists it, kept between requests (no ORM object): its
    document in ``RewardSchema``'s shape but for ``affordable``, the points that make it affordable
    (a variable reward: its minimum) and the tiers it is limited to (none: everyone)."""

    document: Mapping
    least: int
    tier_ids: frozenset[int]

    @classmethod
    def of(cls, reward: Reward) -> Offer:
        document = _OFFER_SCHEMA.dump({"id": reward.id, "name": reward.name, "kind": reward.kind,
                                       "cost": reward.cost, "value": reward.value, "min_points": reward.min_points,
                                       "max_points": reward.max_points, "affordable": False})
        del document["affordable"]
        least = reward.min_points or reward.cost if reward.kind == "variable" else reward.cost
        return cls(MappingProxyType(document), least, frozenset(int(t) for t in reward.tier_ids or ()))


def _offers(shop_id: int) -> tuple[Offer, ...]:
    def load():
        with db.uow() as session:
            return tuple(Offer.of(r) for r in list_rewards(session, shop_id, active_only=True))

    return db.reads.get(("loyalty.rewards", shop_id), load, Reward)


def _tier_positions(shop_id: int) -> dict[int, int]:
    def load():
        return MappingProxyType(dict(db.read(_TIER_POSITIONS, {"shop_id": shop_id})))

    return db.reads.get(("loyalty.tiers", shop_id), load, Tier)


@routes.post("/loyalty/redemptions", summary="Redeem a reward for a code", body=RedeemSchema,
             response=RedemptionSchema, status=201, problems=(404, 422, 503))
def make_redemption(body):
    """Spends the member's points on the reward and answers with the code the store made for them.
    Refused (an unknown reward, too few points, points a variable reward does not allow, the store
    refusing the code): a 422 problem whose ``errors`` name the field, nothing spent."""
    with db.uow() as session:
        shop_id, member = _member(session, enrol=True)
    if member is None:
        raise _refused("member", gettext("Join the loyalty program first."))
    key = _key()
    try:
        done = redeem(db, shop_id, member.id, body["reward_id"], key=key, points=body["points"])
    except RedemptionRefused as refused:
        raise _refused(refused.field, refused.message) from None
    if done.status == "pending":
        raise Problem(503, "Service Unavailable", gettext("The store did not answer. Please try again."),
                      type_=STORE_BUSY_PROBLEM, headers={"Retry-After": "5"})
    return _redemption(done)


@routes.get("/loyalty/redemptions", summary="The member's reward codes", response=RedemptionListSchema,
            problems=(404,))
def list_redemptions():
    """The codes (and store credits) the member redeemed, newest first, with whether an order used them."""
    with db.uow() as session:
        shop_id, member = _member(session, enrol=False)
        found = redemptions_of(session, shop_id, member.id) if member is not None else []
        return {"redemptions": [_redemption(r, session) for r in found]}


def _key() -> str:
    """The redemption's key: the request's Idempotency-Key (the kit checked it), so the shopper's retry
    after a lost answer continues the same redemption."""
    from flask import request

    from plugin.storefront import idempotency

    return request.headers.get(idempotency.HEADER, "").strip()


def _refused(field: str, message: str) -> Problem:
    return Problem(422, "Unprocessable Content", message, type_=REFUSED_PROBLEM, errors={field: [message]})


def _redemption(redemption, session=None) -> dict:
    if session is None:
        with db.uow() as own:
            return _redemption(redemption, own)
    reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
    return {"id": redemption.id, "code": redemption.code, "reward_id": redemption.reward_id,
            "reward_name": reward.name if reward is not None and reward.shop_id == redemption.shop_id else None,
            "points": redemption.points, "kind": redemption.kind, "value": redemption.value,
            "expires_at": redemption.expires_at, "status": redemption.status}
