"""The admin's JSON: what the merchant's own admin scripts may read."""
from __future__ import annotations

from marshmallow import Schema, fields

# What ``revenue`` means, said in the document itself: paid orders, net of refunds.
REVENUE_BASIS = "paid_net_of_refunds"


class SyncStateSchema(Schema):
    resource = fields.String()
    status = fields.String()
    processed = fields.Integer()
    has_cursor = fields.Function(lambda state: state.cursor is not None, metadata={"type": "boolean"})
    last_error = fields.String(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class OverviewSchema(Schema):
    """``orders``: orders synced (deleted ones left out). ``revenue``: paid net revenue in ``currency``
    (paid orders, net of refunds: ``plugin.sync.revenue``), from ``paid_orders`` orders;
    ``other_currency_orders`` paid orders in other currencies are not in it."""

    orders = fields.Integer()
    paid_orders = fields.Integer()
    customers = fields.Integer()
    revenue = fields.Decimal(as_string=True, metadata={"type": "string", "example": "1234.50"})
    revenue_basis = fields.Constant(REVENUE_BASIS)
    currency = fields.String()
    other_currency_orders = fields.Integer()
    recent_paid_orders = fields.Integer()
    recent_days = fields.Integer()
    failed_deliveries = fields.Integer()
    failed_jobs = fields.Integer(attribute="failed_jobs_total")
    sync_states = fields.List(fields.Nested(SyncStateSchema))
