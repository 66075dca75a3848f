"""Shops: install, uninstall, credentials, and the adapter bound to a shop."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from adapters import get_adapter
from adapters.base import Connection, Platform, PlatformAdapter
from adapters.errors import AuthRevoked
from plugin.admin.sessions import end_shop_sessions
from plugin.db import utcnow
from plugin.security import random_secret
from plugin.shops.models import Shop

log = logging.getLogger(__name__)


class ShopError(Exception):
    pass


class ShopNotFound(ShopError):
    pass


def _vault():
    return current_app.extensions["storecare.vault"]


def _settings():
    return current_app.config["STORECARE_SETTINGS"]


def credentials(shop: Shop) -> dict:
    return _vault().decrypt(shop.credentials_encrypted) if shop.credentials_encrypted else {}


def store_credentials(shop: Shop, values: dict) -> None:
    shop.credentials_encrypted = _vault().encrypt(values)


def adapter_options(platform: str) -> dict:
    if platform == Platform.SHOPIFY:  # the one outbound session; the API version pinned in app.yaml
        return {"http": current_app.extensions["storecare.http"],
                "api_version": current_app.config["STORECARE_MANIFEST"]["shopify"]["api_version"]}
    if platform == Platform.WOOCOMMERCE:  # which addresses may be called, which CAs trusted (plugin/http.py)
        return {"transport": current_app.extensions["storecare.woocommerce_transport"]}
    return {"path": _settings().sandbox_path} if platform == Platform.SANDBOX else {}


def adapter_for(shop: Shop) -> PlatformAdapter:
    """The shop's adapter: the one way to call a shop's platform, bound to its credentials for this call.

    Refuses an uninstalled shop (ShopError) and one waiting for its merchant to reconnect
    (AuthRevoked). A Shopify access token that expires within five minutes is refreshed first; the
    adapter it returns is a ``ShopAdapter`` (plugin/shops/access.py), which handles a refusal met
    later (a 401 refreshes Shopify's token once and tries again; WooCommerce keys refused on a plain
    read too mark the shop). Every refresh and every mark is a unit of work of its own: the session
    ``shop`` belongs to is neither used nor committed, so a use case may ask for an adapter while it
    holds a lock and uncommitted work (on SQLite, whose one writer is the caller while it has written,
    ask for the adapter before writing: a refresh must wait for that writer)."""
    from plugin.shops.access import ShopAdapter

    if shop.status != "installed":
        raise ShopError(f"shop {shop.domain} is uninstalled: no platform calls are made for it")
    if shop.needs_reauth and shop.platform == Platform.WOOCOMMERCE:  # Shopify: fresh_credentials says it
        raise AuthRevoked("the store no longer accepts Storecare's API keys: the merchant must reconnect it "
                          "(Connection > Reconnect)")
    values = credentials(shop)
    if shop.platform == Platform.SHOPIFY:  # expiring offline tokens: refreshed here, before any call
        from plugin.shops.shopify import fresh_credentials

        values = fresh_credentials(shop)
    return ShopAdapter(shop, platform_adapter(shop.platform, shop.domain, values))


def platform_adapter(platform: str, domain: str, values: dict) -> PlatformAdapter:
    """The platform's own adapter for ``values``, unguarded: for ``adapter_for``'s wrapper, and for
    keys not stored yet (a WooCommerce connection checking the keys it was handed)."""
    connection = Connection(shop_domain=domain, credentials=values)
    return get_adapter(platform, connection, **adapter_options(platform))


def find_shop(session, platform: str, domain: str) -> Shop | None:
    return session.scalars(select(Shop).where(Shop.platform == platform, Shop.domain == domain.lower())).first()


def webhook_secret(platform: str, shop: Shop | None) -> str:
    """The key a platform signs this shop's webhooks with: Shopify signs with the app's client secret,
    WooCommerce and the sandbox with the per-shop secret we chose when subscribing."""
    return webhook_secret_from(platform, shop.credentials_encrypted if shop is not None else None,
                               known=shop is not None)


def webhook_secret_from(platform: str, credentials_encrypted: str | None, known: bool) -> str:
    """``webhook_secret`` from the shop's encrypted credentials column (the webhook path reads no ORM
    object); ``known`` says whether we hold the shop at all."""
    if platform == Platform.SHOPIFY:
        return _settings().shopify_api_secret
    if not known or not credentials_encrypted:
        return ""
    return _vault().decrypt(credentials_encrypted).get("webhook_secret", "")


def install_sandbox_shop(session, domain: str, *, name: str, currency: str = "PLN", locale: str = "en",
                         timezone: str = "Europe/Warsaw", webhook_address: str | None = None) -> Shop:
    """Install (or re-install) a sandbox shop: credentials, webhook subscriptions, then a backfill.
    Every admin session of the shop ends.

    Idempotent: a second call keeps the shop and its secrets and re-creates missing subscriptions
    only; the backfill is queued on a first install and on a re-install. The caller commits.
    """
    from plugin.sync.backfill import request_backfill

    domain = domain.lower()
    shop = find_shop(session, Platform.SANDBOX, domain)
    if shop is None:
        shop = Shop(platform=str(Platform.SANDBOX), domain=domain)
        session.add(shop)
    creds = credentials(shop) if shop.credentials_encrypted else {}
    creds.setdefault("webhook_secret", random_secret())
    creds.setdefault("storefront_secret", random_secret())
    store_credentials(shop, creds)
    shop.name, shop.currency, shop.locale, shop.timezone = name, currency, locale, timezone
    fresh = shop.id is None or shop.status != "installed"
    if fresh:
        shop.status, shop.installed_at, shop.uninstalled_at = "installed", utcnow(), None
    shop.scopes = ["read_orders", "read_customers", "write_discounts"]
    session.flush()
    end_shop_sessions(session, shop.id)  # whoever was signed in signs in again
    manifest = current_app.config["STORECARE_MANIFEST"]
    address = (webhook_address or _settings().app_url) + "/webhooks/sandbox"
    adapter_for(shop).subscribe_webhooks(address, manifest["sandbox"]["webhooks"], secret=creds["webhook_secret"])
    if fresh:  # a first install or a re-install syncs everything; a repeated call changes nothing
        request_backfill(session, shop.id)
    return shop


def mark_uninstalled(session, shop: Shop, at: datetime | None = None) -> bool:
    """Stop API calls, drop tokens, end the admin sessions; keep data until the platform asks us to
    redact it.

    ``adapter_for`` refuses an uninstalled shop, so every job that would call the platform fails at
    once, permanently, with a clear error. Only the webhook secret is kept (WooCommerce and the
    sandbox sign with it; the privacy webhooks that follow must still verify), and on WooCommerce the
    storefront secret our WordPress plugin gave us (it signs nothing for an uninstalled shop, but a
    reconnect of the same store proves itself with it; see woocommerce_identity). ``at`` is when the
    platform says the uninstall happened: an uninstall older than the current installation (a late
    retry arriving after a re-install) changes nothing. Returns whether the shop changed.
    """
    if at is not None and shop.installed_at is not None and at < shop.installed_at:
        log.info("ignoring an uninstall of %s from before its current installation", shop.domain)
        return False
    if shop.status == "uninstalled" and shop.uninstalled_at is not None:
        return False
    shop.status, shop.uninstalled_at = "uninstalled", utcnow()
    end_shop_sessions(session, shop.id)
    keep = ("webhook_secret", "storefront_secret") if shop.platform == Platform.WOOCOMMERCE else ("webhook_secret",)
    kept = {k: v for k, v in credentials(shop).items() if k in keep}
    store_credentials(shop, kept)
    return True
