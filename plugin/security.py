"""Every signature and token check, and token encryption at rest, in one place.

All comparisons are constant-time over raw bytes. Nothing here logs a secret or a signature.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import jwt
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask.sessions import SecureCookieSessionInterface


class SecurityError(Exception):
    """A check failed. The message is safe to return to the caller."""


class InvalidSignature(SecurityError):
    pass


class ExpiredSignature(InvalidSignature):
    """Signed by the right key, but outside the replay window."""


class InvalidShopDomain(SecurityError):
    """Not a ``*.myshopify.com`` shop domain."""


class InvalidSessionToken(SecurityError):
    """A Shopify session token (ID token) that is forged, expired, for another app or another shop."""


def _b(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def hmac_sha256(secret: str | bytes, message: bytes) -> bytes:
    return hmac.new(_b(secret), message, hashlib.sha256).digest()


def sign_base64(secret: str | bytes, body: bytes) -> str:
    """base64(HMAC-SHA256(body)): the webhook signature of Shopify, WooCommerce and our sandbox."""
    return base64.b64encode(hmac_sha256(secret, body)).decode("ascii")


def verify_base64_hmac(secret: str | bytes, body: bytes, signature: str | None) -> None:
    """Raise InvalidSignature unless ``signature`` is base64(HMAC-SHA256(secret, body))."""
    if not signature or not secret:
        raise InvalidSignature("missing signature")
    try:
        given = base64.b64decode(_b(signature.strip()), validate=True)
    except (ValueError, TypeError):
        raise InvalidSignature("malformed signature") from None
    if not hmac.compare_digest(given, hmac_sha256(secret, body)):
        raise InvalidSignature("signature does not match")


def sign_hex(secret: str | bytes, message: bytes) -> str:
    return hmac_sha256(secret, message).hex()


def verify_hex_hmac(secret: str | bytes, message: bytes, signature: str | None) -> None:
    if not signature or not secret:
        raise InvalidSignature("missing signature")
    try:
        given = bytes.fromhex(signature.strip())
    except ValueError:
        raise InvalidSignature("malformed signature") from None
    if not hmac.compare_digest(given, hmac_sha256(secret, message)):
        raise InvalidSignature("signature does not match")


def random_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


class TokenVault:
    """Encrypts credentials at rest with Fernet; the first key encrypts, every key decrypts.

    Rotation: put the new key first, keep the old ones, run ``rotate`` over stored values, then drop
    the old keys.
    """

    def __init__(self, keys: Iterable[str]):
        keys = list(keys)
        if not keys:
            raise SecurityError("no encryption key configured")
        try:
            self._fernet = MultiFernet([Fernet(_b(k)) for k in keys])
        except (ValueError, TypeError):
            raise SecurityError("an encryption key is not a valid Fernet key") from None

    def encrypt(self, data: dict) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> dict:
        try:
            return json.loads(self._fernet.decrypt(_b(token)))
        except InvalidToken:
            raise SecurityError("stored credentials cannot be decrypted with the configured keys") from None

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(_b(token)).decode("ascii")


# -- Shopify: shop domains, OAuth query HMAC, session tokens, app proxy signatures ---------------
# Algorithms as Shopify's own libraries implement them (ShopifyAPI shopify/session.py and
# session_token.py, shopifyapp verify/app_proxy.py); see shared/contracts/PLATFORMS.md §1-3.

# shopify.dev's anchored regex (security check WEAK_SHOP_VALIDATION), on the lower-cased host; \Z, not $,
# so that a trailing newline does not slip through.
_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com\Z")
OAUTH_MAX_AGE = 600  # seconds: Shopify redirects the browser at once; ShopifyAPI allows a whole day
OAUTH_MAX_SKEW = 60  # seconds a timestamp may lie in the future (clock skew)
PROXY_MAX_AGE = 90  # seconds, either side of now (shopifyapp's window)
SESSION_TOKEN_ALGORITHM = "HS256"  # pinned: the token's own "alg" header is never trusted
SESSION_TOKEN_LEEWAY = 10  # seconds: App Bridge often sends a nbf a little in the future
_SESSION_TOKEN_CLAIMS = ("iss", "dest", "aud", "exp", "nbf")


def _epoch(now: datetime | None) -> float:
    return (now or datetime.now(UTC)).timestamp()


def shopify_shop_domain(value: object) -> str:
    """The lower-cased ``{name}.myshopify.com`` domain, or InvalidShopDomain. Anything else (another host,
    ``a.myshopify.com.evil.com``, a URL, a port, a path) is refused before any request is made to it."""
    if not isinstance(value, str) or len(value) > 255:
        raise InvalidShopDomain("not a myshopify.com shop domain")
    domain = value.lower()
    if not _SHOP_DOMAIN.match(domain):
        raise InvalidShopDomain("not a myshopify.com shop domain")
    return domain


def shopify_query_message(params: Iterable[tuple[str, str]]) -> bytes:
    """The string Shopify signs in OAuth and admin-load query strings: every parameter but ``hmac``,
    ``key=value`` with ``%``/``=`` escaped in keys, ``%`` in values and ``&`` in the pair, sorted and
    joined with ``&``. ``foo[]`` parameters become ``foo=["1", "2"]``. A repeated plain key is refused:
    Shopify never sends one, and which value was signed would be ambiguous.

    ``params`` are the values as decoded from the query string (``request.args``: ``%3D`` is ``=``,
    ``%2B`` is ``+``, a raw ``+`` is a space), as ShopifyAPI's ``calculate_hmac`` takes them; a padded
    base64 ``host`` is signed with its ``==``. (Shopify's JavaScript and Ruby libraries re-encode the
    values before signing instead; that differs only for values with reserved characters, and is not
    the documented algorithm: tests/unit/test_shopify_query_hmac.py.)"""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != "hmac":
            grouped.setdefault(key, []).append(value)
    pairs = []
    for key, values in grouped.items():
        if key.endswith("[]"):
            key, value = key[:-2], json.dumps([str(v) for v in values])
        elif len(values) > 1:
            raise InvalidSignature(f"parameter {key!r} is repeated")
        else:
            value = values[0]
        key = key.replace("%", "%25").replace("=", "%3D")
        pairs.append(f"{key}={value.replace('%', '%25')}".replace("&", "%26"))
    return "&".join(sorted(pairs)).encode("utf-8")


def sign_shopify_query(secret: str, params: Iterable[tuple[str, str]]) -> str:
    """The hex ``hmac`` Shopify puts on a query string (tests use it to play Shopify)."""
    return sign_hex(secret, shopify_query_message(params))


def verify_shopify_query(secret: str, params: Iterable[tuple[str, str]], now: datetime | None = None,
                         max_age: int = OAUTH_MAX_AGE) -> str:
    """Check an install/callback query string from Shopify; return its validated shop domain.

    In order: exactly one ``hmac`` and it matches (hex, constant time), the ``shop`` is a myshopify.com
    domain, and ``timestamp`` is at most ``max_age`` seconds old (60 s of clock skew ahead).
    """
    params = list(params)
    given = [value for key, value in params if key == "hmac"]
    if len(given) != 1:
        raise InvalidSignature("missing signature" if not given else "parameter 'hmac' is repeated")
    verify_hex_hmac(secret, shopify_query_message(params), given[0])
    values = dict(params)
    shop = shopify_shop_domain(values.get("shop"))
    timestamp = values.get("timestamp", "")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise InvalidSignature("missing or malformed timestamp")
    age = _epoch(now) - int(timestamp)
    if age > max_age or age < -OAUTH_MAX_SKEW:
        raise ExpiredSignature("the request is too old; start again from your Shopify admin")
    return shop


@dataclass(frozen=True)
class SessionToken:
    """What a verified Shopify session token (ID token) tells us."""

    shop: str  # the myshopify.com domain of ``dest`` (== ``iss``)
    user_id: str | None  # ``sub``: the staff member, when present
    session_id: str | None  # ``sid``
    token_id: str | None  # ``jti``
    expires_at: datetime


def _token_shop(url: object, path: str) -> str:
    if not isinstance(url, str):
        raise InvalidSessionToken("the session token names no shop")
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.port is not None or parts.username or parts.query or parts.fragment \
            or parts.path.rstrip("/") != path:
        raise InvalidSessionToken("the session token names no shop")
    try:
        return shopify_shop_domain(parts.hostname or "")
    except InvalidShopDomain:
        raise InvalidSessionToken("the session token names no shop") from None


def verify_session_token(token: str | None, *, client_id: str, secret: str, now: datetime | None = None,
                         leeway: int = SESSION_TOKEN_LEEWAY) -> SessionToken:
    """Verify a Shopify session token: HS256 only (``none``, RS256 and every other ``alg`` are refused),
    signed with our client secret, ``aud`` our client id, ``exp``/``nbf`` present and valid with ``leeway``
    seconds, ``iss`` (``https://{shop}/admin``) and ``dest`` (``https://{shop}``) the same valid shop."""
    if not token or not client_id or not secret or len(token) > 8192:
        raise InvalidSessionToken("missing session token")
    try:
        claims = jwt.decode(token, secret, algorithms=[SESSION_TOKEN_ALGORITHM], audience=client_id,
                            options={"require": list(_SESSION_TOKEN_CLAIMS), "verify_exp": False,
                                     "verify_nbf": False, "verify_iat": False, "strict_aud": True})
    except jwt.PyJWTError as exc:
        raise InvalidSessionToken(f"invalid session token: {type(exc).__name__}") from None
    moment = _epoch(now)
    try:
        expires, not_before = int(claims["exp"]), int(claims["nbf"])
    except (TypeError, ValueError):
        raise InvalidSessionToken("invalid session token: malformed times") from None
    if expires <= moment - leeway:
        raise InvalidSessionToken("the session token has expired")
    if not_before > moment + leeway:
        raise InvalidSessionToken("the session token is not valid yet")
    shop = _token_shop(claims["dest"], "")
    if _token_shop(claims["iss"], "/admin") != shop:
        raise InvalidSessionToken("the session token's issuer and destination differ")
    text = lambda key: str(claims[key]) if claims.get(key) not in (None, "") else None  # noqa: E731
    return SessionToken(shop=shop, user_id=text("sub"), session_id=text("sid"), token_id=text("jti"),
                        expires_at=datetime.fromtimestamp(expires, UTC))


def app_proxy_message(params: Iterable[tuple[str, str]]) -> bytes:
    """The string Shopify signs on app proxy requests: every parameter but ``signature``, a repeated key's
    values joined with ``,``, ``key=value`` pairs sorted by key and concatenated with no separator."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    return "".join(f"{key}={','.join(grouped[key])}" for key in sorted(grouped)).encode("utf-8")


def sign_app_proxy(secret: str, params: Iterable[tuple[str, str]]) -> str:
    return sign_hex(secret, app_proxy_message(params))


def verify_app_proxy(secret: str, params: Iterable[tuple[str, str]], now: datetime | None = None,
                     max_age: int = PROXY_MAX_AGE) -> str:
    """Check a request Shopify forwarded through the app proxy; return its validated shop domain.

    One ``signature`` that matches (hex, constant time), one ``shop`` that is a myshopify.com domain, and a
    ``timestamp`` within ``max_age`` seconds of now. Only then may ``logged_in_customer_id`` be trusted.
    """
    params = list(params)
    given = [value for key, value in params if key == "signature"]
    if len(given) != 1:
        raise InvalidSignature("missing signature" if not given else "parameter 'signature' is repeated")
    verify_hex_hmac(secret, app_proxy_message(params), given[0])
    shops = [value for key, value in params if key == "shop"]
    timestamps = [value for key, value in params if key == "timestamp"]
    if len(shops) != 1 or len(timestamps) != 1:
        raise InvalidSignature("exactly one shop and one timestamp are required")
    try:
        shop = shopify_shop_domain(shops[0])
    except InvalidShopDomain:
        raise InvalidSignature("not a myshopify.com shop domain") from None
    if not timestamps[0].isdigit() or len(timestamps[0]) > 12:
        raise InvalidSignature("missing or malformed timestamp")
    if abs(_epoch(now) - int(timestamps[0])) > max_age:
        raise ExpiredSignature("the proxied request is too old")
    return shop


# -- WooCommerce: the WordPress plugin's "Open Storecare" link -------------------------------------

WORDPRESS_SIGN_IN_MAX_AGE = 120  # seconds: the plugin signs the link on the click that follows it
WORDPRESS_SIGN_IN_PREFIX = "storecare-admin"  # keeps these MACs apart from shopper tokens (same key)


def wordpress_sign_in_message(domain: str, timestamp: str) -> bytes:
    """``storecare-admin|<domain>|<unix timestamp>``: what storecare.php signs (hex HMAC-SHA256) with the
    shop's storefront secret."""
    return f"{WORDPRESS_SIGN_IN_PREFIX}|{domain}|{timestamp}".encode()


def sign_wordpress_sign_in(secret: str, domain: str, timestamp: str) -> str:
    return sign_hex(secret, wordpress_sign_in_message(domain, timestamp))


def verify_wordpress_sign_in(secret: str, domain: str, timestamp: str | None, signature: str | None,
                             now: datetime | None = None, max_age: int = WORDPRESS_SIGN_IN_MAX_AGE) -> None:
    """Check the WordPress plugin's signed admin link: the MAC first, then the window either side of now
    (ExpiredSignature), so a forged link and a stale one are told apart only once the key matched."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise InvalidSignature("missing or malformed timestamp")
    verify_hex_hmac(secret, wordpress_sign_in_message(domain, timestamp), signature)
    if abs(_epoch(now) - int(timestamp)) > max_age:
        raise ExpiredSignature("the sign-in link is too old")


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, but a request that brings no session cookie (a webhook, a widget
    API call, a first visit) gets an empty session without building a signer for nothing. A session
    that is then written is signed as usual when the response is saved."""

    def open_session(self, app, request):
        if app.secret_key and self.get_cookie_name(app) not in request.environ.get("HTTP_COOKIE", ""):
            return self.session_class()
        return super().open_session(app, request)
