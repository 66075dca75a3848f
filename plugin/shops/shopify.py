"""Shopify install and identity: the authorization-code grant, token exchange for the embedded admin,
expiring offline tokens kept fresh, re-install and scope changes.

Every signature and token check is in ``plugin.security``; every call to Shopify's token endpoint is in
``adapters.shopify.oauth``. This module owns the transactions around them. Tokens live only inside the
shop's encrypted credentials (``access_token``, ``expires_at``, ``refresh_token``,
``refresh_token_expires_at``, ``scope``); ``Shop.needs_reauth`` says Shopify refused them.

No transaction is held open across a call to Shopify, except a token refresh, which holds the shop's
row lock on purpose: concurrent refreshers must not each spend the (rotating) refresh token.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from adapters.base import Platform
from adapters.errors import AuthRevoked, InvalidPayload, Transient
from adapters.shopify.oauth import GrantRefused, OAuthClient, OfflineToken, authorize_url, without_token
from plugin.admin.sessions import end_shop_sessions
from plugin.db import utcnow
from plugin.security import SessionToken, random_secret, verify_shopify_query
from plugin.shops import service
from plugin.shops.models import OAuthState, Shop
from plugin.upsert import insert_ignore

log = logging.getLogger(__name__)

PLATFORM = str(Platform.SHOPIFY)
STATE_TTL = timedelta(minutes=10)
REFRESH_MARGIN = timedelta(minutes=5)  # refresh an access token that has less than this left
SUBSCRIBE_JOB = "shopify.subscribe_webhooks"


class ShopifyAuthError(service.ShopError):
    """Install or sign-in cannot go on. ``status`` is the HTTP answer; the message is merchant-safe."""

    status = 401


class ShopifyNotConfigured(ShopifyAuthError):
    status = 404


class StateRefused(ShopifyAuthError):
    """The callback's ``state`` is unknown, expired, already used, or not this browser's."""


class InstallUnavailable(ShopifyAuthError):
    """Shopify's token endpoint did not answer: nothing was stored, start again in a moment."""

    status = 503


# -- configuration --------------------------------------------------------------------------------

def _settings():
    return current_app.config["STORECARE_SETTINGS"]


def _manifest() -> dict:
    return current_app.config["STORECARE_MANIFEST"]["shopify"]


def app_credentials() -> tuple[str, str]:
    """(client id, client secret); ShopifyNotConfigured when Shopify is off."""
    settings = _settings()
    if not settings.shopify_enabled:
        raise ShopifyNotConfigured("Shopify is not configured on this Storecare server.")
    return settings.shopify_api_key, settings.shopify_api_secret


def oauth_client(shop_domain: str) -> OAuthClient:
    client_id, secret = app_credentials()
    return OAuthClient(current_app.extensions["storecare.http"], shop_domain, client_id=client_id,
                       client_secret=secret)


def redirect_uri() -> str:
    return _settings().app_url + "/auth/shopify/callback"


def required_scopes() -> tuple[str, ...]:
    return tuple(_manifest()["scopes"])


def scopes_cover(granted: Iterable[str], required: Iterable[str]) -> bool:
    """Whether ``granted`` covers ``required``; ``write_x`` implies ``read_x`` (ShopifyAPI's ApiAccess)."""
    from shopify.api_access import ApiAccess  # importing ShopifyAPI costs ~0.2 s: only when needed

    # Shopify also grants scopes ApiAccess refuses to parse (customer_read_orders, ...): none of ours.
    known = [scope for scope in granted if ApiAccess.SCOPE_RE.match(scope)]
    return ApiAccess(known).covers(ApiAccess(list(required)))


# -- the authorization-code grant (a start outside the Shopify admin) -----------------------------

@dataclass(frozen=True)
class InstallStart:
    shop_domain: str
    nonce: str
    authorize_url: str


def begin_install(db, params: Iterable[tuple[str, str]], now: datetime | None = None) -> InstallStart:
    """Verify Shopify's install request, store a single-use state nonce, say where to send the merchant."""
    _client_id, secret = app_credentials()
    now = now or utcnow()
    return _start_grant(db, verify_shopify_query(secret, params, now), required_scopes(), now)


def begin_scope_grant(db, shop: Shop, scopes: Iterable[str], now: datetime | None = None) -> InstallStart:
    """The grant screen asking the merchant of ``shop`` (signed in to our admin outside Shopify) for
    ``scopes`` on top of the required ones: the way to approve new permissions without App Bridge. The
    callback is the install's (``complete_install``): it stores the new token and its scopes."""
    if shop.platform != PLATFORM or shop.status != "installed":
        raise ShopifyAuthError("Only an installed Shopify shop can approve Shopify permissions.")
    wanted = tuple(dict.fromkeys([*required_scopes(), *scopes]))
    return _start_grant(db, shop.domain, wanted, now or utcnow())


def _start_grant(db, shop_domain: str, scopes: Iterable[str], now: datetime) -> InstallStart:
    client_id, _secret = app_credentials()
    nonce = random_secret(32)
    with db.uow() as session:
        session.execute(delete(OAuthState).where(OAuthState.expires_at < now))  # housekeeping
        session.add(OAuthState(nonce=nonce, platform=PLATFORM, shop_domain=shop_domain, created_at=now,
                               expires_at=now + STATE_TTL))
        session.commit()
    url = authorize_url(shop_domain, client_id=client_id, scopes=tuple(scopes), redirect_uri=redirect_uri(),
                        state=nonce)
    return InstallStart(shop_domain, nonce, url)


def complete_install(db, params: Iterable[tuple[str, str]], browser_nonce: str | None,
                     now: datetime | None = None) -> Shop:
    """The grant's callback: verify it, spend its state, exchange the code, install the shop.

    The state is spent (its row deleted and committed) before the code is exchanged, so a replayed
    callback is refused even while the first one is still talking to Shopify.
    """
    _client_id, secret = app_credentials()
    now = now or utcnow()
    params = list(params)
    shop_domain = verify_shopify_query(secret, params, now)
    values = dict(params)
    state, code = values.get("state", ""), values.get("code", "")
    if not state or not code or not browser_nonce or not hmac.compare_digest(
            state.encode("utf-8"), browser_nonce.encode("utf-8")):
        raise StateRefused("This install link was not started in this browser. Start again from Shopify.")
    with db.uow() as session:
        spent = session.execute(delete(OAuthState).where(
            OAuthState.nonce == state, OAuthState.platform == PLATFORM, OAuthState.shop_domain == shop_domain,
            OAuthState.expires_at > now)).rowcount
        session.commit()
    if spent != 1:
        raise StateRefused("This install link has expired or was already used. Start again from Shopify.")
    try:
        token = oauth_client(shop_domain).exchange_code(code, now)
    except Transient as exc:
        raise InstallUnavailable("Shopify did not answer in time. Start the install again.") from exc
    except GrantRefused as exc:
        raise StateRefused("Shopify refused this install link. Start again from Shopify.") from exc
    with db.uow() as session:
        shop = install_shop(session, shop_domain, token, now)
        session.commit()
    return shop


def install_shop(session: Session, shop_domain: str, token: OfflineToken,
                 now: datetime | None = None) -> Shop:
    """Store ``token`` for the shop and (re)install it. The caller commits.

    A first install or a re-install (the shop was uninstalled) reactivates the shop, queues the webhook
    subscriptions and a backfill; a repeated install (a fresh token for an installed shop) only stores
    the token. Every admin session of the shop ends either way (the caller signs the merchant in).
    """
    from plugin.sync.backfill import request_backfill

    now = now or utcnow()
    created = insert_ignore(session, Shop.__table__, [{
        "platform": PLATFORM, "domain": shop_domain, "name": shop_domain.split(".", 1)[0], "currency": "USD",
        "timezone": "UTC", "locale": "en", "status": "installed", "scopes": [], "needs_reauth": False,
        "installed_at": now, "created_at": now, "updated_at": now,
    }], ["platform", "domain"], returning=[Shop.__table__.c.id])  # two first loads at once: one row
    shop = _lock(session, service.find_shop(session, PLATFORM, shop_domain))
    fresh = bool(created) or shop.status != "installed"
    kept = without_token(service.credentials(shop)) if shop.credentials_encrypted else {}
    service.store_credentials(shop, {**kept, **token.as_credentials()})
    shop.scopes, shop.needs_reauth = list(token.scopes), False
    if fresh:
        shop.status, shop.installed_at, shop.uninstalled_at = "installed", now, None
    session.flush()
    end_shop_sessions(session, shop.id)  # a new grant: whoever was signed in before signs in again
    if fresh:
        queue = current_app.extensions["storecare.queue"]
        queue.enqueue(session, SUBSCRIBE_JOB, {"shop_id": shop.id}, shop_id=shop.id)
        request_backfill(session, shop.id)
        log.info("shopify shop %s installed", shop.id)
    return shop


# -- the embedded admin: session token -> (token exchange) -> signed in -----------------------------

def holds_usable_token(shop: Shop | None, now: datetime | None = None) -> bool:
    """An installed shop whose stored token still works (or can be refreshed) and covers our scopes."""
    if shop is None or shop.status != "installed" or shop.needs_reauth or not shop.credentials_encrypted:
        return False
    token = OfflineToken.from_credentials(service.credentials(shop))
    if token is None or not scopes_cover(shop.scopes or [], required_scopes()):
        return False
    now = now or utcnow()
    if token.expires_at is None or token.expires_at > now:
        return True
    return bool(token.refresh_token) and (token.refresh_token_expires_at is None
                                          or token.refresh_token_expires_at > now)


def enter_embedded(db, claims: SessionToken, session_token: str, now: datetime | None = None) -> Shop:
    """The shop a verified session token speaks for, installed with a working offline token.

    Shopify-managed install: the first load after install (or after a re-install, or after the
    merchant approved new scopes) has no usable token yet, so the session token is exchanged for one.
    A session token Shopify will not exchange raises ``GrantRefused``: answer it like an invalid one.
    """
    now = now or utcnow()
    with db.uow() as session:
        shop = service.find_shop(session, PLATFORM, claims.shop)
        if holds_usable_token(shop, now):
            return shop
    try:
        token = oauth_client(claims.shop).exchange_session_token(session_token, now)
    except Transient as exc:
        raise InstallUnavailable("Shopify did not answer in time. Reload the app.") from exc
    with db.uow() as session:
        shop = install_shop(session, claims.shop, token, now)
        session.commit()
    return shop


# -- expiring offline tokens ----------------------------------------------------------------------

def _lock(session: Session, shop: Shop) -> Shop:
    """Re-read ``shop`` under a write lock held until the session ends: SELECT ... FOR UPDATE on
    PostgreSQL; on SQLite a no-op UPDATE, which takes the database's single writer lock."""
    if session.get_bind().dialect.name == "sqlite":
        table = Shop.__table__
        session.execute(table.update().where(table.c.id == shop.id).values(id=table.c.id))
    return session.scalars(select(Shop).where(Shop.id == shop.id).with_for_update()
                           .execution_options(populate_existing=True)).one()


def mark_needs_reauth(session: Session, shop: Shop, reason: str) -> None:
    """Stop platform calls for the shop until the merchant opens the app again. Commits."""
    shop.needs_reauth = True
    session.commit()
    log.warning("shopify shop %s needs re-authorisation: %s", shop.id, reason)


def fresh_credentials(shop: Shop, now: datetime | None = None) -> dict:
    """``shop``'s credentials with an access token valid for at least five more minutes (what
    ``service.adapter_for`` builds a Shopify adapter with).

    A token that needs it is refreshed in a unit of work of its own, never in the session ``shop``
    belongs to: a refresh commits at once (a rotated refresh token must never be lost to a later
    rollback), and committing the caller's session would commit its unfinished use case (a redemption
    holding a balance lock). The caller's copy of the shop is given what was stored without becoming
    dirty, so the caller's own commit writes no credentials. Raises as ``ensure_fresh_token``."""
    now = now or utcnow()
    if shop.needs_reauth:
        raise AuthRevoked("Shopify needs the merchant to open Storecare again to re-authorise it")
    values = service.credentials(shop)
    token = OfflineToken.from_credentials(values)
    if token is None or not token.expires_within(REFRESH_MARGIN.total_seconds(), now):
        return values
    with current_app.extensions["storecare.db"].uow() as own:
        stored = own.get(Shop, shop.id)
        try:
            values = ensure_fresh_token(own, stored, now)
        except AuthRevoked:  # Shopify refused the refresh token: the shop was marked
            set_committed_value(shop, "needs_reauth", stored.needs_reauth)
            raise
        set_committed_value(shop, "credentials_encrypted", stored.credentials_encrypted)
        return values


def ensure_fresh_token(session: Session, shop: Shop, now: datetime | None = None) -> dict:
    """The shop's credentials with an access token valid for at least five more minutes.

    Refreshes when needed, serialised on the shop's row, and commits ``session`` at once: give it a
    session of its own (``fresh_credentials`` does). When the refresh gets no answer, nothing is
    overwritten and ``Transient`` asks for a retry; when Shopify refuses the refresh token, the shop is
    marked ``needs_reauth`` and ``AuthRevoked`` is raised.
    """
    now = now or utcnow()
    if shop.needs_reauth:
        raise AuthRevoked("Shopify needs the merchant to open Storecare again to re-authorise it")
    values = service.credentials(shop)
    token = OfflineToken.from_credentials(values)
    if token is None or not token.expires_within(REFRESH_MARGIN.total_seconds(), now):
        return values
    margin = REFRESH_MARGIN.total_seconds()
    return _refresh(session, shop, now, lambda current: current.expires_within(margin, now))


def refresh_after_401(session: Session, shop: Shop, failed_access_token: str | None = None,
                      now: datetime | None = None) -> dict:
    """Shopify answered 401 to ``failed_access_token``: refresh once (unless another worker already did)
    and return the new credentials. A refused refresh marks the shop ``needs_reauth``."""
    if shop.needs_reauth:
        raise AuthRevoked("Shopify needs the merchant to open Storecare again to re-authorise it")
    failed = failed_access_token or service.credentials(shop).get("access_token")
    return _refresh(session, shop, now or utcnow(), lambda current: current.access_token == failed)


def _refresh(session: Session, shop: Shop, now: datetime,
             still_needed: Callable[[OfflineToken], bool]) -> dict:
    locked = _lock(session, shop)  # the same object as ``shop`` when it belongs to ``session``
    values = service.credentials(locked)
    current = OfflineToken.from_credentials(values)
    if locked.needs_reauth:
        session.commit()
        raise AuthRevoked("Shopify needs the merchant to open Storecare again to re-authorise it")
    if current is None or not still_needed(current):  # another worker refreshed while we waited
        session.commit()
        return values
    if not current.refresh_token or (current.refresh_token_expires_at is not None
                                     and current.refresh_token_expires_at <= now):
        mark_needs_reauth(session, locked, "no usable refresh token")
        raise AuthRevoked("the Shopify refresh token has expired: the merchant must open Storecare again")
    try:
        fresh = oauth_client(locked.domain).refresh(current.refresh_token, now)
    except GrantRefused as exc:
        mark_needs_reauth(session, locked, f"refresh refused: {exc.error or exc.message}")
        raise
    except Exception:
        # Nothing was stored, so the old tokens stay (Shopify keeps the old refresh token usable for the
        # retry); roll back now to release the row lock (on SQLite: the database's writer lock).
        session.rollback()
        raise
    if not fresh.scopes:
        fresh = OfflineToken(fresh.access_token, current.scopes, fresh.expires_at, fresh.refresh_token,
                             fresh.refresh_token_expires_at)
    if not fresh.refresh_token:  # Shopify rotates it; if it ever did not, the old one stays ours
        fresh = OfflineToken(fresh.access_token, fresh.scopes, fresh.expires_at, current.refresh_token,
                             current.refresh_token_expires_at)
    values = {**without_token(values), **fresh.as_credentials()}
    service.store_credentials(locked, values)
    session.commit()
    log.info("shopify shop %s: access token refreshed", locked.id)
    return values


# -- webhooks: subscriptions and app/scopes_update ----------------------------------------------------

def subscribe_webhooks(db, shop_id: int) -> list[str]:
    """Create the shop's missing webhook subscriptions (topics from app.yaml). Idempotent; a job."""
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or shop.status != "installed":
            return []
        adapter = service.adapter_for(shop)
    address = _settings().app_url + "/webhooks/shopify"
    return adapter.subscribe_webhooks(address, list(_manifest()["webhooks"]))


def subscribe_webhooks_job(shop_id: int) -> None:
    subscribe_webhooks(current_app.extensions["storecare.db"], shop_id)



def apply_scopes_update(shop: Shop, payload: Mapping) -> None:
    """app/scopes_update: the merchant granted or removed scopes. ``current`` is what we hold now; the
    next embedded load exchanges a new token when our required scopes are no longer covered."""
    current = payload.get("current")
    if not isinstance(current, list) or not all(isinstance(scope, str) for scope in current):
        raise InvalidPayload("the app/scopes_update payload has no list of current scopes")
    scopes = sorted({scope.strip() for scope in current if scope.strip()})
    shop.scopes = scopes
    if shop.credentials_encrypted:
        values = service.credentials(shop)
        if values.get("access_token"):
            service.store_credentials(shop, {**values, "scope": ",".join(scopes)})
