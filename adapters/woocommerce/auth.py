"""WooCommerce's app authorisation (``/wc-auth/v1/authorize``): the store address, the URL we send
the merchant to, and the key handover WooCommerce posts back. Pure: no I/O except an optional resolver.

The store address is what the merchant types, so it is checked like any URL a server will fetch:
http or https only, no user info, query or fragment, and no address the ``AddressPolicy`` refuses
(addresses.py: internal addresses, literally or once resolved, unless the operator allowed them; any
address in demo and tests). The same policy checks every later connection (transport.py). A path
is kept (WordPress in a sub-folder) but a pasted ``/wp-admin/...`` or ``/wp-json/...`` tail is cut.

A store is known by its **store key** (``store_key``): ``host[:port][/path]`` of its base URL, as
WooCommerce's ``home_url`` reports it, the scheme left out (a move from http to https is the same
store). Two WordPress sites on one host (a multisite in sub-folders) are two stores. The WordPress
plugin computes the same key in PHP (``Storecare_Signing::shop_domain``); tests hold the two equal.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes, urlencode, urlsplit

from adapters.errors import InvalidPayload
from adapters.messages import N_
from adapters.woocommerce.addresses import AddressPolicy, AddressRefused, host_name

AUTHORIZE_PATH = "/wc-auth/v1/authorize"
SCOPE = "read_write"
_ADMIN_TAIL = re.compile(r"/(wp-admin|wp-json|wp-login\.php)(/.*)?$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_KEY = re.compile(r"^(ck|cs)_[A-Za-z0-9]{10,120}$")
NOT_REACHABLE = N_("This address is not reachable from the internet. Use your store's public address.")
MAX_STORE_KEY = 255  # Shop.domain


class StoreUrlError(ValueError):
    """The store address cannot be used; the message is shown to the merchant as it is."""


@dataclass(frozen=True)
class StoreAddress:
    url: str  # scheme://host[:port][/path], no trailing slash: where /wp-json and /wc-auth live
    domain: str  # the store key (see store_key): our Shop.domain

    @property
    def is_https(self) -> bool:
        return self.url.startswith("https://")


@dataclass(frozen=True)
class KeyHandover:
    """What WooCommerce posts to our callback after the merchant approved. Unsigned: trust nothing
    until the pending connection named by ``user_id`` and a real API call with the keys agree."""

    key_id: str
    user_id: str
    consumer_key: str
    consumer_secret: str
    permissions: str


def domain_of(url: str) -> str:
    """host[:port] of a URL, lowercase, the scheme's default port dropped ('' if there is no host)."""
    parts = urlsplit(url.strip())
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host.lower()
    return f"{host.lower()}:{port}"


def store_key(url: str) -> str:
    """The key a store is known by: ``host[:port][/path]`` of its base URL ('' without a host).

    Lower case throughout, the scheme's default port dropped, no trailing slash, each path segment
    percent-encoded one canonical way (PHP's ``rawurlencode(rawurldecode(...))``); the scheme, query
    and fragment are not part of it. A root store's key is its ``domain_of``, as before keys had paths.
    The path is lower-cased too: WordPress's own site paths are, and two stores whose paths differ only
    in case get one key, so the second needs the proof any reconnect needs (it cannot take the first over).
    """
    host = domain_of(url)
    if not host:
        return ""
    segments = urlsplit(url.strip()).path.split("/")
    path = "/".join(quote(unquote_to_bytes(segment), safe="") for segment in segments).rstrip("/")
    return host + path.lower()


def key_host(key: str) -> str:
    """The ``host[:port]`` part of a store key."""
    return key.split("/", 1)[0]


def parse_store_url(text: str, *, policy: AddressPolicy | None = None) -> StoreAddress:
    """The store address a merchant typed, checked and normalised; StoreUrlError when unusable, OSError
    when its name does not resolve. Without a ``policy``: the production rule, but nothing resolved
    (literal addresses and internal names are refused)."""
    text = (text or "").strip()
    if not text:
        raise StoreUrlError(N_("Enter your store's address, for example https://shop.example.com."))
    if len(text) > 2000:
        raise StoreUrlError(N_("This address is too long."))
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise StoreUrlError(N_("The address must start with https:// (or http://)."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise StoreUrlError(N_("The address must not contain a user name or password."))
    if parts.query or parts.fragment:
        raise StoreUrlError(N_("Enter only your store's address, without ?… or #… at the end."))
    host = _host(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        raise StoreUrlError(N_("The port in this address is not valid.")) from None
    try:
        (policy or AddressPolicy()).check(host, resolve=policy is not None)
    except AddressRefused:
        raise StoreUrlError(NOT_REACHABLE) from None
    path = _ADMIN_TAIL.sub("", parts.path).rstrip("/")
    if any(c in path for c in "\\ \t\n") or "/../" in path + "/" or "/./" in path + "/":
        raise StoreUrlError(N_("The address's path is not valid."))
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port is None or port == _DEFAULT_PORTS[scheme] else f"{shown_host}:{port}"
    url = f"{scheme}://{netloc}{path}"
    key = store_key(url)
    if len(key) > MAX_STORE_KEY:
        raise StoreUrlError(N_("This address is too long."))
    return StoreAddress(url=url, domain=key)


def _host(raw: str) -> str:
    if not raw.rstrip("."):
        raise StoreUrlError(N_("The address has no host name."))
    try:
        return host_name(raw)
    except ValueError:
        raise StoreUrlError(N_("The host name in this address is not valid.")) from None


def authorize_url(store: StoreAddress, *, app_name: str, user_id: str, return_url: str, callback_url: str,
                  scope: str = SCOPE) -> str:
    """Where the merchant approves our keys. All five parameters are mandatory for WooCommerce."""
    query = urlencode({"app_name": app_name, "scope": scope, "user_id": user_id, "return_url": return_url,
                       "callback_url": callback_url})
    return f"{store.url}{AUTHORIZE_PATH}?{query}"


def read_key_handover(payload: object) -> KeyHandover:
    """The callback body, shape-checked (InvalidPayload naming the field); nothing in it is trusted."""
    if not isinstance(payload, Mapping):
        raise InvalidPayload("the key handover must be a JSON object")
    values = {}
    for field in ("key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"):
        value = payload.get(field)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
            raise InvalidPayload(f"the key handover has no {field}")
        values[field] = str(value).strip()
    if not _KEY.match(values["consumer_key"]) or not values["consumer_key"].startswith("ck_"):
        raise InvalidPayload("consumer_key is not a WooCommerce consumer key")
    if not _KEY.match(values["consumer_secret"]) or not values["consumer_secret"].startswith("cs_"):
        raise InvalidPayload("consumer_secret is not a WooCommerce consumer secret")
    if len(values["user_id"]) > 128:
        raise InvalidPayload("user_id is too long")
    return KeyHandover(key_id=values["key_id"], user_id=values["user_id"], consumer_key=values["consumer_key"],
                       consumer_secret=values["consumer_secret"], permissions=values["key_permissions"])
