"""One shop's Admin GraphQL endpoint, called over the app's shared requests session.

``POST https://{shop}/admin/api/{version}/graphql.json`` with ``X-Shopify-Access-Token``: the token is
passed per call from the shop's Connection, never stored on the session (the session serves every
shop). Failures are classified here, where the HTTP details are known:

- before each call, wait until the bucket (throttle.CostBucket) holds the call's expected cost;
- THROTTLED (``errors[].extensions.code``) or HTTP 429: wait (Retry-After, or the deficit over the
  restore rate) and retry, up to ``throttle_retries`` times, then raise RateLimited;
- network errors, 5xx and INTERNAL_SERVER_ERROR: back off with jitter ``transient_retries`` times,
  then raise Transient (the job runner retries later, recording the attempt);
- 401: AuthRevoked (the token layer refreshes once; after that the shop needs re-authorisation);
- ACCESS_DENIED: PermissionMissing naming the access scopes Shopify says it needs (the merchant has not
  granted them yet);
- any other 4xx or GraphQL error: AdapterError with Shopify's message. Never retried: asking again
  cannot change the answer.

A mutation that is not idempotent (``storeCreditAccountCredit`` takes no idempotency key) is sent with
``retry_unavailable=False``: after a network error or a 5xx nobody knows whether Shopify applied it, so
it is not sent again here; Transient goes up to the caller, whose own record of the attempt decides.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from adapters.errors import AdapterError, AuthRevoked, PermissionMissing, RateLimited, Transient
from adapters.retries import backoff, retry_call
from adapters.shopify.documents import Document
from adapters.shopify.throttle import CostBucket, estimate_cost

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Shopify-Access-Token"
DEPRECATION_HEADER = "X-Shopify-API-Deprecated-Reason"
_TRANSIENT_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})


@dataclass(frozen=True)
class RetryPolicy:
    throttle_retries: int = 6
    transient_retries: int = 3
    backoff_base: float = 0.5  # seconds; doubled each attempt, with jitter in [0.5, 1.5)
    backoff_cap: float = 8.0
    throttle_floor: float = 0.25  # shortest wait after THROTTLED when Shopify gives no figures

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return backoff(attempt, self.backoff_base, self.backoff_cap, rng)


DEFAULT_POLICY = RetryPolicy()


class AdminClient:
    """Calls for one shop; a ShopifyAdapter owns one (and with it the shop's CostBucket)."""

    def __init__(self, http: requests.Session, shop_domain: str, access_token: str | None, api_version: str,
                 bucket: CostBucket, sleep: Callable[[float], None], rng: random.Random | None = None,
                 policy: RetryPolicy | None = None):
        self._http = http
        self._token = access_token
        self.endpoint = f"https://{shop_domain}/admin/api/{api_version}/graphql.json"
        self.bucket = bucket
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._policy = policy or DEFAULT_POLICY
        self.throttled = 0  # THROTTLED/429 answers absorbed by waiting (figures for benchmarks)

    def execute(self, document: Document, operation: str | None, variables: Mapping[str, Any] | None = None,
                site: str | None = None, retry_unavailable: bool = True) -> dict:
        """The ``data`` of one operation, after pacing and retries; raises an AdapterError otherwise.
        ``retry_unavailable=False``: a network error or a 5xx is raised as Transient at once (a mutation
        that must not be applied twice); THROTTLED is still waited for (Shopify ran nothing)."""
        if not self._token:
            raise AuthRevoked("this Shopify shop has no access token: it must be authorised again")
        variables = dict(variables or {})
        site = site or f"{document.name}.{operation}"
        expected = self.bucket.expected_cost(site, estimate_cost(document, operation, variables))
        body = {"query": document.text, "variables": variables}
        if operation:
            body["operationName"] = operation
        expected_cost = [expected]  # what the bucket should hold for the next attempt

        def attempt() -> dict:
            self._wait(self.bucket.delay_for(expected_cost[0]))
            try:
                return self._attempt(body, site, operation)
            except _Throttled:
                self.throttled += 1
                raise

        def wait(exc: _Again, failures: int) -> float:
            if isinstance(exc, _Throttled):
                expected_cost[0] = self.bucket.expected_cost(site, expected_cost[0])
                return max(exc.delay, self._policy.throttle_floor)
            return max(exc.delay, self._policy.backoff(failures, self._rng))

        try:
            return retry_call(attempt, retry_on=_Again, kind=lambda exc: type(exc).__name__, wait=wait,
                              limits={"_Throttled": self._policy.throttle_retries,
                                      "_Unavailable": self._policy.transient_retries if retry_unavailable else 0},
                              sleep=self._wait)
        except _Throttled as exc:
            raise RateLimited(f"Shopify kept throttling {operation}", retry_after=max(exc.delay, 1.0)) from None
        except _Unavailable as exc:
            attempts = self._policy.transient_retries + 1 if retry_unavailable else 1
            raise Transient(f"Shopify is unavailable ({exc.message}); gave up after {attempts} attempts") from None

    def _attempt(self, body: dict, site: str, operation: str | None) -> dict:
        """One POST: the data, or _Throttled / _Unavailable (with the seconds to wait) to try again."""
        try:
            response = self._http.post(self.endpoint, json=body, headers={TOKEN_HEADER: self._token,
                                                                          "Accept": "application/json"})
        except requests.RequestException as exc:
            raise _Unavailable(0.0, f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status == 401:
            raise AuthRevoked("Shopify refused the shop's access token (401): it must be authorised again")
        if status == 429:
            raise _Throttled(_retry_after(response) or self._deficit(site), "HTTP 429")
        if status >= 500:
            raise _Unavailable(_retry_after(response) or 0.0, f"HTTP {status}")
        if status >= 400:
            raise AdapterError(f"Shopify refused {operation} with HTTP {status}: {_text(response)}")
        if response.headers.get(DEPRECATION_HEADER):
            log.warning("Shopify marks %s as deprecated: %s", operation, response.headers[DEPRECATION_HEADER])
        try:
            payload = response.json()
        except ValueError:
            raise _Unavailable(0.0, "a response that is not JSON") from None
        if not isinstance(payload, dict):
            raise AdapterError(f"Shopify answered {operation} with something that is not a JSON object")
        extensions = payload.get("extensions")
        self.bucket.observe(site, extensions.get("cost") if isinstance(extensions, dict) else None)
        errors = payload.get("errors")
        if errors:
            codes = _error_codes(errors)
            if "THROTTLED" in codes:
                raise _Throttled(self._deficit(site), "THROTTLED")
            if codes & _TRANSIENT_CODES:
                raise _Unavailable(0.0, ", ".join(sorted(codes & _TRANSIENT_CODES)))
            if "ACCESS_DENIED" in codes:
                raise PermissionMissing.from_text(_messages(errors))
            raise AdapterError(f"Shopify refused {operation}: {_messages(errors)}")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise AdapterError(f"Shopify answered {operation} without data")
        return data

    def _deficit(self, site: str) -> float:
        """How long until the call at ``site`` fits the bucket, by the figures Shopify just sent."""
        return self.bucket.delay_for(self.bucket.expected_cost(site, 0.0))

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)


class _Again(Exception):
    """An attempt to make again after ``delay`` seconds (at least)."""

    def __init__(self, delay: float, message: str):
        super().__init__(message)
        self.delay, self.message = delay, message


class _Throttled(_Again):
    """THROTTLED or 429: Shopify's bucket is empty; ``delay`` is what it asks us to wait."""


class _Unavailable(_Again):
    """A network error, a 5xx, INTERNAL_SERVER_ERROR: back off."""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_codes(errors: Any) -> set[str]:
    codes = set()
    for error in errors if isinstance(errors, list) else [errors]:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict) and isinstance(extensions.get("code"), str):
            codes.add(extensions["code"])
    return codes


def _messages(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    items = errors if isinstance(errors, list) else [errors]
    texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in items]
    return "; ".join(texts)[:500] or "unknown error"


def _text(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200] or response.reason or ""
    if isinstance(payload, dict) and payload.get("errors"):
        return _messages(payload["errors"])
    return str(payload)[:200]
