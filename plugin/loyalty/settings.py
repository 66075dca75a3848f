"""The program's settings: one section (``loyalty``) of the shop's settings (plugin/admin/shop_settings.py),
read typed with ``program(session, shop_id)``.

Money-to-points (``earn_points`` per ``earn_per`` of the shop's currency, with or without shipping and
tax) follows plugin/loyalty/points.py's rounding rule. Amounts and rates are Decimals, points whole.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy.orm import Session

from plugin.admin.models import ShopSetting
from plugin.admin.shop_settings import SettingsSchema, read, section

SECTION = "loyalty"
MAX_RULE_POINTS = 1_000_000
HEX_COLOUR = validate.Regexp(r"^#[0-9a-fA-F]{6}$")


class Multiplier(Schema):
    """Points of a product's lines times ``multiplier`` (0 excludes the product)."""

    product_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    multiplier = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0, max=100))


class Campaign(Schema):
    """Bonus points between two dates (both included, in the shop's time zone): order points times
    ``multiplier``."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    multiplier = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=1, max=10))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)

    @validates_schema
    def _dates_in_order(self, data, **_kw):
        if data["ends_on"] < data["starts_on"]:
            raise ValidationError("The end is before the start.", "ends_on")


def _points(**kw):
    return fields.Integer(validate=validate.Range(min=0, max=MAX_RULE_POINTS), **kw)


class ProgramSettings(SettingsSchema):
    enabled = fields.Boolean(required=True)
    enrolment = fields.String(required=True, validate=validate.OneOf(("auto", "opt_in")))
    history = fields.String(required=True, validate=validate.OneOf(("credit", "zero")))  # when turned on
    point_name = fields.String(validate=validate.Length(max=30))  # "" : "points" in the shopper's language
    # earning on paid orders
    earn_points = fields.Decimal(required=True, as_string=True, places=4,
                                 validate=validate.Range(min=0, max=10000))
    earn_per = fields.Decimal(required=True, as_string=True, places=4,
                              validate=validate.Range(min=Decimal("0.01"), max=1000000))
    include_shipping = fields.Boolean(required=True)
    include_tax = fields.Boolean(required=True)
    multipliers = fields.List(fields.Nested(Multiplier), validate=validate.Length(max=200))
    campaigns = fields.List(fields.Nested(Campaign), validate=validate.Length(max=50))
    pending_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    # one-off and event points
    signup_points = _points(required=True)
    birthday_points = _points(required=True)
    first_order_points = _points(required=True)
    review_points = _points(required=True)
    social_follow_points = _points(required=True)
    # per customer, for the events above (not orders): at most this many points per period (0: no limit)
    event_points_limit = _points(required=True)
    event_points_period = fields.String(required=True, validate=validate.OneOf(("day", "week", "month", "year")))
    # expiry: after N months without activity (0: never), warned N days before
    expiry_months = fields.Integer(required=True, validate=validate.Range(min=0, max=120))
    expiry_warning_days = fields.Integer(required=True, validate=validate.Range(min=1, max=90))
    # tiers: what counts, over which period
    tier_basis = fields.String(required=True, validate=validate.OneOf(("spend", "points", "orders")))
    tier_period = fields.String(required=True, validate=validate.OneOf(("lifetime", "calendar_year", "rolling_12")))
    # referrals
    referrals_enabled = fields.Boolean(required=True)
    referral_advocate_points = _points(required=True)
    referral_friend_discount = fields.Decimal(required=True, as_string=True, places=2,
                                              validate=validate.Range(min=0, max=100000))
    referral_ip_limit = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    # branding of the widget
    primary_colour = fields.String(required=True, validate=HEX_COLOUR)
    text_colour = fields.String(required=True, validate=HEX_COLOUR)
    launcher_position = fields.String(required=True, validate=validate.OneOf(("right", "left")))


DEFAULTS = {
    "enabled": False, "enrolment": "auto", "history": "credit", "point_name": "",
    "earn_points": "1", "earn_per": "1", "include_shipping": False, "include_tax": True,
    "multipliers": [], "campaigns": [], "pending_days": 14,
    "signup_points": 50, "birthday_points": 100, "first_order_points": 0, "review_points": 25,
    "social_follow_points": 10, "event_points_limit": 0, "event_points_period": "month",
    "expiry_months": 12, "expiry_warning_days": 30,
    "tier_basis": "spend", "tier_period": "rolling_12",
    "referrals_enabled": True, "referral_advocate_points": 200, "referral_friend_discount": "20.00",
    "referral_ip_limit": 5,
    "primary_colour": "#1f5f8b", "text_colour": "#ffffff", "launcher_position": "right",
}


def program(session: Session, shop_id: int) -> dict:
    """The shop's program settings, typed (Decimals, dates), defaults where nothing is stored."""
    return read(session, shop_id, section(current_app, SECTION))


def program_shown(shop_id: int) -> Mapping:
    """``program`` as the storefront shows it: kept a few seconds in the process (``db.reads``), read-only.
    What decides a write (a redemption, a credit) reads ``program`` in its own transaction instead."""
    db = current_app.extensions["storecare.db"]

    def load():
        with db.uow() as session:
            return MappingProxyType(program(session, shop_id))

    return db.reads.get(("loyalty.program", shop_id), load, ShopSetting)
