"""The storefront's view of shops and orders: what a shopper's browser may see, nothing more."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import ClassVar

from babel.numbers import format_currency, get_currency_precision
from marshmallow import EXCLUDE, Schema, fields, pre_dump, validate
from marshmallow.experimental.context import Context

from plugin.i18n import SUPPORTED
from plugin.storefront.service import OrderCursor

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


class CursorField(fields.String):
    """An ``OrderCursor`` as a string: "<microseconds since the epoch>.<order id>" of the last order a
    page showed. The shopper's browser hands back what the previous page said, and the query stays
    scoped by shop and customer whatever it says, so it needs no signature. Every string of the
    documented pattern is a cursor (orders older than that moment); anything else is a field error."""

    PATTERN = r"^[0-9]{1,17}\.[1-9][0-9]{0,17}$"  # 17 digits reach the year 5138; ids stay below 2^63
    default_error_messages: ClassVar[dict[str, str]] = {"invalid": "Not a cursor this API gave."}

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {"description": "``next_cursor`` of the page before.",
                                       "pattern": self.PATTERN})  # documented; checked in _deserialize
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{(value.created_at - EPOCH) // timedelta(microseconds=1)}.{value.order_id}"

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(self.PATTERN, text):
            raise self.make_error("invalid")
        micros, _, order_id = text.partition(".")
        return OrderCursor(EPOCH + timedelta(microseconds=int(micros)), int(order_id))


class ManifestQuery(LocaleQuery):
    """The direct API's manifest: the shop as its storefront names itself (the loader's data-storecare-shop)."""

    shop = fields.String(required=True, validate=validate.Length(min=1, max=255))


class WidgetEntrySchema(Schema):
    """One widget the shop shows (plugin/storefront/widgets.py)."""

    name = fields.String()
    mount = fields.String()
    label = fields.String()
    icon = fields.String()
    script = fields.String()
    style = fields.String(allow_none=True)
    side = fields.String(metadata={"enum": ["right", "left"],
                                   "description": "A launcher's bottom corner, where its widget declares one "
                                                  "(the shop's choice); none: right."})


class ManifestSchema(Schema):
    widgets = fields.List(fields.Nested(WidgetEntrySchema))


class OrdersQuery(LocaleQuery):
    """``?cursor=``: the page after the one whose answer gave it (``next_cursor``); none: the newest."""

    cursor = CursorField(load_default=None)


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
    cancelled = fields.Boolean()

    def _total(self, order) -> str:
        return money_string(order.total, order.currency)

    def _total_formatted(self, order) -> str:
        return money_display(order.total, order.currency, _locale())


class OrderListSchema(Schema):
    """A page of the shopper's orders, newest first, and where the next one starts (``next_cursor``:
    null on the last page; send it back as ``?cursor=``)."""

    orders = fields.List(fields.Nested(OrderSchema))
    next_cursor = CursorField(attribute="next", allow_none=True)
