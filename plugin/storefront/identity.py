"""Who is shopping: every identity source the storefront accepts turns into one ``Shopper``.

Sources, tried in order (``IDENTITY_SOURCES``, plain data):

- ``ShopperTokenSource``: header ``X-Storecare-Shopper`` carries a short-lived token computed
  server-side by the store (our WordPress plugin; the demo storefront page) and signed with the
  shop's storefront secret. Used by the sandbox and WooCommerce.
- ``AppProxySource``: Shopify's app proxy (storefront ``/apps/storecare/...`` -> our ``/proxy/...``)
  signs the forwarded query with our client secret and adds ``shop`` and ``logged_in_customer_id``
  (empty for a guest). The proxy's views use this source alone (``PROXY_SOURCES``).

Token format (easy to compute in PHP as well)::

    v1.<base64url(domain "\\n" platform_customer_id "\\n" expires_unix), no padding>.<hex HMAC-SHA256>

The HMAC covers ``v1.<payload>`` (ASCII). An empty customer id means a guest of that shop.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from plugin.row_changes import CUSTOMER_TTL
from plugin.security import ExpiredSignature, InvalidSignature, sign_hex, verify_app_proxy, verify_hex_hmac
from plugin.shops.models import Shop
from plugin.shops.woocommerce_identity import signing_candidates
from plugin.sync.models import Customer

TOKEN_HEADER = "X-Storecare-Shopper"
TOKEN_VERSION = "v1"
TOKEN_TTL = timedelta(minutes=10)
# Clock skew tolerated between the store's server and ours, on both ends of the window.
CLOCK_LEEWAY = timedelta(seconds=30)
MAX_TOKEN_LENGTH = 1024
SECRET_KEY = "storefront_secret"
# A shop domain, or a WooCommerce store key with its sub-folder path (adapters/woocommerce/auth.py).
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,253}[a-z0-9])?(?::[0-9]{1,5})?(?:/[a-z0-9%._~-]*)*$")
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_.:@/-]{0,64}$")


class StorefrontError(Exception):
    """Root of the storefront layer's errors; the message is safe to show to a shopper."""


class ShopperTokenError(StorefrontError):
    """The shopper token is missing, malformed, forged, expired or for a shop we don't serve."""


class ShopperTokenExpired(ShopperTokenError):
    """Signed by the shop, but outside its short validity window."""


class SignInRequired(StorefrontError):
    """No shopper is signed in: the request names none (no token, an empty one, no proxy signature),
    or names a guest, and asks for what belongs to a customer account. Not an error of the token: the
    widget shows its sign-in prompt for it. A token present but not trusted is ``ShopperTokenError``."""


class StorefrontNotConfigured(StorefrontError):
    """The shop has no storefront secret, so no shopper token can be issued or trusted."""


_UNKNOWN = object()


class Shopper:
    """One shopper of one shop. ``customer_id`` is our mirror's id, ``None`` if not (yet) mirrored.

    An identity source may leave the customer's id to be looked up when an endpoint first asks for it
    (``find``): an endpoint that reads the customer's own rows can find the id in the same statement
    (``customer_known`` false) and tell it (``learn_customer``), one round trip instead of two."""

    __slots__ = ("shop_id", "platform_customer_id", "_customer_id", "_find")

    def __init__(self, shop_id: int, customer_id: int | None = None, platform_customer_id: str | None = None, *,
                 find: Callable[[], int | None] | None = None):
        self.shop_id, self.platform_customer_id = shop_id, platform_customer_id
        self._customer_id = _UNKNOWN if find is not None else customer_id
        self._find = find

    @property
    def customer_id(self) -> int | None:
        if self._customer_id is _UNKNOWN:
            self._customer_id = self._find()
        return self._customer_id

    @property
    def customer_known(self) -> bool:
        return self._customer_id is not _UNKNOWN

    def learn_customer(self, customer_id: int | None) -> None:
        self._customer_id = customer_id

    @property
    def is_guest(self) -> bool:
        return self.platform_customer_id is None

    def __eq__(self, other) -> bool:
        return isinstance(other, Shopper) and (self.shop_id, self.customer_id, self.platform_customer_id) == (
            other.shop_id, other.customer_id, other.platform_customer_id)

    __hash__ = None

    def __repr__(self) -> str:
        customer = self._customer_id if self.customer_known else "?"
        return (f"Shopper(shop_id={self.shop_id}, customer_id={customer}, "
                f"platform_customer_id={self.platform_customer_id!r})")


@dataclass(frozen=True)
class TokenClaims:
    shop_domain: str
    platform_customer_id: str | None
    expires_at: datetime


# -- pure: encode, parse and verify tokens (no Flask, no database) ---------------------------------

def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(secret: str, claims: TokenClaims) -> str:
    customer = claims.platform_customer_id or ""
    if not _DOMAIN.match(claims.shop_domain) or not _CUSTOMER_ID.match(customer):
        raise ShopperTokenError("The shop domain or customer id cannot be put in a shopper token.")
    expires = int(claims.expires_at.timestamp())
    payload = _b64encode(f"{claims.shop_domain}\n{customer}\n{expires}".encode())
    message = f"{TOKEN_VERSION}.{payload}"
    return f"{message}.{sign_hex(secret, message.encode('ascii'))}"


def parse_token(token: str | None) -> tuple[bytes, str, TokenClaims]:
    """Split a token into (signed message, signature, claims) WITHOUT checking the signature."""
    invalid = ShopperTokenError("The shopper token is invalid.")
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise invalid
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        raise invalid
    try:
        fields = _b64decode(parts[1]).decode("utf-8").split("\n")
    except (binascii.Error, ValueError):
        raise invalid from None
    if len(fields) != 3:
        raise invalid
    domain, customer, expires = fields
    if not _DOMAIN.match(domain) or not _CUSTOMER_ID.match(customer) or not expires.isdigit() \
            or len(expires) > 12:
        raise invalid
    claims = TokenClaims(domain, customer or None, datetime.fromtimestamp(int(expires), UTC))
    return f"{parts[0]}.{parts[1]}".encode("ascii"), parts[2], claims


def verify_token(secret: str, token: str | None, now: datetime | None = None) -> TokenClaims:
    """The token's claims if ``secret`` signed it and it is inside its short validity window."""
    message, signature, claims = parse_token(token)
    try:
        verify_hex_hmac(secret, message, signature)
    except InvalidSignature:
        raise ShopperTokenError("The shopper token is invalid.") from None
    now = _now(now)
    if claims.expires_at + CLOCK_LEEWAY < now:
        raise ShopperTokenExpired("The shopper token has expired; reload the page.")
    if claims.expires_at > now + TOKEN_TTL + CLOCK_LEEWAY:
        # Signed, but longer-lived than we accept: a leaked token must not stay useful for long.
        raise ShopperTokenExpired("The shopper token is valid for too long.")
    return claims


# -- with the app: the shop's secret, the mirror -------------------------------------------------

def storefront_secret(shop: Shop) -> str:
    """The shop's storefront secret from its encrypted credentials; refuse when there is none."""
    return _secret_of(shop.credentials_encrypted)


def _secret_of(credentials_encrypted: str | None) -> str:
    if not credentials_encrypted:
        raise StorefrontNotConfigured("This shop has no storefront secret.")
    secret = current_app.extensions["storecare.vault"].decrypt(credentials_encrypted).get(SECRET_KEY)
    if not isinstance(secret, str) or len(secret) < 16:
        raise StorefrontNotConfigured("This shop has no storefront secret.")
    return secret


def issue_shopper_token(shop: Shop, platform_customer_id: str | None, now: datetime | None = None) -> str:
    """What the store computes server-side: a token for one shopper (``None``: a guest), ~10 minutes."""
    claims = TokenClaims(shop.domain, platform_customer_id or None, _now(now) + TOKEN_TTL)
    return encode_token(storefront_secret(shop), claims)


_INSTALLED_ON = select(Shop.id, Shop.credentials_encrypted).where(
    Shop.domain == bindparam("domain"), Shop.status == "installed").order_by(Shop.id)
_CUSTOMER = select(Customer.id).where(Customer.shop_id == bindparam("shop_id"),
                                      Customer.platform_id == bindparam("platform_id"),
                                      Customer.deleted_at.is_(None))


def _signers(db, domain: str) -> tuple[tuple[int, str], ...]:
    """(shop id, storefront secret) of each installed shop on ``domain``, oldest first."""
    return tuple(_with_secrets(db.read(_INSTALLED_ON, {"domain": domain})))


def _with_secrets(shops):
    """(shop id, storefront secret) for each (shop id, encrypted credentials) that holds a secret."""
    for shop_id, credentials in shops:
        try:
            yield shop_id, _secret_of(credentials)
        except StorefrontNotConfigured:
            continue


def read_shopper_token(token: str | None, now: datetime | None = None, *,
                       session: Session | None = None) -> Shopper:
    """The ``Shopper`` a token names; raise ShopperTokenError when it cannot be trusted.

    The secrets of the shops on the token's domain are kept a few seconds (``db.reads``: a storefront
    page's every request names the same shop). A token none of them signs is checked again against the
    database, with the stores whose plugin names them otherwise: a shop installed or reconnected since,
    a WooCommerce store's older plugin."""
    _message, _signature, unverified = parse_token(token)
    db = current_app.extensions["storecare.db"]
    domain = unverified.shop_domain
    found = _signed_by(db.reads.get(("storefront.signers", domain), lambda: _signers(db, domain), Shop), token, now)
    if found is not None:
        return found
    if session is None:
        with db.uow() as own:
            return _read_checked(own, token, now, unverified)
    return _read_checked(session, token, now, unverified)


def _read_checked(session: Session, token: str, now: datetime | None, unverified: TokenClaims) -> Shopper:
    exact = list(session.scalars(select(Shop).where(Shop.domain == unverified.shop_domain,
                                                    Shop.status == "installed").order_by(Shop.id)))

    def candidates():
        yield from exact
        # a WooCommerce store's plugin may name it otherwise than its shop's key (older plugins: the host)
        yield from (s for s in signing_candidates(session, unverified.shop_domain) if s not in exact)

    found = _signed_by(_with_secrets((shop.id, shop.credentials_encrypted) for shop in candidates()), token, now)
    if found is None:
        raise ShopperTokenError("The shopper token is invalid.")
    return found


def _signed_by(signers, token: str, now: datetime | None) -> Shopper | None:
    """The shopper of the first (shop id, secret) of ``signers`` whose secret signed ``token``; None if
    none did. A token a signer signed but that has expired raises ShopperTokenExpired."""
    for shop_id, secret in signers:
        try:
            claims = verify_token(secret, token, now)
        except ShopperTokenExpired:
            raise
        except ShopperTokenError:
            continue  # maybe signed by another platform's shop on the same domain
        return _shopper(shop_id, claims.platform_customer_id)
    return None


def _shopper(shop_id: int, platform_customer_id: str | None) -> Shopper:
    """The shopper; the customer's id in our mirror is looked up when first asked for (``Shopper``),
    and kept in the process: it never changes while the customer exists, and a write to customers in
    this process (an erasure, a sync) drops it at once. Another process's deletion drops it at once
    on PostgreSQL, where it is kept a minute while notifications are heard (plugin/row_changes.py), and
    when it expires on SQLite (``ReadCache.TTL``). A customer not found (not mirrored yet) is not kept:
    their first order's points must show as soon as they are credited."""
    if platform_customer_id is None:
        return Shopper(shop_id, None, None)
    db = current_app.extensions["storecare.db"]
    params = {"shop_id": shop_id, "platform_id": platform_customer_id}

    def load():
        found = db.read(_CUSTOMER, params)
        return found[0].id if found else None

    key = customer_key(shop_id, platform_customer_id)
    changes = db.row_changes()
    ttl, keep = (None, _mirrored) if changes is None else (
        CUSTOMER_TTL, lambda found: _mirrored(found) and changes.listening())
    return Shopper(shop_id, platform_customer_id=platform_customer_id,
                   find=lambda: db.reads.get(key, load, Customer, keep=keep, ttl=ttl))


def _mirrored(customer_id: int | None) -> bool:
    return customer_id is not None  # one not mirrored yet may be any moment: looked up again next time


def customer_key(shop_id: int, platform_customer_id: str) -> tuple:
    """The key the customer's id is kept under in ``db.reads`` (watching ``Customer``)."""
    return ("storefront.customer", shop_id, platform_customer_id)


# -- sources: where a request's identity comes from --------------------------------------------

class IdentitySource(Protocol):
    def identify(self, headers: Mapping[str, str], args: Mapping[str, str],
                 now: datetime | None = None) -> Shopper | None:
        """The shopper if this source applies to the request, ``None`` if it does not; raise
        ShopperTokenError when it applies but cannot be trusted."""


class ShopperTokenSource:
    def __init__(self, reader: Callable[..., Shopper] = read_shopper_token):
        self._read = reader

    def identify(self, headers, args, now=None):
        token = headers.get(TOKEN_HEADER)
        if token is None or not token.strip():  # a store page of a guest sends none, or an empty one
            return None
        return self._read(token, now)


class AppProxySource:
    """Applies when the query carries a ``signature``; trusted only once it verifies (90 s window)."""

    def identify(self, headers, args, now=None):
        if "signature" not in args:
            return None
        settings = current_app.config["STORECARE_SETTINGS"]
        if not settings.shopify_enabled:
            raise ShopperTokenError("The app proxy signature is invalid.")
        pairs = list(args.items(multi=True)) if hasattr(args, "getlist") else list(args.items())
        try:
            domain = verify_app_proxy(settings.shopify_api_secret, pairs, now)
        except ExpiredSignature:
            raise ShopperTokenExpired("The request has expired; reload the page.") from None
        except InvalidSignature:
            raise ShopperTokenError("The app proxy signature is invalid.") from None
        customers = [value for key, value in pairs if key == "logged_in_customer_id"]
        customer = customers[0] if len(customers) == 1 else ""
        if len(customers) > 1 or not _CUSTOMER_ID.match(customer):
            raise ShopperTokenError("The app proxy signature is invalid.")
        with current_app.extensions["storecare.db"].uow() as session:
            shop = session.scalars(select(Shop).where(Shop.platform == "shopify", Shop.domain == domain,
                                                      Shop.status == "installed")).first()
            if shop is None:
                raise ShopperTokenError("This shop is not served by Storecare.")
            return _shopper(shop.id, customer or None)  # the mirror keeps Shopify's numeric ids


IDENTITY_SOURCES: tuple[IdentitySource, ...] = (ShopperTokenSource(), AppProxySource())
PROXY_SOURCES: tuple[IdentitySource, ...] = (AppProxySource(),)


def identify_shopper(headers: Mapping[str, str], args: Mapping[str, str], now: datetime | None = None,
                     sources: tuple[IdentitySource, ...] = IDENTITY_SOURCES) -> Shopper:
    """The shopper the first applicable source names; ``SignInRequired`` when no source applies (a
    guest), ``ShopperTokenError`` when one applies but cannot be trusted."""
    for source in sources:
        shopper = source.identify(headers, args, now)
        if shopper is not None:
            return shopper
    raise SignInRequired("The request names no shopper: sign in to the store first.")
