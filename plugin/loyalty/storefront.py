"""The loyalty program's storefront endpoints, for the widget and the "earn N points" blocks.

Mounted by the storefront kit (plugin/storefront/routes.py) under the direct API and Shopify's app
proxy, and documented in /api/openapi.json:

- ``GET /loyalty/program`` (a guest too): the program as a shopper sees it: point name, enrolment,
  branding, ways to earn, tiers;
- ``GET /loyalty/earn?amount=`` (a guest too): the points an amount earns at the shop's rate;
- ``GET /loyalty/me``: the signed-in shopper's membership, balance, tier and progress, birthday set;
- ``GET /loyalty/history?page=``: their ledger entries, newest first, reasons in their language;
- ``POST /loyalty/join`` (opt-in programs) and ``POST /loyalty/birthday``.

A program turned off answers 404 on every one of them (and its widget is not in the manifest: see
``widget_enabled``). Every query is filtered by the shopper's shop and customer.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from flask import request
from flask_babel import force_locale, gettext
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.extensions import db
from plugin.i18n import SUPPORTED, shop_language
from plugin.loyalty.earning import campaign_factor, shop_day
from plugin.loyalty.members import member_of_customer
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.loyalty.points import points_for
from plugin.loyalty.reports import render_reason
from plugin.loyalty.settings import program, program_shown
from plugin.loyalty.tiers import earn_multiplier, measures, tier_of
from plugin.problems import Problem
from plugin.shops.models import Shop
from plugin.storefront.identity import Shopper
from plugin.storefront.routes import SIGN_IN_PROBLEM, StorefrontRoutes, current_shopper, sign_in_required
from plugin.storefront.schemas import money_display, money_string
from plugin.storefront.widgets import shop_by_domain
from plugin.sync.models import Customer

routes = StorefrontRoutes("loyalty_program")  # "loyalty_api" is the merchant API's blueprint
HISTORY_PAGE = 20
AMOUNT = r"^[0-9]{1,9}(\.[0-9]{1,4})?$"  # a plain decimal below a billion
OFF_PROBLEM = "urn:storecare:problem:loyalty-off"
NOT_MEMBER_PROBLEM = "urn:storecare:problem:loyalty-not-member"


# -- who asks, and whether the shop runs a program -----------------------------------------------

def widget_enabled(session: Session, shop: Shop) -> bool:
    """The manifest lists the loyalty widget only for a shop whose program is on (as kept a few seconds:
    the loader asks for the manifest on every page of the store)."""
    return bool(program_shown(shop.id)["enabled"])


def launcher_side(session: Session, shop: Shop) -> str:
    """The manifest places the loyalty launcher (and so its panel) on the side the merchant chose."""
    return program_shown(shop.id)["launcher_position"]


def program_off() -> Problem:
    """The one answer of every storefront loyalty endpoint (rewards and redemptions too) when the shop
    runs no program, in the shopper's language."""
    return Problem(404, "Not Found", gettext("The loyalty program is not running in this store."),
                   type_=OFF_PROBLEM)


def _shop_and_settings(session: Session, shop_id: int, *, shown: bool = False) -> tuple[Shop, Mapping]:
    """The shop and its program; ``shown``: as kept a few seconds for what the storefront reads
    (``program_shown``), else read in ``session`` for what decides a write."""
    shop = session.get(Shop, shop_id)
    if shop is None or shop.status != "installed":
        raise program_off()
    settings = program_shown(shop.id) if shown else program(session, shop.id)
    if not settings["enabled"]:
        raise program_off()
    return shop, settings


def _any_shopper(shop_domain: str | None) -> Shopper:
    """The shopper, or for a page that names nobody (a guest on WooCommerce has no token) a guest of
    the shop named by ``?domain=``: what a guest may read is public."""
    try:
        return current_shopper()
    except Problem as problem:
        if problem.type != SIGN_IN_PROBLEM or not shop_domain:
            raise
    with db.uow() as session:
        shop = shop_by_domain(session, shop_domain)
        if shop is None:
            raise program_off()
        return Shopper(shop.id, None, None)


def _customer(shopper: Shopper, title: str) -> Shopper:
    if shopper.is_guest:
        raise sign_in_required(title, gettext("Sign in to the store to see your points."))
    return shopper


def _locale(query: dict, shop: Shop) -> str:
    if query.get("locale"):
        return query["locale"]
    return shop_language(shop)


# -- schemas --------------------------------------------------------------------------------------

class _Query(Schema):
    class Meta:
        unknown = EXCLUDE  # proxy parameters, cache busters

    locale = fields.String(load_default=None, validate=validate.OneOf(SUPPORTED),
                           metadata={"description": "The language of texts and money; default: the shop's."})


class PublicQuery(_Query):
    domain = fields.String(load_default=None, validate=validate.Length(max=255),
                           metadata={"description": "The shop's domain, for a page that sends no shopper token."})


class EarnQuery(PublicQuery):
    amount = fields.String(required=True, validate=validate.Regexp(AMOUNT),
                           metadata={"description": "An amount in the shop's currency, e.g. 129.99.",
                                     "pattern": AMOUNT})


class HistoryQuery(_Query):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))


class BrandingSchema(Schema):
    primary_colour = fields.String()
    text_colour = fields.String()
    launcher_position = fields.String()


class EarnRateSchema(Schema):
    points = fields.String(metadata={"description": "Points per ``per`` (a decimal, e.g. \"2.5\")."})
    per = fields.String(metadata={"description": "The amount of the shop's currency, e.g. \"10.00\"."})
    per_display = fields.String(metadata={"description": "``per`` formatted for the shopper, e.g. \"10,00 zł\"."})
    currency = fields.String()
    include_shipping = fields.Boolean()
    include_tax = fields.Boolean()


class WayToEarnSchema(Schema):
    kind = fields.String(metadata={"description": "signup, birthday, first_order, review, social, referral"})
    points = fields.Integer()


class PerksSchema(Schema):
    earn_multiplier = fields.String()
    birthday_bonus = fields.Integer()
    free_shipping = fields.Boolean()


class TierSchema(Schema):
    name = fields.String()
    position = fields.Integer()
    threshold = fields.String(metadata={"description": "Entry threshold on the program's tier basis."})
    perks = fields.Nested(PerksSchema)


class ProgramSchema(Schema):
    enabled = fields.Boolean()
    point_name = fields.String(metadata={"description": "The merchant's name for points; empty: \"points\"."})
    enrolment = fields.String(metadata={"description": "auto or opt_in"})
    branding = fields.Nested(BrandingSchema)
    earn = fields.Nested(EarnRateSchema)
    ways = fields.List(fields.Nested(WayToEarnSchema))
    tier_basis = fields.String(metadata={"description": "spend, points or orders"})
    tier_period = fields.String(metadata={"description": "lifetime, calendar_year or rolling_12"})
    tiers = fields.List(fields.Nested(TierSchema))
    referrals = fields.Boolean()


class EarnSchema(Schema):
    amount = fields.String()
    points = fields.Integer()
    currency = fields.String()
    point_name = fields.String(metadata={"description": "The merchant's name for points; empty: \"points\"."})


class MemberBalanceSchema(Schema):
    pending = fields.Integer()
    approved = fields.Integer()
    spent = fields.Integer()
    lifetime = fields.Integer()


class ProgressSchema(Schema):
    basis = fields.String(metadata={"description": "spend, points or orders"})
    current = fields.String(metadata={"description": "The member's measure on the basis."})
    next_tier = fields.String(allow_none=True)
    threshold = fields.String(allow_none=True)
    remaining = fields.String(allow_none=True)
    remaining_display = fields.String(allow_none=True, metadata={"description": "Money formatted (spend)."})
    percent = fields.Integer()


class MeSchema(Schema):
    member = fields.Boolean()
    can_join = fields.Boolean()
    first_name = fields.String(allow_none=True)
    balance = fields.Nested(MemberBalanceSchema)
    tier = fields.String(allow_none=True)
    progress = fields.Nested(ProgressSchema, allow_none=True)
    birthday_set = fields.Boolean()
    referral_code = fields.String(allow_none=True)


class EntrySchema(Schema):
    points = fields.Integer()
    state = fields.String()
    reason = fields.String()
    source = fields.String()
    created_at = fields.DateTime()


class HistorySchema(Schema):
    entries = fields.List(fields.Nested(EntrySchema))
    page = fields.Integer()
    next_page = fields.Integer(allow_none=True)


class JoinBody(Schema):
    class Meta:
        unknown = EXCLUDE


class BirthdayBody(Schema):
    date = fields.Date(required=True)


# -- what the program is -------------------------------------------------------------------------

WAYS = (("signup", "signup_points"), ("birthday", "birthday_points"), ("first_order", "first_order_points"),
        ("review", "review_points"), ("social", "social_follow_points"))


def program_view(session: Session, shop: Shop, settings: dict, locale: str) -> dict:
    ways = [{"kind": kind, "points": settings[key]} for kind, key in WAYS if settings[key] > 0]
    if settings["referrals_enabled"] and settings["referral_advocate_points"] > 0:
        ways.append({"kind": "referral", "points": settings["referral_advocate_points"]})
    tiers = session.scalars(select(Tier).where(Tier.shop_id == shop.id).order_by(Tier.position, Tier.id)).all()
    per = Decimal(settings["earn_per"])
    return {
        "enabled": True, "point_name": settings.get("point_name") or "", "enrolment": settings["enrolment"],
        "branding": {k: settings[k] for k in ("primary_colour", "text_colour", "launcher_position")},
        "earn": {"points": _plain(settings["earn_points"]), "per": money_string(per, shop.currency),
                 "per_display": money_display(per, shop.currency, locale), "currency": shop.currency,
                 "include_shipping": settings["include_shipping"], "include_tax": settings["include_tax"]},
        "ways": ways, "tier_basis": settings["tier_basis"], "tier_period": settings["tier_period"],
        "tiers": [{"name": t.name, "position": t.position, "threshold": _plain(t.entry_threshold),
                   "perks": {"earn_multiplier": _plain(t.earn_multiplier), "birthday_bonus": t.birthday_bonus,
                             "free_shipping": t.free_shipping}} for t in tiers],
        "referrals": bool(settings["referrals_enabled"]),
    }


def _plain(value) -> str:
    """A Decimal without trailing zeros: "2.5", "10", "1.25"."""
    return format(Decimal(value).normalize(), "f")


# -- a member's tier and the way to the next (the measure is the tiers' own) -----------------------

def tier_measure(session: Session, member: LoyaltyMember, shop: Shop, settings: dict) -> Decimal:
    """The member's measure on the program's basis and period, as tier placement measures it."""
    for _id, _tier, _manual, value in measures(session, shop.id, basis=settings["tier_basis"],
                                               period=settings["tier_period"], member_ids=[member.id]):
        return value
    return Decimal(0)


def progress(session: Session, member: LoyaltyMember | None, shop: Shop, settings: dict, locale: str) -> dict | None:
    tiers = session.scalars(select(Tier).where(Tier.shop_id == shop.id).order_by(Tier.position, Tier.id)).all()
    if not tiers or member is None:
        return None
    basis = settings["tier_basis"]
    measure = tier_measure(session, member, shop, settings)
    current = tier_of(session, member)
    above = [t for t in tiers if (current is None or t.position > current.position) and t.entry_threshold > 0]
    nxt = next((t for t in above if t.entry_threshold > measure), None) if current is not None else \
        next((t for t in tiers if t.entry_threshold > measure), None)
    view = {"basis": basis, "current": _amount(measure, basis), "next_tier": None, "threshold": None,
            "remaining": None, "remaining_display": None, "percent": 100}
    if nxt is not None:
        remaining = nxt.entry_threshold - measure
        view.update(next_tier=nxt.name, threshold=_amount(nxt.entry_threshold, basis),
                    remaining=_amount(remaining, basis),
                    remaining_display=money_display(remaining, shop.currency, locale) if basis == "spend" else None,
                    percent=min(99, math.floor(measure * 100 / nxt.entry_threshold)))
    return view


def _amount(value: Decimal, basis: str) -> str:
    if basis == "spend":
        return str(Decimal(value).quantize(Decimal("0.01")))
    return str(int(value))


# -- the endpoints --------------------------------------------------------------------------------

@routes.get("/loyalty/program", summary="The shop's loyalty program, as a shopper sees it", query=PublicQuery,
            response=ProgramSchema, problems=(404,))
def program_endpoint(query):
    """What a guest or a member reads about the program: point name, enrolment, branding, ways to
    earn, tiers. 404 when the shop's program is off."""
    shopper = _any_shopper(query["domain"])
    with db.uow() as session:
        shop, settings = _shop_and_settings(session, shopper.shop_id, shown=True)
        return program_view(session, shop, settings, _locale(query, shop))


@routes.get("/loyalty/earn", summary="The points an amount earns", query=EarnQuery, response=EarnSchema,
            problems=(404,))
def earn(query):
    """The whole points ``amount`` (in the shop's currency) earns at the shop's rate and the bonus
    campaign running today; a signed-in member's tier multiplier counts too (a guest: the base rate)."""
    shopper = _any_shopper(query["domain"])
    with db.uow() as session:
        shop, settings = _shop_and_settings(session, shopper.shop_id, shown=True)
        multiplier = Decimal(1)
        if shopper.customer_id is not None:
            member = member_of_customer(session, shop.id, shopper.customer_id)
            if member is not None:
                multiplier = earn_multiplier(session, member)
        asked = Decimal(query["amount"])
        amount = asked * campaign_factor(settings, shop_day(shop, None))
        points = points_for(amount, settings["earn_points"], settings["earn_per"], multiplier)
        return {"amount": money_string(asked, shop.currency), "points": points, "currency": shop.currency,
                "point_name": settings.get("point_name") or ""}


@routes.get("/loyalty/me", summary="The shopper's points, tier and progress", query=_Query, response=MeSchema,
            problems=(404,))
def me(query):
    """The signed-in shopper in the program: a member or not (opt-in programs: ``can_join``), balance,
    tier and the way to the next, whether their birthday is set. A guest is asked to sign in."""
    shopper = _customer(current_shopper(), gettext("Sign in to see your points"))
    with db.uow() as session:
        shop, settings = _shop_and_settings(session, shopper.shop_id, shown=True)
        return me_view(session, shop, settings, shopper, _locale(query, shop))


def me_view(session: Session, shop: Shop, settings: dict, shopper: Shopper, locale: str) -> dict:
    member = member_of_customer(session, shop.id, shopper.customer_id) if shopper.customer_id else None
    if member is not None and member.status != "active":
        member = None
    first_name = None
    if shopper.customer_id is not None:
        first_name = session.scalar(select(Customer.first_name).where(Customer.shop_id == shop.id,
                                                                      Customer.id == shopper.customer_id))
    auto = settings["enrolment"] == "auto"
    tier = tier_of(session, member) if member is not None else None
    zero = {"pending": 0, "approved": 0, "spent": 0, "lifetime": 0}
    return {
        # with automatic enrolment every customer is a member, the row comes with their first points
        "member": member is not None or auto,
        "can_join": member is None and not auto and shopper.customer_id is not None,
        "first_name": first_name,
        "balance": {k: getattr(member, k) for k in zero} if member is not None else zero,
        "tier": tier.name if tier is not None else None,
        "progress": progress(session, member, shop, settings, locale) if member is not None else None,
        "birthday_set": member is not None and member.birthday is not None,
        "referral_code": member.referral_code if member is not None and settings["referrals_enabled"] else None,
    }


@routes.get("/loyalty/history", summary="The shopper's points history, a page at a time", query=HistoryQuery,
            response=HistorySchema, problems=(404,))
def history(query):
    """The member's ledger entries, newest first, twenty a page (``?page=2`` for older ones), each
    reason in the shopper's language."""
    shopper = _customer(current_shopper(), gettext("Sign in to see your points"))
    page = query["page"]
    with db.uow() as session:
        shop, _settings = _shop_and_settings(session, shopper.shop_id, shown=True)
        member = member_of_customer(session, shop.id, shopper.customer_id) if shopper.customer_id else None
        if member is None:
            return {"entries": [], "page": page, "next_page": None}
        rows = session.scalars(select(LedgerEntry).where(
            LedgerEntry.shop_id == shop.id, LedgerEntry.member_id == member.id,
        ).order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
            .offset((page - 1) * HISTORY_PAGE).limit(HISTORY_PAGE + 1)).all()
        with force_locale(_locale(query, shop)):
            entries = [{"points": e.points, "state": e.state, "reason": render_reason(e), "source": e.source,
                        "created_at": e.created_at} for e in rows[:HISTORY_PAGE]]
        return {"entries": entries, "page": page, "next_page": page + 1 if len(rows) > HISTORY_PAGE else None}


@routes.post("/loyalty/join", summary="Join the loyalty program", body=JoinBody, response=MeSchema,
             problems=(404, 422))
def join_endpoint(body):
    """With opt-in enrolment the signed-in customer joins (once: joining again changes nothing) and
    gets the sign-up points once; with automatic enrolment they are a member already."""
    from plugin.loyalty.enrolment import NotEnrolling, join

    shopper = _customer(current_shopper(), gettext("Sign in to join"))
    locale = _body_locale()
    with db.uow() as session:
        shop, settings = _shop_and_settings(session, shopper.shop_id)
        if shopper.customer_id is None:
            raise Problem(422, "Unprocessable Content", gettext("Your account is not in this program yet: please try "
                          "again in a few minutes."), errors={"customer": [gettext("Not synced yet.")]})
        try:
            join(session, shop.id, shopper.customer_id)
        except NotEnrolling:
            raise program_off() from None
        session.commit()
        return me_view(session, shop, settings, shopper, _locale(locale, shop))


@routes.post("/loyalty/birthday", summary="Set the shopper's birthday", body=BirthdayBody, response=MeSchema,
             problems=(404, 422))
def birthday(body):
    """The member's birthday (for the birthday points, once a year); a date in the future, or more
    than 120 years ago, is refused naming ``date``."""
    from plugin.loyalty.enrolment import set_birthday

    shopper = _customer(current_shopper(), gettext("Sign in to set your birthday"))
    locale = _body_locale()
    when: date = body["date"]
    with db.uow() as session:
        shop, settings = _shop_and_settings(session, shopper.shop_id)
        if when > date.today() or when.year < date.today().year - 120:
            refused = gettext("That date cannot be your birthday.")
            raise Problem(422, "Unprocessable Content", refused, errors={"date": [refused]})
        member = member_of_customer(session, shop.id, shopper.customer_id) if shopper.customer_id else None
        if member is None and settings["enrolment"] == "auto" and shopper.customer_id is not None:
            from plugin.loyalty.members import ensure_member
            member = ensure_member(session, shop.id, shopper.customer_id)
        if member is None or member.status != "active":
            refused = gettext("Join the program first.")
            raise Problem(422, "Unprocessable Content", refused, type_=NOT_MEMBER_PROBLEM,
                          errors={"member": [refused]})
        set_birthday(session, member, when)
        session.commit()
        return me_view(session, shop, settings, shopper, _locale(locale, shop))


def _body_locale() -> dict:
    chosen = request.args.get("locale")
    return {"locale": chosen if chosen in SUPPORTED else None}
