"""The WooCommerce REST client: the official ``woocommerce`` package, one instance per shop.

``woocommerce.API`` authenticates every call by itself: HTTP Basic auth over https, OAuth 1.0a
(HMAC-SHA256, timestamp and nonce in the query string) over plain http. It sends with
``requests.request`` directly, not with the app's shared session (plugin/http.py): a new connection
per call and its own default headers. That is the price of the official client's signing, and it is
acceptable here; we set the timeout and user agent it would otherwise default (5 s, its own name).
A quirk of the package over http: the query parameters are signed in the URL *and* passed again as
``params``, so they appear twice; WordPress keeps one of two equal values, so the signature holds.

Answers are classified here, once, for every call: network errors, 5xx and 429 are Transient
(RateLimited with the Retry-After the store sent), 401/403 AuthRevoked, 404 NotFound, any other 4xx
an AdapterError naming WooCommerce's error code. A 2xx that is not JSON is InvalidPayload: typically
plain permalinks, where /wp-json/ is the theme's HTML page.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import woocommerce

from adapters.errors import AdapterError, AuthRevoked, InvalidPayload, NotFound, RateLimited, Transient

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
                 timeout: float | tuple[float, float] = TIMEOUT, query_string_auth: bool = False):
        if not consumer_key or not consumer_secret:
            raise AuthRevoked("the shop has no WooCommerce API keys: reconnect the store")
        self.store_url = store_url.rstrip("/")
        self._key, self._secret = consumer_key, consumer_secret
        self._timeout, self._query_string_auth = timeout, query_string_auth
        self._apis: dict[str, woocommerce.API] = {}

    def __repr__(self) -> str:  # never the keys
        return f"WooClient({self.store_url!r})"

    def _api(self, version: str) -> woocommerce.API:
        if version not in self._apis:
            self._apis[version] = woocommerce.API(
                url=self.store_url + "/", consumer_key=self._key, consumer_secret=self._secret, wp_api=True,
                version=version, timeout=self._timeout, query_string_auth=self._query_string_auth,
                user_agent=USER_AGENT)
        return self._apis[version]

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None, *, version: str = API_VERSION) -> Answer:
        return self._call("get", endpoint, version, params=dict(params or {}))

    def post(self, endpoint: str, data: Mapping[str, Any], *, version: str = API_VERSION) -> Answer:
        return self._call("post", endpoint, version, data=dict(data))

    def put(self, endpoint: str, data: Mapping[str, Any], *, version: str = API_VERSION) -> Answer:
        return self._call("put", endpoint, version, data=dict(data))

    def _call(self, method: str, endpoint: str, version: str, **kwargs) -> Answer:
        api = self._api(version)
        try:
            if method == "get":
                response = api.get(endpoint, params=kwargs["params"])
            else:
                response = getattr(api, method)(endpoint, kwargs["data"])
        except requests.Timeout as exc:
            raise Transient(f"the store did not answer in time: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise Transient(f"the store could not be reached: {type(exc).__name__}") from exc
        return _answer(response)


def _answer(response: requests.Response) -> Answer:
    status = response.status_code
    headers = {k: v for k, v in response.headers.items()}
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
