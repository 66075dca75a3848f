"""The WooCommerce REST client: one instance per shop, every call through the app's StoreTransport.

Signing is the official ``woocommerce`` package's: over plain http its OAuth 1.0a signer
(``woocommerce.oauth.OAuth``: HMAC-SHA256, timestamp and nonce in the query string); over https HTTP
Basic auth, or the keys in the query string for hosts that strip the Authorization header, exactly as
``woocommerce.API`` sends them. We do not let ``woocommerce.API`` send: it calls ``requests.request``,
which follows redirects and connects wherever the host name resolves at that moment, with no way to
hand it a transport. transport.py checks every connection's address and follows no redirect.

Answers and failures are classified here, once, for every call: network errors, 5xx and 429 are
Transient (RateLimited with the Retry-After the store sent; StoreUnreachable and StoreTimeout say
which); a certificate that cannot be verified is StoreCertificateError; a redirect is StoreRedirected
(naming where it points); an address inside our network AddressRefused; 401/403 AuthRevoked, 404
NotFound, any other 4xx an AdapterError naming WooCommerce's error code. A 2xx that is not JSON is
InvalidPayload: typically plain permalinks, where /wp-json/ is the theme's HTML page.
"""
from __future__ import annotations

import json
import math
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from requests.auth import HTTPBasicAuth
from woocommerce.oauth import OAuth

from adapters.errors import AdapterError, AuthRevoked, InvalidPayload, NotFound, RateLimited, Transient
from adapters.woocommerce.addresses import AddressRefused
from adapters.woocommerce.transport import StoreTransport

__all__ = ["AddressRefused", "Answer", "StoreCertificateError", "StoreRedirected", "StoreRefused",
           "StoreTimeout", "StoreUnreachable", "WooClient", "retry_after"]

API_VERSION = "wc/v3"
USER_AGENT = "Storecare/0.1 (+https://storecare.app)"
TIMEOUT = (5, 30)  # connect, read (seconds)
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 300.0


class StoreRefused(AdapterError):
    """A 4xx other than 401/403/404: our request was wrong for this store; retrying cannot help."""

    def __init__(self, status: int, code: str):
        super().__init__(f"the store refused the request ({status} {code})")
        self.status, self.code = status, code


class StoreRedirected(AdapterError):
    """The store answered with a redirect (we follow none): usually http -> https or the www form of
    its address. ``suggested_url`` is the store address the redirect implies ('' if none)."""

    def __init__(self, status: int, location: str, suggested_url: str):
        super().__init__(f"the store answered {status} with a redirect to {location or '(nowhere)'}: connect "
                         f"it again with the address it uses ({suggested_url or 'see the redirect'})")
        self.status, self.location, self.suggested_url = status, location, suggested_url


class StoreCertificateError(AdapterError):
    """The store's TLS certificate could not be verified (expired, self-signed, another name, an
    unknown authority). Not retried: it does not fix itself; ``problem`` is OpenSSL's reason."""

    def __init__(self, problem: str):
        super().__init__(f"the store's TLS certificate could not be verified ({problem})")
        self.problem = problem


class StoreUnreachable(Transient):
    """No answer: the name does not resolve, the connection is refused or reset, TLS broke off."""


class StoreTimeout(Transient):
    """The store did not answer in time."""


@dataclass(frozen=True)
class Answer:
    data: Any
    headers: Mapping[str, str]

    def header_int(self, name: str) -> int | None:
        value = self.headers.get(name)
        try:
            return int(str(value).strip()) if value is not None else None
        except ValueError:
            return None


class WooClient:
    """Calls to one store with one key pair; ``version`` picks the REST namespace (``wc/v3`` or a plugin's)."""

    def __init__(self, store_url: str, consumer_key: str, consumer_secret: str, *,
                 timeout: float | tuple[float, float] = TIMEOUT, query_string_auth: bool = False,
                 transport: StoreTransport | None = None):
        if not consumer_key or not consumer_secret:
            raise AuthRevoked("the shop has no WooCommerce API keys: reconnect the store")
        self.store_url = store_url.rstrip("/")
        self._key, self._secret = consumer_key, consumer_secret
        self._timeout, self._query_string_auth = timeout, query_string_auth
        self._transport = transport or StoreTransport()  # the production rule: public addresses only

    def __repr__(self) -> str:  # never the keys
        return f"WooClient({self.store_url!r})"

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None, *, version: str = API_VERSION) -> Answer:
        return self._call("get", endpoint, version, params=dict(params or {}))

    def post(self, endpoint: str, data: Mapping[str, Any], *, version: str = API_VERSION) -> Answer:
        return self._call("post", endpoint, version, data=dict(data))

    def put(self, endpoint: str, data: Mapping[str, Any], *, version: str = API_VERSION) -> Answer:
        return self._call("put", endpoint, version, data=dict(data))

    def _call(self, method: str, endpoint: str, version: str, params: Mapping[str, Any] | None = None,
              data: Mapping[str, Any] | None = None) -> Answer:
        url = f"{self.store_url}/wp-json/{version}/{endpoint}"
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        params, auth = dict(params or {}), None
        if not self.store_url.startswith("https://"):  # woocommerce.API's OAuth 1.0a, its parameters in the URL
            url = OAuth(url=f"{url}?{urlencode(params)}", consumer_key=self._key, consumer_secret=self._secret,
                        version=version, method=method.upper(), oauth_timestamp=int(time.time())).get_oauth_url()
            params = {}
        elif self._query_string_auth:
            params.update(consumer_key=self._key, consumer_secret=self._secret)
        else:
            auth = HTTPBasicAuth(self._key, self._secret)
        body = None
        if data is not None:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json;charset=utf-8"
        try:
            response = self._transport.send(method, url, headers=headers, params=params or None, data=body,
                                            auth=auth, timeout=self._timeout)
        except requests.exceptions.SSLError as exc:
            problem = _certificate_problem(exc)
            if problem is not None:
                raise StoreCertificateError(problem) from exc
            raise StoreUnreachable(f"the store's TLS connection failed: {type(exc).__name__}") from exc
        except requests.Timeout as exc:
            raise StoreTimeout(f"the store did not answer in time: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise StoreUnreachable(f"the store could not be reached: {type(exc).__name__}") from exc
        return _answer(response)


def _certificate_problem(exc: BaseException) -> str | None:
    """OpenSSL's reason when a TLS failure was the certificate's verification (not a broken handshake)."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return str(current.verify_message or current.reason or "unknown reason")[:200]
        todo += [e for e in (current.__cause__, current.__context__, getattr(current, "reason", None),
                             *current.args) if isinstance(e, BaseException)]
    return None


def _answer(response: requests.Response) -> Answer:
    status = response.status_code
    headers = {k: v for k, v in response.headers.items()}
    if 300 <= status < 400:
        location = response.headers.get("Location", "")[:2000]
        raise StoreRedirected(status, location, _store_address_in(urljoin(response.url or "", location)))
    if status == 429 or (status == 503 and "Retry-After" in response.headers):
        raise RateLimited(f"the store asked us to slow down ({status})",
                          retry_after=retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        raise Transient(f"the store answered {status}")
    if status in (401, 403):
        raise AuthRevoked(f"the store refused our API keys ({status} {_error_code(response)}): reconnect the store")
    if status == 404:
        raise NotFound(f"the store has no such object ({_error_code(response)})")
    if status >= 400:
        raise StoreRefused(status, _error_code(response))
    try:
        data = response.json()
    except ValueError:
        raise InvalidPayload("the store did not answer with JSON: is its REST API reachable "
                             "(WordPress permalinks must not be 'Plain')?") from None
    return Answer(data=data, headers=headers)


def _store_address_in(location: str) -> str:
    """The store address a redirect implies when it points at the REST API under another address (what
    precedes /wp-json/: http -> https, www, a sub-folder); '' when it points anywhere else."""
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or not parts.netloc or "/wp-json/" not in parts.path:
        return ""
    return f"{parts.scheme}://{parts.netloc}{parts.path.split('/wp-json/')[0].rstrip('/')}"


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no error code"
    return str(body.get("code", "no error code"))[:100] if isinstance(body, dict) else "no error code"


def retry_after(value: str | None, now: datetime | None = None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within sane bounds."""
    if not value:
        return DEFAULT_RETRY_AFTER
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return DEFAULT_RETRY_AFTER
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
