"""The admin's JSON: what the merchant's own admin scripts may read."""
from __future__ import annotations

from marshmallow import Schema, fields


class SyncStateSchema(Schema):
    resource = fields.String()
    status = fields.String()
    processed = fields.Integer()
    has_cursor = fields.Function(lambda state: state.cursor is not None)
    last_error = fields.String(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class OverviewSchema(Schema):
    orders = fields.Integer()
    customers = fields.Integer()
    revenue = fields.Decimal(as_string=True)
    currency = fields.String()
    recent_orders = fields.Integer()
    recent_days = fields.Integer()
    failed_deliveries = fields.Integer()
    failed_jobs = fields.Integer(attribute="failed_jobs_total")
    sync_states = fields.List(fields.Nested(SyncStateSchema))
