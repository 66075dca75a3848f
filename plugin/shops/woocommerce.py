"""Connecting a WooCommerce store: /wc-auth key handover, verified before anything is stored.

1. ``start``: the merchant gives the store address (our form, or the WordPress plugin's Connect button
   through ``/connect/woocommerce/start``). We keep a pending connection under a random single-use
   token (only its SHA-256 is stored) that lives 15 minutes, and send the browser to the store's
   ``/wc-auth/v1/authorize`` with the token as ``user_id``. The browser that goes there is bound to
   the token (a random value in its session, hashed in the row).
2. ``complete``: WooCommerce posts the keys to our callback, unsigned. They count only for a pending,
   unexpired, unused token and ``read_write``; then a real API call (GET /system_status) at the
   address the merchant gave must succeed, and the store must report that same address (its whole base
   URL: its store key), BEFORE anything is written. A store key that names a shop already installed,
   or holding data, needs a proof that this is the same store (plugin/shops/woocommerce_identity.py);
   without one nothing changes, the new key is deleted through our plugin when it can be, and the
   merchant's return page says why (WooCommerce still gets a 200: otherwise it shows its own generic
   error and never sends the browser back). Otherwise, in one transaction that claims the token
   (compare-and-set), the Shop is created or re-activated with the keys encrypted, our webhook secret
   and the storefront secret, webhooks are reconciled and a backfill is queued. The key a reconnect
   replaces is revoked through our plugin, or listed on the Connection page (woocommerce_keys.py).
   If the first call with the keys fails (a certificate we cannot verify, a redirect, no answer, no
   JSON, the keys refused), the reason is recorded on the pending connection and WooCommerce still
   gets a 200 too, so that the browser comes back to our return page, which says what failed and
   which unused key the merchant may delete.
3. ``land``: the browser returns; the browser bound in step 1 is signed in to that shop's admin, once.
   Opened again by that browser, now signed in, it goes to the admin; otherwise it says it was used.

The storefront secret (which signs shopper tokens and the plugin's admin links) is not sent to us by
anyone unauthenticated: with the verified keys we read it from our WordPress plugin's route
(``wc-storecare/v1/connection``, authenticated by WooCommerce with those keys). A store without the
plugin gets a random one, replaced when the plugin is installed and says hello (woocommerce_upkeep.py).
Which shop a store is, and the proof a reconnect needs: woocommerce_identity.py; the plugin's signed
link and its zip: woocommerce_wordpress.py.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from adapters.base import Platform
from adapters.errors import AdapterError, InvalidPayload, NotFound
from adapters.messages import N_
from adapters.woocommerce.auth import (
    SCOPE,
    KeyHandover,
    StoreAddress,
    StoreUrlError,
    authorize_url,
    parse_store_url,
    read_key_handover,
    store_key,
)
from plugin.admin.sessions import end_shop_sessions
from plugin.db import utcnow
from plugin.security import random_secret
from plugin.shops import woocommerce_identity as identity
from plugin.shops import woocommerce_keys
from plugin.shops.models import PendingConnection, Shop
from plugin.shops.service import credentials, find_shop, platform_adapter, store_credentials
from plugin.shops.woocommerce_failures import UNUSED_KEY, why_not_verified

log = logging.getLogger(__name__)
TOKEN_TTL = timedelta(minutes=15)
LANDING_TTL = timedelta(minutes=15)  # after the keys arrived, the browser has this long to come back
KEEP_FINISHED = timedelta(days=1)
CALLBACK_PATH = "/connect/woocommerce/callback"
RETURN_PATH = "/connect/woocommerce/return"
GO_PATH = "/connect/woocommerce/go"
PLATFORM = str(Platform.WOOCOMMERCE)
MIN_STOREFRONT_SECRET = 32

ALREADY_CONNECTED = N_(
    "This store is already connected to Storecare, and this connection could not show that it comes from "
    "the same store, so nothing was changed. To reconnect it, sign in to Storecare first: open Storecare "
    "from WordPress (WooCommerce > Open Storecare), or sign in and use Reconnect on the Connection page.")
DATA_KEPT = N_(
    "This store was connected to Storecare before and its data is still kept. This connection could not "
    "show that it comes from the same store, so nothing was changed. Connect from the Storecare plugin in "
    "WordPress (WooCommerce > Storecare), which shows it is the same store, or contact Storecare's support.")


class ConnectError(Exception):
    """A connection step was refused; ``message`` is safe to show the merchant (or WooCommerce).
    ``note`` (with ``params``) is a second sentence for the merchant's page."""

    status = 400

    def __init__(self, message: str, status: int | None = None, *, note: str | None = None,
                 params: dict | None = None):
        super().__init__(message)
        self.message, self.note, self.params = message, note, dict(params or {})
        if status is not None:
            self.status = status

    def english(self) -> str:
        return self.message % self.params if self.params else self.message


class KeysNotVerified(ConnectError):
    """The keys arrived for a valid pending connection but the first call with them failed. Recorded on
    the connection for the return page; WooCommerce is answered 200 (see the module doc)."""


class StoreAlreadyConnected(ConnectError):
    """The store key names a shop this connection could not prove to be its own: nothing was changed.
    WooCommerce is still answered 200, so that it sends the merchant back to our page that says so."""

    status = 200


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


def _woocommerce_shop_id(session, shop_id: object) -> int | None:
    shop = session.get(Shop, shop_id) if isinstance(shop_id, int) and not isinstance(shop_id, bool) else None
    return shop.id if shop is not None and shop.platform == PLATFORM and shop.status == "installed" else None


def start(db, store_url: str, *, browser_binder: str | None, signed_in_shop_id: object = None,
          now: datetime | None = None) -> Started:
    """Record a pending connection and build the authorize URL; commits. ``signed_in_shop_id``: the
    shop this browser's admin session names (as the session holds it): when it is an installed
    WooCommerce shop, a reconnect's proof (see woocommerce_identity)."""
    with db.uow() as session:
        started = _start(session, store_url, browser_binder=browser_binder,
                         signed_in_shop_id=signed_in_shop_id, now=now)
        session.commit()
    return started


def _start(session, store_url: str, *, browser_binder: str | None, signed_in_shop_id: object,
           now: datetime | None) -> Started:
    now = now or utcnow()
    store = check_store_url(store_url)
    token = secrets.token_urlsafe(32)
    session.execute(delete(PendingConnection).where(PendingConnection.expires_at < now - KEEP_FINISHED))
    session.add(PendingConnection(platform=PLATFORM, token_hash=digest(token), store_url=store.url,
                                  domain=store.domain, status="pending", created_at=now,
                                  expires_at=now + TOKEN_TTL,
                                  browser_hash=digest(browser_binder) if browser_binder else None,
                                  intended_shop_id=_woocommerce_shop_id(session, signed_in_shop_id)))
    url = authorize_url(store, app_name=_settings().woocommerce_app_name, user_id=token,
                        return_url=_app_url(RETURN_PATH), callback_url=_app_url(CALLBACK_PATH), scope=SCOPE)
    return Started(token=token, store=store, authorize_url=url, go_url=f"{_app_url(GO_PATH)}?user_id={token}")


def _pending(session, token: str) -> PendingConnection | None:
    if not token or len(token) > 128:
        return None
    return session.scalars(select(PendingConnection).where(PendingConnection.token_hash == digest(token),
                                                           PendingConnection.platform == PLATFORM)).first()


def bind_browser(db, token: str, browser_binder: str, now: datetime | None = None, *,
                 signed_in_shop_id: object = None) -> str:
    """The WordPress plugin's link: the first browser to follow it is bound to the connection (with the
    WooCommerce shop it is signed in to, if any); it is then sent on to the store's authorize screen.
    Commits."""
    with db.uow() as session:
        target = _bind_browser(session, token, browser_binder, now, signed_in_shop_id=signed_in_shop_id)
        session.commit()
    return target


def _bind_browser(session, token: str, browser_binder: str, now: datetime | None, *,
                  signed_in_shop_id: object) -> str:
    now = now or utcnow()
    row = _pending(session, token)
    if row is None or row.status != "pending" or row.expires_at <= now:
        raise ConnectError(N_("This connection link is not valid or has expired. Start again from WordPress."))
    claimed = session.execute(update(PendingConnection).where(
        PendingConnection.id == row.id, PendingConnection.browser_hash.is_(None)).values(
        browser_hash=digest(browser_binder),
        intended_shop_id=_woocommerce_shop_id(session, signed_in_shop_id))).rowcount
    if not claimed and row.browser_hash != digest(browser_binder):
        raise ConnectError(N_("This connection link was already used. Start again from WordPress."))
    store = StoreAddress(url=row.store_url, domain=row.domain)
    return authorize_url(store, app_name=_settings().woocommerce_app_name, user_id=token,
                         return_url=_app_url(RETURN_PATH), callback_url=_app_url(CALLBACK_PATH), scope=SCOPE)


def complete(db, payload: object, now: datetime | None = None) -> Shop:
    """Accept WooCommerce's key handover (see the module doc); ConnectError changes nothing, and so does
    StoreAlreadyConnected (except for deleting the key it was handed, through our plugin)."""
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
        store, intended = StoreAddress(url=row.store_url, domain=row.domain), row.intended_shop_id
    if handover.permissions != SCOPE:
        raise ConnectError("Storecare needs read_write access to the store.", 400)
    adapter = _adapter(store, handover)
    try:
        info = _verified_store(adapter, store)
    except KeysNotVerified as exc:
        _record_failure(db, handover, exc, now)
        raise
    storefront_secret = _plugin_secret(adapter)
    target = identity.landing_target(db, store.domain, intended, storefront_secret, (ALREADY_CONNECTED, DATA_KEPT),
                                     previous_keys_work=lambda held: _previous_keys_work(store, held))
    if target.refusal is not None:
        _refuse(db, adapter, handover, target.refusal, now)
    with db.uow() as session:
        claimed = session.execute(update(PendingConnection).where(
            PendingConnection.token_hash == digest(handover.user_id), PendingConnection.status == "pending",
            PendingConnection.expires_at > now).values(status="connected", completed_at=now)).rowcount
        if not claimed:
            raise ConnectError("This connection request was already used or has expired.", 400)
        row = _pending(session, handover.user_id)
        shop, fresh, replaced = _install(session, store, handover, info.currency, storefront_secret, now, target)
        row.shop_id = shop.id
        _subscribe(adapter, shop, row)
        if fresh:
            from plugin.sync.backfill import request_backfill

            request_backfill(session, shop.id)
        session.commit()
        log.info("woocommerce store %s connected (shop %s, %s)", shop.domain, shop.id, target.proof or "new")
    if replaced is not None:
        woocommerce_keys.retire(db, shop.id, adapter, replaced)
    return shop


def _refuse(db, adapter, handover: KeyHandover, message: str, now: datetime) -> None:
    """Close the connection as refused (its return page says ``message``), delete the key it was handed
    through our plugin, or name that key on the return page; then raise StoreAlreadyConnected."""
    with db.uow() as session:
        claimed = session.execute(update(PendingConnection).where(
            PendingConnection.token_hash == digest(handover.user_id), PendingConnection.status == "pending",
            PendingConnection.expires_at > now).values(status="failed", error=message, completed_at=now)).rowcount
        session.commit()
    if not claimed:
        raise ConnectError("This connection request was already used or has expired.", 400)
    if not woocommerce_keys.revoke(adapter, handover.key_id):
        with db.uow() as session:
            session.execute(update(PendingConnection).where(
                PendingConnection.token_hash == digest(handover.user_id)).values(
                unused_key_ending=handover.consumer_key[-7:]))
            session.commit()
    raise StoreAlreadyConnected(message)


def _adapter(store: StoreAddress, handover: KeyHandover):
    return _store_adapter(store, handover.consumer_key, handover.consumer_secret)


def _store_adapter(store: StoreAddress, consumer_key: str, consumer_secret: str):
    """An adapter for the address being connected, with the given keys (the one way one is built here)."""
    values = {"store_url": store.url, "consumer_key": consumer_key, "consumer_secret": consumer_secret}
    return platform_adapter(PLATFORM, store.domain, values)  # keys not stored yet: no shop to guard


def _previous_keys_work(store: StoreAddress, held: identity.Held) -> bool:
    """Proof 3: the keys we hold for the shop still work at the store's address (where its routine sync
    sends them every quarter hour) and the store still reports that store key."""
    try:
        info = _store_adapter(store, held.consumer_key, held.consumer_secret).store_info()
    except AdapterError:
        return False
    return bool(info.home_url) and store_key(info.home_url) == store.domain


def _verified_store(adapter, store: StoreAddress):
    try:
        info = adapter.store_info()
    except AdapterError as exc:
        log.info("woocommerce keys for %s failed verification (%s): %s", store.domain, type(exc).__name__,
                 exc.message)
        message, params = why_not_verified(exc)
        raise KeysNotVerified(message, 200, params=params) from None
    if info.home_url and store_key(info.home_url) != store.domain:  # the whole base URL, not the host
        raise ConnectError(f"The store reports its address as {info.home_url}: connect with that address.", 400)
    return info


def _record_failure(db, handover: KeyHandover, exc: KeysNotVerified, now: datetime) -> None:
    """Close the pending connection with what failed, for the return page (``land``) to show. The key
    WooCommerce made stays in the store, unused: the page names it (WooCommerce lists keys by their
    last seven characters)."""
    with db.uow() as session:
        claimed = session.execute(update(PendingConnection).where(
            PendingConnection.token_hash == digest(handover.user_id), PendingConnection.status == "pending",
            PendingConnection.expires_at > now).values(
            status="failed", completed_at=now, error=exc.message, error_params=exc.params,
            unused_key_ending=handover.consumer_key[-7:])).rowcount
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
    return storefront_secret_of(data)


def storefront_secret_of(data) -> str | None:
    """The storefront secret in our plugin's ``connection`` answer, if it is a usable one."""
    secret = data.get("storefront_secret") if data else None
    if isinstance(secret, str) and MIN_STOREFRONT_SECRET <= len(secret) <= 255 and secret.isprintable() \
            and secret.isascii():
        return secret
    return None


def _install(session, store: StoreAddress, handover: KeyHandover, currency: str | None,
             storefront_secret: str | None, now: datetime, target: identity.Target
             ) -> tuple[Shop, bool, woocommerce_keys.ReplacedKey | None]:
    """Create or update the shop ``target`` named; returns it, whether it is fresh (a backfill is due),
    and the key this connection replaces (a proven reconnect's previous key)."""
    shop = find_shop(session, PLATFORM, store.domain)
    if shop is not None and shop.id != target.shop_id and identity.needs_proof(session, shop):
        # another connection of this store key landed since we looked: decide again, from the start
        raise ConnectError("This store was connected by someone else meanwhile. Start again.", 409)
    if shop is None:
        shop = Shop(platform=PLATFORM, domain=store.domain, name=store.domain)
        session.add(shop)
    held = credentials(shop) if shop.credentials_encrypted else {}
    values = held if target.proof is not None else {}  # without a proof, nothing of before is kept
    values.setdefault("webhook_secret", random_secret())
    values["storefront_secret"] = storefront_secret or values.get("storefront_secret") or random_secret()
    replaced = None
    if target.proof is not None and held.get("key_id") and str(held["key_id"]) != handover.key_id:
        replaced = woocommerce_keys.ReplacedKey(str(held["key_id"]), str(held.get("consumer_key", ""))[-7:],
                                                now.isoformat())
    values.update(store_url=store.url, consumer_key=handover.consumer_key,
                  consumer_secret=handover.consumer_secret, key_id=handover.key_id)
    if storefront_secret:
        values["plugin_confirmed_at"] = now.isoformat()
    store_credentials(shop, values)
    fresh = shop.id is None or shop.status != "installed" or bool(shop.needs_reauth)
    if fresh:
        shop.status, shop.installed_at, shop.uninstalled_at = "installed", now, None
    shop.needs_reauth = False
    if currency and len(currency) == 3 and currency.isalpha():
        shop.currency = currency.upper()
    shop.scopes = [SCOPE]
    session.flush()
    end_shop_sessions(session, shop.id)  # new keys: whoever was signed in signs in again
    return shop, fresh, replaced


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


@dataclass(frozen=True)
class Landing:
    shop: Shop
    already_signed_in: bool = False  # the page opened again by the browser it signed in


def land(db, token: str, browser_binder: str | None, success: bool, now: datetime | None = None, *,
         signed_in_shop_id: object = None) -> Landing:
    """The merchant's browser is back from the store. Return the shop to sign in to (once), or raise
    ConnectError with what to tell them. ``signed_in_shop_id``: the shop this browser's admin session
    names (signing in rotates the session, so the browser that started is known by that once it
    landed). Commits, also after a ConnectError (a refusal closes the pending connection)."""
    with db.uow() as session:
        try:
            landing = _land(session, token, browser_binder, success, now, signed_in_shop_id=signed_in_shop_id)
        except ConnectError:
            session.commit()
            raise
        session.commit()
    return landing


def _land(session, token: str, browser_binder: str | None, success: bool, now: datetime | None, *,
          signed_in_shop_id: object) -> Landing:
    now = now or utcnow()
    row = _pending(session, token)
    if row is not None and row.landed_at is not None:
        shop = session.get(Shop, row.shop_id) if row.shop_id is not None else None
        if shop is not None and shop.status == "installed" and shop.id == signed_in_shop_id:
            return Landing(shop, already_signed_in=True)
        raise ConnectError(N_("This link was already used to sign in. To open Storecare again, use "
                              "WooCommerce > Open Storecare in WordPress, or connect the store again."))
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
        note = UNUSED_KEY if row.unused_key_ending else None
        raise ConnectError(row.error or N_("The connection failed. Start again."), note=note,
                           params={**(row.error_params or {}), "key": row.unused_key_ending or ""})
    if row.status != "connected" or row.shop_id is None:
        raise ConnectError(N_("Your store has not sent us its keys. Start again; if it keeps happening, "
                              "check that your store can reach Storecare over https."))
    if row.completed_at is None or row.completed_at + LANDING_TTL <= now:
        raise ConnectError(N_("This sign-in link was already used or has expired. Open Storecare from WordPress."))
    claimed = session.execute(update(PendingConnection).where(
        PendingConnection.id == row.id, PendingConnection.landed_at.is_(None)).values(landed_at=now)).rowcount
    shop = session.get(Shop, row.shop_id)
    if not claimed or shop is None or shop.status != "installed":
        raise ConnectError(N_("This sign-in link was already used or has expired. Open Storecare from WordPress."))
    return Landing(shop)
