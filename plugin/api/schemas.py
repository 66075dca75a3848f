"""The merchant API's view of orders and customers (one schema per audience: this is the merchant's own
scripts, who may read everything we mirror of their shop), its query strings, and problem documents."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import EXCLUDE, Schema, fields, validate

from plugin.api.service import MAX_ID

CENTS = Decimal("0.01")


class Money(fields.Decimal):
    """An amount as an exact decimal string in the record's currency: two decimals ("100.00"), more only
    when the store keeps more ("12.3456"), never rounded."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        value = Decimal(value)
        cents = value.quantize(CENTS)
        return str(cents if cents == value else value.normalize())


def money(**kwargs) -> Money:
    return Money(metadata={"type": "string", "example": "100.00"}, **kwargs)


def record_id(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details, ``application/problem+json``)."""

    type = fields.String(metadata={"description": "A URI naming the kind of problem; about:blank for a "
                                                  "plain HTTP status."})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "Bad input by field (or header): a list of messages for each."})
    request_id = fields.String(metadata={"description": "Quote it if you contact us."})


class PageQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100),
                           metadata={"description": "Records per page (1-100)."})
    starting_after = record_id(load_default=None, metadata={
        "description": "The id of the last record of the page before: the page continues after it."})


class OrdersQuery(PageQuery):
    customer_id = record_id(load_default=None, metadata={"description": "Only this customer's orders."})


class CustomersQuery(PageQuery):
    email = fields.String(load_default=None, validate=validate.Length(min=1, max=320),
                          metadata={"description": "Only the customer with this email (any case)."})


class LineItemSchema(Schema):
    id = fields.Integer()
    platform_id = fields.String()
    product_id = fields.String(allow_none=True)
    sku = fields.String(allow_none=True)
    title = fields.String()
    quantity = fields.Integer()
    unit_price = money()
    total = money()


class RefundSchema(Schema):
    id = fields.Integer()
    platform_id = fields.String()
    amount = money()
    reason = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(format="iso")


class OrderSchema(Schema):
    """An order of the shop as we mirror it; amounts in ``currency``. Orders deleted in the store are
    left out."""

    id = fields.Integer(metadata={"description": "Storecare's id."})
    platform_id = fields.String(metadata={"description": "The store's own id."})
    number = fields.String()
    customer_id = fields.Integer(allow_none=True, metadata={"description": "Storecare's id; null: a guest."})
    email = fields.String(allow_none=True)
    currency = fields.String()
    subtotal = money()
    total = money()
    total_discounts = money()
    total_tax = money()
    total_refunded = money()
    financial_status = fields.String()
    fulfillment_status = fields.String()
    cancel_reason = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso", attribute="platform_updated_at")
    paid_at = fields.AwareDateTime(format="iso", allow_none=True)
    cancelled_at = fields.AwareDateTime(format="iso", allow_none=True)
    fulfilled_at = fields.AwareDateTime(format="iso", allow_none=True)
    line_items = fields.List(fields.Nested(LineItemSchema))
    refunds = fields.List(fields.Nested(RefundSchema))


class CustomerSchema(Schema):
    """A customer of the shop as we mirror it. ``orders_count`` and ``total_spent`` count paid orders,
    net of refunds."""

    id = fields.Integer(metadata={"description": "Storecare's id."})
    platform_id = fields.String(metadata={"description": "The store's own id."})
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    accepts_marketing = fields.Boolean()
    orders_count = fields.Integer()
    total_spent = money()
    first_order_at = fields.AwareDateTime(format="iso", allow_none=True)
    last_order_at = fields.AwareDateTime(format="iso", allow_none=True)
    created_at = fields.AwareDateTime(format="iso", allow_none=True, attribute="platform_created_at")


class OrderListSchema(Schema):
    data = fields.List(fields.Nested(OrderSchema))
    has_more = fields.Boolean(metadata={"description": "Another page follows (pass the last id as "
                                                       "starting_after)."})


class CustomerListSchema(Schema):
    data = fields.List(fields.Nested(CustomerSchema))
    has_more = fields.Boolean()
