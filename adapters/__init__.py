"""Adapter registry: plain data naming where each platform's adapter lives, imported lazily."""
from __future__ import annotations

from importlib import import_module

from adapters.base import Connection, Platform, PlatformAdapter

_ADAPTERS: dict[Platform, tuple[str, str]] = {
    Platform.SANDBOX: ("adapters.sandbox.adapter", "SandboxAdapter"),
    Platform.WOOCOMMERCE: ("adapters.woocommerce.adapter", "WooCommerceAdapter"),
    Platform.SHOPIFY: ("adapters.shopify.adapter", "ShopifyAdapter"),
}


class UnknownPlatform(LookupError):
    pass


def supported_platforms() -> tuple[Platform, ...]:
    return tuple(_ADAPTERS)


def get_adapter_class(platform: str | Platform) -> type:
    try:
        module_name, class_name = _ADAPTERS[Platform(platform)]
    except (ValueError, KeyError):
        raise UnknownPlatform(f"no adapter for platform {platform!r}") from None
    return getattr(import_module(module_name), class_name)


def get_adapter(platform: str | Platform, connection: Connection, **options) -> PlatformAdapter:
    """An adapter bound to one shop's connection. ``options`` are adapter-specific (e.g. sandbox path)."""
    return get_adapter_class(platform)(connection, **options)
