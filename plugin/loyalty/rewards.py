"""Rewards: what a shop's members can spend points on.

A reward is one of ``REWARD_KINDS``: a fixed amount off, a percentage off, free shipping (``value``: the
highest shipping price it covers, 0 no cap), a free product (``free_product_id``), store credit
(``value`` in the shop's currency), or a variable amount (``cost`` points buy ``value`` of money; the
member chooses the points between ``min_points`` and ``max_points``, in steps of ``cost``).

Every function takes the shop: another shop's reward is never found, changed or shown. Writes happen
in the caller's session; the caller commits.
"""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from flask_babel import force_locale, gettext, lazy_gettext
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.base import Capability, DiscountClass
from adapters.messages import N_
from plugin.db import MAX_INTEGER
from plugin.i18n import shop_language
from plugin.loyalty.models import REWARD_KINDS, LoyaltyMember, Reward
from plugin.loyalty.tiers import tier_of
from plugin.shops.models import Shop
from plugin.storefront.schemas import money_display

MAX_COST = 10_000_000
MAX_VALUE = Decimal("1000000")
CENT = Decimal("0.01")


class RewardNotFound(LookupError):
    """No such reward in the shop."""


def _positive_money(**kw):
    return fields.Decimal(as_string=True, places=2, validate=validate.Range(
        min=0, max=MAX_VALUE, error=lazy_gettext("Enter an amount from {min} to {max}.")), **kw)


class RewardSchema(Schema):
    """A reward as a merchant (or the demo) defines it; the messages name the field at fault."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(REWARD_KINDS))
    cost = fields.Integer(required=True, validate=validate.Range(
        min=1, max=MAX_COST, error=lazy_gettext("Points are a whole number from {min} to {max}.")))
    value = _positive_money(load_default=Decimal("0"))
    min_order = _positive_money(allow_none=True, load_default=None)
    product_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                              validate=validate.Length(max=100), load_default=list)
    collection_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                 validate=validate.Length(max=100), load_default=list)
    free_product_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=64))
    combines_with = fields.List(fields.String(validate=validate.OneOf([c.value for c in DiscountClass])),
                                load_default=list)
    code_expiry_days = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=3650))
    min_points = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=MAX_COST))
    max_points = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=MAX_COST))
    tier_ids = fields.List(fields.Integer(), load_default=list)
    active = fields.Boolean(load_default=True)
    position = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000))

    @validates_schema
    def _kind_rules(self, data, partial=False, **_kw):
        kind = data.get("kind")
        value = data.get("value") or Decimal("0")
        if kind == "percentage" and not Decimal(1) <= value <= Decimal(100):
            raise ValidationError(str(lazy_gettext("A percentage is between 1 and 100.")), "value")
        if kind in ("fixed_amount", "store_credit", "variable") and value <= 0:
            raise ValidationError(str(lazy_gettext("Enter an amount above zero.")), "value")
        if kind == "free_product" and not data.get("free_product_id"):
            raise ValidationError(str(lazy_gettext("Choose the product this reward gives.")), "free_product_id")
        if kind in ("free_shipping", "free_product") and (data.get("product_ids") or data.get("collection_ids")):
            raise ValidationError(str(lazy_gettext("This kind of reward cannot be limited to products.")),
                                  "product_ids")
        if data.get("product_ids") and data.get("collection_ids"):
            raise ValidationError(str(lazy_gettext("Limit a reward to products or to collections, not both.")),
                                  "collection_ids")
        if kind == "variable":
            low, high, step = data.get("min_points"), data.get("max_points"), data.get("cost")
            if low is None or high is None:
                raise ValidationError(str(lazy_gettext("Enter the fewest and the most points a member may use.")),
                                      "min_points" if low is None else "max_points")
            if high < low:
                raise ValidationError(str(lazy_gettext("The most points are fewer than the fewest.")), "max_points")
            if step and (low % step or high % step):
                raise ValidationError(str(lazy_gettext("The fewest and the most points are multiples of the "
                                                       "cost.")), "min_points")


def validate_reward(data: dict) -> dict:
    """The reward's values, typed; ValidationError (messages by field) if they are not acceptable."""
    return RewardSchema().load(data)


def create_reward(session: Session, shop_id: int, data: dict) -> Reward:
    values = validate_reward(data)
    _check_tiers(session, shop_id, values["tier_ids"])
    reward = Reward(shop_id=shop_id, **values)
    session.add(reward)
    session.flush()
    return reward


def update_reward(session: Session, shop_id: int, reward_id: int, data: dict) -> Reward:
    """Change a reward (the whole definition, validated again). Redemptions made already keep what
    they were issued with."""
    reward = get_reward(session, shop_id, reward_id)
    current = RewardSchema().dump(reward)
    values = validate_reward({**current, **data})
    _check_tiers(session, shop_id, values["tier_ids"])
    for name, value in values.items():
        setattr(reward, name, value)
    session.flush()
    return reward


def deactivate_reward(session: Session, shop_id: int, reward_id: int) -> Reward:
    """Stop offering a reward (kept for the redemptions that name it)."""
    reward = get_reward(session, shop_id, reward_id)
    reward.active = False
    session.flush()
    return reward


def a_reward_id(value) -> bool:
    """Whether ``value`` can name a reward: an id beyond the column's range names none, and must not
    reach the database, which refuses it with an error (loyalty_rewards.id is an INTEGER), not an empty answer."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INTEGER


def get_reward(session: Session, shop_id: int, reward_id: int) -> Reward:
    if not a_reward_id(reward_id):
        raise RewardNotFound(reward_id)
    reward = session.scalar(select(Reward).where(Reward.shop_id == shop_id, Reward.id == reward_id))
    if reward is None:
        raise RewardNotFound(reward_id)
    return reward


def list_rewards(session: Session, shop_id: int, *, active_only: bool = False) -> list[Reward]:
    query = select(Reward).where(Reward.shop_id == shop_id)
    if active_only:
        query = query.where(Reward.active.is_(True))
    return list(session.scalars(query.order_by(Reward.position, Reward.cost, Reward.id)))


def visible_to(session: Session, reward: Reward, member: LoyaltyMember) -> bool:
    """Whether ``member`` may redeem ``reward``: active, of the member's shop, and of one of its tiers
    if the reward is limited to tiers."""
    if not reward.active or reward.shop_id != member.shop_id:
        return False
    if not reward.tier_ids:
        return True
    tier = tier_of(session, member)
    return tier is not None and tier.id in {int(t) for t in reward.tier_ids}


def visible_rewards(session: Session, shop_id: int, member: LoyaltyMember) -> list[Reward]:
    """The active rewards ``member`` may redeem, in the shop's order."""
    if member.shop_id != shop_id:
        return []
    return [r for r in list_rewards(session, shop_id, active_only=True) if visible_to(session, r, member)]


def variable_value(reward: Reward, points: int) -> Decimal:
    """What ``points`` buy of a variable reward: ``value`` per ``cost`` points, rounded down to a cent."""
    return (reward.value * points / reward.cost).quantize(CENT, rounding=ROUND_DOWN)


# The default set: each name a catalogue message, filled with the reward's value in the shop's money.
DEFAULT_REWARDS = (
    (N_("%(amount)s off your order"), {"kind": "fixed_amount", "cost": 500, "value": "10.00", "position": 1}),
    (N_("%(percent)s%% off your order"), {"kind": "percentage", "cost": 800, "value": "10", "position": 2}),
    (N_("Free shipping"), {"kind": "free_shipping", "cost": 400, "value": "0", "position": 3}),
    (N_("Points for money off"), {"kind": "variable", "cost": 100, "value": "1.00", "min_points": 100,
                                  "max_points": 5000, "position": 4}),
)


def default_rewards(session: Session, shop_id: int) -> list[Reward]:
    """A sensible set of rewards for a shop that has none yet (the demo, a program turned on for the
    first time); nothing is added to a shop that has any reward. Names are the shop's to edit, and
    are written in the shop's language and money: its shoppers read them, whoever turned the program
    on (a merchant whose admin is in another language, a job without a request)."""
    if session.scalar(select(func.count()).select_from(Reward).where(Reward.shop_id == shop_id)):
        return []
    shop = session.get(Shop, shop_id)
    return [create_reward(session, shop_id, {**values, "name": shop_text(shop, name, values["value"])})
            for name, values in DEFAULT_REWARDS]


def shop_text(shop: Shop, message: str, value: str = "0") -> str:
    """``message`` in the shop's language, its ``%(amount)s`` the ``value`` in the shop's money and its
    ``%(percent)s`` the ``value`` as it is."""
    locale = shop_language(shop)
    amount = money_display(Decimal(value), shop.currency, locale)
    with force_locale(locale):
        return gettext(message, amount=amount, percent=value)


def platform_needs(session: Session, shop) -> tuple[Capability, ...]:
    """What the rewards need from the shop's platform now: store credit while a store-credit reward is
    offered."""
    offered = session.scalar(select(Reward.id).where(Reward.shop_id == shop.id, Reward.active.is_(True),
                                                     Reward.kind == "store_credit").limit(1))
    return (Capability.STORE_CREDIT,) if offered is not None else ()


def _check_tiers(session: Session, shop_id: int, tier_ids: list[int]) -> None:
    from plugin.loyalty.models import Tier

    if not tier_ids:
        return
    found = set(session.scalars(select(Tier.id).where(Tier.shop_id == shop_id, Tier.id.in_(tier_ids))))
    if found != set(tier_ids):
        raise ValidationError({"tier_ids": [str(lazy_gettext("Choose tiers of this shop."))]})
