"""The storefront's view of shops and orders: what a shopper's browser may see, nothing more."""
from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import ClassVar

from babel.numbers import format_currency, get_currency_precision
from marshmallow import EXCLUDE, Schema, fields, validate

from plugin.i18n import SUPPORTED
from plugin.storefront.service import OrderCursor


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

    locale = fields.String(load_default=None, validate=validate.OneOf(SUPPORTED))


class CursorField(fields.Field):
    """An ``OrderCursor`` as an opaque string (base64url of "<ISO time>|<id>", no padding): the shopper's
    browser hands back what the previous page said, and the query stays scoped by shop and customer
    whatever it says, so it needs no signature; a string that does not decode is a field error."""

    default_error_messages: ClassVar[dict[str, str]] = {"invalid": "Not a cursor this API gave."}
    MAX_LENGTH = 100

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        text = f"{value.created_at.isoformat()}|{value.order_id}"
        return base64.urlsafe_b64encode(text.encode("ascii")).rstrip(b"=").decode("ascii")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value or len(value) > self.MAX_LENGTH:
            raise self.make_error("invalid")
        try:
            text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
            created, _, order_id = text.partition("|")
            at = datetime.fromisoformat(created)
            if at.tzinfo is None or not order_id.isdigit() or len(order_id) > 19:
                raise ValueError(text)
            return OrderCursor(at, int(order_id))
        except (binascii.Error, ValueError):
            raise self.make_error("invalid") from None


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


class ManifestSchema(Schema):
    widgets = fields.List(fields.Nested(WidgetEntrySchema))


class OrdersQuery(LocaleQuery):
    """``?cursor=``: the page after the one whose answer gave it (``next_cursor``); none: the newest."""

    cursor = CursorField(load_default=None)


class ShopSchema(Schema):
    name = fields.String()
    locale = fields.String()
    currency = fields.String()


class ShopperSchema(Schema):
    guest = fields.Boolean()
    first_name = fields.String(allow_none=True)


class ProfileSchema(Schema):
    shop = fields.Nested(ShopSchema)
    shopper = fields.Method("_shopper")

    def _shopper(self, profile) -> dict:
        return ShopperSchema().dump({"guest": profile.guest, "first_name": profile.first_name})


class OrderSchema(Schema):
    """One order as the shopper sees it; money formatted for ``locale``."""

    number = fields.String()
    created_at = fields.AwareDateTime(format="iso")
    total = fields.Method("_total")
    total_formatted = fields.Method("_total_formatted")
    currency = fields.String()
    financial_status = fields.String()
    fulfillment_status = fields.String()
    items_count = fields.Integer()
    cancelled = fields.Boolean()

    def __init__(self, locale: str = "en", **kwargs):
        super().__init__(**kwargs)
        self.locale = locale

    def _total(self, order) -> str:
        return money_string(order.total, order.currency)

    def _total_formatted(self, order) -> str:
        return money_display(order.total, order.currency, self.locale)


def dump_orders(history, locale: str) -> dict:
    """A page of orders and where the next one starts (``next_cursor``: null on the last page)."""
    return {"orders": OrderSchema(locale=locale, many=True).dump(history.orders),
            "next_cursor": CursorField().serialize("next", history)}
