"""app.yaml: loaded and validated with marshmallow. An invalid manifest stops start-up."""
from __future__ import annotations

from pathlib import Path

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "app.yaml"
_SHOPIFY_TOPIC = validate.Regexp(r"^[a-z_]+/[a-z_]+$", error="{input!r} is not a Shopify topic (resource/event)")
_WOO_TOPIC = validate.Regexp(r"^[a-z_]+\.[a-z_]+$", error="{input!r} is not a WooCommerce topic (resource.event)")
_SCOPE = validate.Regexp(r"^(read|write|unauthenticated_read|unauthenticated_write)_[a-z_]+$")


class ManifestError(Exception):
    """app.yaml is missing, unreadable or invalid; the message names the offending key."""


class AppProxySchema(Schema):
    prefix = fields.String(required=True, validate=validate.OneOf(["apps", "a", "community", "tools"]))
    subpath = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]+$"))
    path = fields.String(required=True, validate=validate.Regexp(r"^/[\w/-]*$"))


class ThemeExtensionSchema(Schema):
    embed = fields.String(required=True)


class ShopifySchema(Schema):
    api_version = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(01|04|07|10)$"))
    embedded = fields.Boolean(load_default=True)
    scopes = fields.List(fields.String(validate=_SCOPE), required=True, validate=validate.Length(min=1))
    optional_scopes = fields.List(fields.String(validate=_SCOPE), load_default=list)  # asked for when needed
    webhooks = fields.List(fields.String(validate=_SHOPIFY_TOPIC), required=True)
    compliance_webhooks = fields.List(fields.String(validate=_SHOPIFY_TOPIC), required=True)
    app_proxy = fields.Nested(AppProxySchema, required=True)
    theme_extension = fields.Nested(ThemeExtensionSchema, required=True)

    @validates_schema
    def _optional_not_required_too(self, data, **_):
        both = set(data.get("scopes", ())) & set(data.get("optional_scopes", ()))
        if both:
            raise ValidationError(f"scopes both required and optional: {', '.join(sorted(both))}",
                                  "optional_scopes")

    @validates("compliance_webhooks")
    def _all_three(self, value, **_):
        missing = {"customers/data_request", "customers/redact", "shop/redact"} - set(value)
        if missing:
            raise ValidationError(f"missing mandatory privacy topics: {', '.join(sorted(missing))}")


class WooCommerceSchema(Schema):
    api_version = fields.String(required=True, validate=validate.Equal("wc/v3"))
    permissions = fields.String(required=True, validate=validate.OneOf(["read", "write", "read_write"]))
    webhooks = fields.List(fields.String(validate=_WOO_TOPIC), required=True)


class SandboxSchema(Schema):
    webhooks = fields.List(fields.String(validate=_SHOPIFY_TOPIC), required=True)


class ManifestSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    handle = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]+$"))
    shopify = fields.Nested(ShopifySchema, required=True)
    woocommerce = fields.Nested(WooCommerceSchema, required=True)
    sandbox = fields.Nested(SandboxSchema, required=True)
    locales = fields.List(fields.String(validate=validate.OneOf(["en", "pl"])), required=True)


def _first_error(messages, path=()) -> str:
    """Flatten marshmallow's nested messages into 'shopify.scopes.0: message'."""
    for key, value in messages.items():
        here = path + (str(key),)
        if isinstance(value, dict):
            return _first_error(value, here)
        return f"{'.'.join(here)}: {value[0] if isinstance(value, list) else value}"
    return "invalid"


def load_manifest(path: str | Path | None = None) -> dict:
    path = Path(path) if path else DEFAULT_PATH
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read app manifest {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"app manifest {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ManifestError(f"app manifest {path} must be a mapping")
    try:
        return ManifestSchema().load(raw)
    except ValidationError as exc:
        raise ManifestError(f"invalid app manifest {path}: {_first_error(exc.messages)}") from exc



