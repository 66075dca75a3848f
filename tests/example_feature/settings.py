"""The example feature's settings section: what the schema accepts, and so what a shop can store."""
from marshmallow import fields, validate

from plugin.admin.shop_settings import SettingsSchema


class ExampleSettings(SettingsSchema):
    greeting = fields.String(required=True, validate=validate.Length(min=1, max=40))
    points_per_order = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))
    enabled = fields.Boolean(required=True)


def platform_needs(session, shop):
    """What the example needs from the shop's platform now: store credit, once the merchant turned the
    example on (as loyalty needs it while a store-credit reward is offered)."""
    from flask import current_app

    from adapters.base import Capability
    from plugin.admin import shop_settings

    values = shop_settings.read(session, shop.id, shop_settings.section(current_app, "example"))
    return (Capability.STORE_CREDIT,) if values["enabled"] else ()


SAVED: list[tuple[int, str, str]] = []


def on_save(session, shop_id, before, after):
    """Called inside the save's transaction: notes the change; "boom" makes it fail (nothing is saved)."""
    if after["greeting"] == "boom":
        raise RuntimeError("boom")
    SAVED.append((shop_id, before["greeting"], after["greeting"]))
