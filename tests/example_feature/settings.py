"""The example feature's settings section: what the schema accepts, and so what a shop can store."""
from marshmallow import fields, validate

from plugin.admin.shop_settings import SettingsSchema


class ExampleSettings(SettingsSchema):
    greeting = fields.String(required=True, validate=validate.Length(min=1, max=40))
    points_per_order = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))
    enabled = fields.Boolean(required=True)
