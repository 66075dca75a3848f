"""The storefront's view of shops and orders: what a shopper's browser may see, nothing more."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import format_currency, get_currency_precision
from marshmallow import EXCLUDE, Schema, fields, pre_dump, validate
from marshmallow.experimental.context import Context

from plugin.i18n import SUPPORTED


def money_string(amount: Decimal, currency: str) -> str:
    """``amount`` as a plain decimal string with the currency's own number of decimals ("100.00")."""
    exponent = Decimal(1).scaleb(-get_currency_precision(currency))
    return str(amount.quantize(exponent, rounding=ROUND_HALF_EVEN))


_CODE_THEN_DIGIT = re.compile(r"^([A-Z]{3})(?=[\d-])")


def money_display(amount: Decimal, currency: str, locale: str) -> str:
    """``amount`` for people in ``locale``, e.g. "21,50 zł"; a code is spaced: "PLN 21.50", not "PLN21.50"."""
    return _CODE_THEN_DIGIT.sub("\\1\u00a0", format_currency(amount, currency, locale=locale))


class LocaleQuery(Schema):
    class Meta:
        unknown = EXCLUDE  # cache busters and the like are ignored

    locale = fields.String(load_default=None, validate=validate.OneOf(SUPPORTED),
                           metadata={"description": "The language money and dates are formatted for; "
                                                    "default: the shop's."})


class ShopSchema(Schema):
    name = fields.String()
    locale = fields.String()
    currency = fields.String(metadata={"description": "ISO 4217 code."})


class ShopperSchema(Schema):
    guest = fields.Boolean(metadata={"description": "True for a visitor who is not signed in."})
    first_name = fields.String(allow_none=True)


class ProfileSchema(Schema):
    """The shop and who is shopping (``/me``)."""

    shop = fields.Nested(ShopSchema)
    shopper = fields.Nested(ShopperSchema)

    @pre_dump
    def _split(self, profile, **_kwargs) -> dict:
        return {"shop": profile.shop, "shopper": {"guest": profile.guest, "first_name": profile.first_name}}


def _locale() -> str:
    """The locale money is formatted for: the ``Context`` the view dumps in (en without one)."""
    return Context.get({}).get("locale", "en")


class OrderSchema(Schema):
    """One order as the shopper sees it; money formatted for the dump's locale."""

    number = fields.String()
    created_at = fields.AwareDateTime(format="iso")
    total = fields.Method("_total", metadata={"type": "string", "example": "100.00",
                                              "description": "A decimal with the currency's own decimals."})
    total_formatted = fields.Method("_total_formatted", metadata={"type": "string", "example": "100,00 zł"})
    currency = fields.String()
    financial_status = fields.String()
    fulfillment_status = fields.String()
    items_count = fields.Integer()

    def _total(self, order) -> str:
        return money_string(order.total, order.currency)

    def _total_formatted(self, order) -> str:
        return money_display(order.total, order.currency, _locale())


class OrderListSchema(Schema):
    """The shopper's most recent orders, newest first."""

    orders = fields.List(fields.Nested(OrderSchema))
