"""Connecting a WooCommerce store: /wc-auth key handover, verified before anything is stored.

1. ``start``: the merchant gives the store address (our form, or the WordPress plugin's Connect button
   through ``/connect/woocommerce/start``). We keep a pending connection under a random single-use
   token (only its SHA-256 is stored) that lives 15 minutes, and send the browser to the store's
   ``/wc-auth/v1/authorize`` with the token as ``user_id``. The browser that goes there is bound to
   the token (a random value in its session, hashed in the row).
2. ``complete``: WooCommerce posts the keys to our callback, unsigned. They count only for a pending,
   unexpired, unused token and ``read_write``; then a real API call (GET /system_status) at the
   address the merchant gave must succeed, and the store must report that same address, BEFORE
   anything is written. Only then, in one transaction that claims the token (compare-and-set), the
   Shop is created or re-activated with the keys encrypted, our webhook secret and the storefront
   secret, webhooks are reconciled and a backfill is queued. WooCommerce needs a 200 to keep the key.
   If that first call fails (a certificate we cannot verify, a redirect, no answer, no JSON, the keys
   refused), the reason is recorded on the pending connection and WooCommerce still gets a 200:
   anything else and WooCommerce deletes the key and shows the merchant its own generic error page,
   and the browser never comes back to us. With the 200 it sends the browser to our return page,
   which says what failed and which unused key the merchant may delete.
3. ``land``: the browser returns; the browser bound in step 1 is signed in to that shop's admin, once.

The storefront secret (which signs shopper tokens and the plugin's admin links) is not sent to us by
anyone unauthenticated: with the verified keys we read it from our WordPress plugin's route
(``wc-storecare/v1/connection``, authenticated by WooCommerce with those keys). A store without the
plugin gets a random one, replaced when the plugin is installed and connects.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from adapters import get_adapter
from adapters.base import Connection, Platform
from adapters.errors import AdapterError, InvalidPayload, NotFound
from adapters.messages import N_
from adapters.woocommerce.auth import (
    SCOPE,
    KeyHandover,
    StoreAddress,
    StoreUrlError,
    authorize_url,
    domain_of,
    parse_store_url,
    read_key_handover,
)
from plugin.admin.sessions import end_shop_sessions
from plugin.db import utcnow
from plugin.security import random_secret
from plugin.shops.models import PendingConnection, Shop
from plugin.shops.service import adapter_options, credentials, find_shop, store_credentials
from plugin.shops.woocommerce_failures import why_not_verified

log = logging.getLogger(__name__)
TOKEN_TTL = timedelta(minutes=15)
LANDING_TTL = timedelta(minutes=15)  # after the keys arrived, the browser has this long to come back
KEEP_FINISHED = timedelta(days=1)
CALLBACK_PATH = "/connect/woocommerce/callback"
RETURN_PATH = "/connect/woocommerce/return"
GO_PATH = "/connect/woocommerce/go"
PLATFORM = str(Platform.WOOCOMMERCE)
MIN_STOREFRONT_SECRET = 32


class ConnectError(Exception):
    """A connection step was refused; ``message`` is safe to show the merchant (or WooCommerce), with
    ``params`` filled in after translation (``gettext(message, **params)``)."""

    status = 400

    def __init__(self, message: str, status: int | None = None, params: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.params = dict(params or {})
        if status is not None:
            self.status = status

    def english(self) -> str:
        return self.message % self.params if self.params else self.message


class KeysNotVerified(ConnectError):
    """The keys arrived for a valid pending connection but the first call with them failed. Recorded on
    the connection for the return page; WooCommerce is answered 200 (see the module doc)."""


@dataclass(frozen=True)
class Started:
    token: str
    store: StoreAddress
    authorize_url: str
    go_url: str  # our own link that binds the browser, then redirects to ``authorize_url``


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _settings():
    return current_app.config["STORECARE_SETTINGS"]


def check_store_url(text: str) -> StoreAddress:
    """The merchant's store address, or StoreUrlError with a message for the form field. Checked by the
    policy every later call to the store is checked by (plugin/http.py ``make_store_transport``):
    outside production (demo, tests) any address and nothing resolved; in production public addresses
    and the operator's private stores."""
    policy = current_app.extensions["storecare.woocommerce_transport"].policy
    try:
        return parse_store_url(text, policy=policy)
    except OSError:
        raise StoreUrlError(N_("We could not find this address. Check it for typos.")) from None


def _app_url(path: str) -> str:
    settings = _settings()
    base = settings.app_url.rstrip("/")
    if settings.is_production and not base.startswith("https://"):
        # WooCommerce posts the keys only to an https callback; refuse before the merchant approves.
        raise ConnectError(N_("Storecare is not configured for WooCommerce (its address must be https)."), 503)
    return base + path


def start(session, store_url: str, *, browser_binder: str | None, now: datetime | None = None) -> Started:
    """Record a pending connection and build the authorize URL. The caller commits."""
    now = now or utcnow()
    store = check_store_url(store_url)
    token = secrets.token_urlsafe(32)
    session.execute(delete(PendingConnection).where(PendingConnection.expires_at < now - KEEP_FINISHED))
    session.add(PendingConnection(platform=PLATFORM, token_hash=digest(token), store_url=store.url,
                                  domain=store.domain, status="pending", created_at=now,
                                  expires_at=now + TOKEN_TTL,
                                  browser_hash=digest(browser_binder) if browser_binder else None))
    url = authorize_url(store, app_name=_settings().woocommerce_app_name, user_id=token,
                        return_url=_app_url(RETURN_PATH), callback_url=_app_url(CALLBACK_PATH), scope=SCOPE)
    return Started(token=token, store=store, authorize_url=url, go_url=f"{_app_url(GO_PATH)}?user_id={token}")


def _pending(session, token: str) -> PendingConnection | None:
    if not token or len(token) > 128:
        return None
    return session.scalars(select(PendingConnection).where(PendingConnection.token_hash == digest(token),
                                                           PendingConnection.platform == PLATFORM)).first()


def bind_browser(session, token: str, browser_binder: str, now: datetime | None = None) -> str:
    """The WordPress plugin's link: the first browser to follow it is bound to the connection; it is
    then sent on to the store's authorize screen. The caller commits."""
    now = now or utcnow()
    row = _pending(session, token)
    if row is None or row.status != "pending" or row.expires_at <= now:
        raise ConnectError(N_("This connection link is not valid or has expired. Start again from WordPress."))
    claimed = session.execute(update(PendingConnection).where(
        PendingConnection.id == row.id, PendingConnection.browser_hash.is_(None)).values(
        browser_hash=digest(browser_binder))).rowcount
    if not claimed and row.browser_hash != digest(browser_binder):
        raise ConnectError(N_("This connection link was already used. Start again from WordPress."))
    store = StoreAddress(url=row.store_url, domain=row.domain)
    return authorize_url(store, app_name=_settings().woocommerce_app_name, user_id=token,
                         return_url=_app_url(RETURN_PATH), callback_url=_app_url(CALLBACK_PATH), scope=SCOPE)


def complete(db, payload: object, now: datetime | None = None) -> Shop:
    """Accept WooCommerce's key handover (see the module doc); ConnectError changes nothing."""
    now = now or utcnow()
    try:
        handover = read_key_handover(payload)
    except InvalidPayload as exc:
        raise ConnectError(f"The key handover cannot be read: {exc.message}.") from None
    with db.uow() as session:
        row = _pending(session, handover.user_id)
        if row is None:
            raise ConnectError("Unknown connection request.", 401)
        if row.status != "pending" or row.expires_at <= now:
            raise ConnectError("This connection request was already used or has expired.", 400)
        store = StoreAddress(url=row.store_url, domain=row.domain)
    if handover.permissions != SCOPE:
        raise ConnectError("Storecare needs read_write access to the store.", 400)
    adapter = _adapter(store, handover)
    try:
        info = _verified_store(adapter, store)
    except KeysNotVerified as exc:
        _record_failure(db, handover, exc, now)
        raise
    storefront_secret = _plugin_secret(adapter)
    with db.uow() as session:
        claimed = session.execute(update(PendingConnection).where(
            PendingConnection.token_hash == digest(handover.user_id), PendingConnection.status == "pending",
            PendingConnection.expires_at > now).values(status="connected", completed_at=now)).rowcount
        if not claimed:
            raise ConnectError("This connection request was already used or has expired.", 400)
        row = _pending(session, handover.user_id)
        shop, fresh = _install(session, store, handover, info.currency, storefront_secret, now)
        row.shop_id = shop.id
        _subscribe(adapter, shop, row)
        if fresh:
            from plugin.sync.backfill import request_backfill

            request_backfill(session, shop.id)
        session.commit()
        log.info("woocommerce store %s connected (shop %s)", shop.domain, shop.id)
        return shop


def _adapter(store: StoreAddress, handover: KeyHandover):
    values = {"store_url": store.url, "consumer_key": handover.consumer_key,
              "consumer_secret": handover.consumer_secret}
    return get_adapter(PLATFORM, Connection(shop_domain=store.domain, credentials=values),
                       **adapter_options(PLATFORM))


def _verified_store(adapter, store: StoreAddress):
    try:
        info = adapter.store_info()
    except AdapterError as exc:
        log.info("woocommerce keys for %s failed verification (%s): %s", store.domain, type(exc).__name__,
                 exc.message)
        message, params = why_not_verified(exc)
        raise KeysNotVerified(message, 200, params) from None
    if info.home_url and domain_of(info.home_url) != store.domain:
        raise ConnectError(f"The store reports its address as {info.home_url}: connect with that address.", 400)
    return info


def _record_failure(db, handover: KeyHandover, exc: KeysNotVerified, now: datetime) -> None:
    """Close the pending connection with what failed, for the return page (``land``) to show. The key
    WooCommerce made stays in the store, unused: the page names it (WooCommerce lists keys by their
    last seven characters)."""
    exc.params["key_end"] = handover.consumer_key[-7:]
    with db.uow() as session:
        claimed = session.execute(update(PendingConnection).where(
            PendingConnection.token_hash == digest(handover.user_id), PendingConnection.status == "pending",
            PendingConnection.expires_at > now).values(
            status="failed", completed_at=now, error=exc.message, error_params=exc.params)).rowcount
        session.commit()
    if not claimed:
        raise ConnectError("This connection request was already used or has expired.", 400)


def _plugin_secret(adapter) -> str | None:
    """The storefront secret our WordPress plugin generated, read with the verified keys."""
    try:
        data = adapter.plugin_connection()
    except (NotFound, AdapterError) as exc:
        log.info("the Storecare WordPress plugin did not answer: %s", getattr(exc, "message", exc))
        return None
    secret = data.get("storefront_secret") if data else None
    if isinstance(secret, str) and MIN_STOREFRONT_SECRET <= len(secret) <= 255 and secret.isprintable() \
            and secret.isascii():
        return secret
    return None


def _install(session, store: StoreAddress, handover: KeyHandover, currency: str | None,
             storefront_secret: str | None, now: datetime) -> tuple[Shop, bool]:
    shop = find_shop(session, PLATFORM, store.domain)
    if shop is None:
        shop = Shop(platform=PLATFORM, domain=store.domain, name=store.domain)
        session.add(shop)
    values = credentials(shop) if shop.credentials_encrypted else {}
    values.setdefault("webhook_secret", random_secret())
    values["storefront_secret"] = storefront_secret or values.get("storefront_secret") or random_secret()
    values.update(store_url=store.url, consumer_key=handover.consumer_key,
                  consumer_secret=handover.consumer_secret, key_id=handover.key_id)
    store_credentials(shop, values)
    fresh = shop.id is None or shop.status != "installed" or bool(getattr(shop, "needs_reauth", False))
    if fresh:
        shop.status, shop.installed_at, shop.uninstalled_at = "installed", now, None
    if hasattr(shop, "needs_reauth"):
        shop.needs_reauth = False
    if currency and len(currency) == 3 and currency.isalpha():
        shop.currency = currency.upper()
    shop.scopes = [SCOPE]
    session.flush()
    end_shop_sessions(session, shop.id)  # new keys: whoever was signed in signs in again
    return shop, fresh


def _subscribe(adapter, shop: Shop, row: PendingConnection) -> None:
    """Our webhooks at ``{app_url}/webhooks/woocommerce``, with our secret also given to existing ones.
    A failure here must not cost the merchant the connection (WooCommerce would delete the key): it is
    logged on the row and the periodic reconciliation subscribes again."""
    manifest = current_app.config["STORECARE_MANIFEST"]
    address = _settings().app_url.rstrip("/") + "/webhooks/woocommerce"
    try:
        adapter.reconcile_webhooks(address, manifest["woocommerce"]["webhooks"],
                                   credentials(shop)["webhook_secret"], reset_secret=True)
    except AdapterError as exc:
        log.warning("webhooks for woocommerce shop %s not subscribed yet: %s", shop.id, exc.message)
        row.error = "Webhooks could not be created yet; Storecare retries automatically."


def land(session, token: str, browser_binder: str | None, success: bool, now: datetime | None = None) -> Shop:
    """The merchant's browser is back from the store. Return the shop to sign in to (once), or raise
    ConnectError with what to tell them. The caller commits, also after a ConnectError (a refusal
    closes the pending connection)."""
    now = now or utcnow()
    row = _pending(session, token)
    if row is None or not browser_binder or row.browser_hash != digest(browser_binder):
        raise ConnectError(N_("This page can only be opened by the browser that started the connection. "
                              "Start again from Storecare or from WordPress."))
    if not success:
        message = N_("The store did not approve the connection. You can start again at any time.")
        # Closed at once: a key handover that still arrives for this token is refused.
        session.execute(update(PendingConnection).where(
            PendingConnection.id == row.id, PendingConnection.status == "pending").values(
            status="failed", error=message))
        raise ConnectError(message)
    if row.status == "failed":
        raise ConnectError(row.error or N_("The connection failed. Start again."), params=row.error_params)
    if row.status != "connected" or row.shop_id is None:
        raise ConnectError(N_("Your store has not sent us its keys. Start again; if it keeps happening, "
                              "check that your store can reach Storecare over https."))
    if row.landed_at is not None or row.completed_at is None or row.completed_at + LANDING_TTL <= now:
        raise ConnectError(N_("This sign-in link was already used or has expired. Open Storecare from WordPress."))
    claimed = session.execute(update(PendingConnection).where(
        PendingConnection.id == row.id, PendingConnection.landed_at.is_(None)).values(landed_at=now)).rowcount
    shop = session.get(Shop, row.shop_id)
    if not claimed or shop is None or shop.status != "installed":
        raise ConnectError(N_("This sign-in link was already used or has expired. Open Storecare from WordPress."))
    return shop


def shop_for_domain(session, domain: str) -> Shop | None:
    """An installed WooCommerce shop by domain (for the WordPress plugin's signed admin link)."""
    shop = find_shop(session, PLATFORM, domain)
    return shop if shop is not None and shop.status == "installed" else None


# -- the WordPress plugin: its signed admin link, and the plugin itself as a zip ---------------------

def shop_from_wordpress_link(session, domain: str, timestamp: str | None, signature: str | None,
                             now: datetime | None = None) -> Shop:
    """The shop whose WordPress plugin signed this "Open Storecare" link (storefront secret, hex HMAC
    over ``storecare-admin|domain|timestamp``, 2 minutes); SecurityError when it cannot be trusted."""
    from plugin.security import InvalidSignature, verify_wordpress_sign_in

    shop = shop_for_domain(session, (domain or "").strip().lower()[:255])
    secret = credentials(shop).get("storefront_secret") if shop is not None else None
    if shop is None or not secret:
        raise InvalidSignature("unknown shop")
    verify_wordpress_sign_in(secret, shop.domain, timestamp, signature, now=now)
    return shop


def wordpress_plugin_zip() -> bytes:
    """adapters/woocommerce/wordpress/storecare/ as ``storecare/...`` in a zip built in memory, with a
    generated ``config.php`` naming this app's address (the settings page's default)."""
    import io
    import zipfile
    from pathlib import Path

    import adapters.woocommerce

    root = Path(adapters.woocommerce.__file__).resolve().parent / "wordpress" / "storecare"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "config.php"):
            archive.write(path, f"storecare/{path.relative_to(root).as_posix()}")
        archive.writestr("storecare/config.php", wordpress_config_php(_settings().app_url))
    return buffer.getvalue()


def wordpress_config_php(app_url: str) -> str:
    quoted = "'" + app_url.rstrip("/").replace("\\", "\\\\").replace("'", "\\'") + "'"
    return ("<?php\n/* Generated by Storecare when this zip was downloaded: the default app address. */\n"
            "defined( 'ABSPATH' ) || exit;\n"
            f"define( 'STORECARE_DEFAULT_APP_URL', {quoted} );\n")
