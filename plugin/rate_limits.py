"""Rate limits: who may call what how often, answered with 429 and ``Retry-After``.

Counted with ``limits`` (fixed windows), one ``RateLimiter`` per app
(``app.extensions["storecare.limiter"]``), in Redis in production (``settings.redis_url``) and in the
process's memory in the demo and tests; if Redis cannot be reached the counters fall back to memory
for a while rather than refusing every request. Limits come in groups, each a setting
(``Settings.rate_limit_<group>``, e.g. ``STORECARE_RATE_LIMIT_SIGN_IN=30/minute``, or several:
``10/minute;100/hour``); the endpoints of one group share one counter per key, so ten sign-in
addresses cannot be tried ten times as often as one.

Who is counted:

- sign-in, connect, lookup: the client's address (``client_address``; behind reverse proxies set
  ``STORECARE_FORWARDED_HOPS`` so that it is the client's, not the proxy's);
- the storefront (both mounts): the shop and shopper (``plugin.storefront.routes``);
- the merchant API: the API key (``plugin.api.views``).

A feature limits one of its endpoints by declaring ``RateLimit("blueprint.endpoint", "group")`` in its
``Feature``; ``limit_endpoint`` wraps the endpoint's view when the app is built. A breach raises a
``Problem`` (429, ``Retry-After`` in seconds): a problem document for API clients, the admin's error page
for a browser in the admin.

Why ``limits`` and not Flask-Limiter over it (which this module used before): Flask-Limiter checks
every request of the app for default limits in a ``before_request`` hook and resolves a decorated
view's limits on each call, 0.3 ms a request measured on the storefront's read (about a quarter of
it); we only ever count a whole group per key, which is one ``hit`` of ``limits``' strategy.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Flask, current_app, request
from flask_babel import ngettext
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

from plugin.problems import Problem

log = logging.getLogger(__name__)
LIMITER_KEY = "storecare.limiter"
RATE_LIMITED = "urn:storecare:problem:rate-limited"
GROUPS = ("storefront", "sign_in", "connect", "lookup", "merchant_api")


@dataclass(frozen=True)
class RateLimit:
    """A feature's endpoint limited by the limit of ``group`` (a name in GROUPS), per client address or
    per what ``key`` returns."""

    endpoint: str  # "admin.login"
    group: str  # "sign_in": the limit is Settings.rate_limit_sign_in
    key: str | None = None  # "module:function" returning the counter's key; None: the client's address


def client_address() -> str:
    """The client's address as this app sees it (after the trusted proxies, ``forwarded_hops``)."""
    return request.remote_addr or "unknown"


def rate_limited(seconds: int) -> Problem:
    return Problem(429, "Too Many Requests",
                   ngettext("Too many requests. Try again in %(num)d second.",
                            "Too many requests. Try again in %(num)d seconds.", seconds),
                   type_=RATE_LIMITED, headers={"Retry-After": str(seconds)})


MEMORY_STORAGE = "storecare-memory://"


class LockedMemoryStorage(MemoryStorage):
    """``limits``' memory storage with its writes serialised (``storecare-memory://``). Each write
    starts the storage's expiry timer when it is not running, and two threads writing at that moment
    both start it: ``RuntimeError: threads can only be started once``, a 500 for a shopper (seen under
    32 concurrent storefront reads; upstream: alisaifee/limits#352, not in a release we can install).
    A lock costs a few microseconds a request.

    A fixed window's count (``incr``, all our limits use) does not start that timer at all: the timer
    runs once, 10 ms after it starts, so under load a thread was started every 10 ms (a fifth of the
    storefront read's limit check). Each count drops its own key once its window has ended (the
    library's ``get``); the keys nobody counts any more are swept here at most once a second."""

    STORAGE_SCHEME = ["storecare-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions, **options)
        self._write_lock = threading.Lock()
        self._next_sweep = 0.0

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with self._write_lock:
            now = time.time()
            if now >= self._next_sweep:
                self._next_sweep = now + self.SWEEP_SECONDS
                for ended in [k for k, at in self.expirations.items() if at <= now]:
                    self.storage.pop(ended, None)
                    self.expirations.pop(ended, None)
                    self.locks.pop(ended, None)
            self.get(key)  # a window that has ended starts again from zero
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = now + expiry
            return self.storage[key]

    def decr(self, key: str, amount: int = 1) -> int:
        with self._write_lock:
            return super().decr(key, amount)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        with self._write_lock:
            return super().acquire_entry(key, limit, expiry, amount)


class RateLimiter:
    """Counts hits per (group, key) in the configured storage. When that storage (Redis) fails, the
    counting goes on in this process's memory for ``FALLBACK_SECONDS`` before the storage is tried again:
    limits then hold per process, which is better than refusing every request or none."""

    FALLBACK_SECONDS = 30.0

    def __init__(self, storage_uri: str, enabled: bool = True):
        self.enabled = enabled
        self._counter = FixedWindowRateLimiter(storage_from_string(storage_uri, wrap_exceptions=True))
        self._memory = (self._counter if storage_uri == MEMORY_STORAGE
                        else FixedWindowRateLimiter(LockedMemoryStorage()))
        self._fallback_until = 0.0

    def hit(self, limits: tuple[RateLimitItem, ...], group: str, key: str) -> int | None:
        """Count one hit against each of ``limits``; None if all allow it, else the seconds until the
        first one breached allows again."""
        if not self.enabled:
            return None
        counter = self._memory if time.monotonic() < self._fallback_until else self._counter
        try:
            return self._hit(counter, limits, group, key)
        except StorageError as exc:
            log.warning("rate-limit storage failed (%s); counting in this process's memory for %.0f s",
                        exc, self.FALLBACK_SECONDS)
            self._fallback_until = time.monotonic() + self.FALLBACK_SECONDS
            return self._hit(self._memory, limits, group, key)

    @staticmethod
    def _hit(counter: FixedWindowRateLimiter, limits, group: str, key: str) -> int | None:
        for item in limits:
            if not counter.hit(item, "storecare", group, key):
                reset_at = counter.get_window_stats(item, "storecare", group, key).reset_time
                return max(1, int(reset_at - time.time()))
        return None


def init_rate_limits(app: Flask, settings) -> RateLimiter:
    if settings.forwarded_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.forwarded_hops)
    limiter = RateLimiter(settings.rate_limit_storage_uri, enabled=settings.rate_limits_enabled)
    app.extensions[LIMITER_KEY] = limiter
    return limiter


def limit_of(group: str, app: Flask | None = None) -> str:
    if group not in GROUPS:
        raise ValueError(f"unknown rate-limit group {group!r} (one of {', '.join(GROUPS)})")
    return getattr((app or current_app).config["STORECARE_SETTINGS"], f"rate_limit_{group}")


def limited(app: Flask, view: Callable, group: str, key: Callable[[], str] = client_address,
            methods: tuple[str, ...] | None = None) -> Callable:
    """``view`` counted against ``group``'s limit per ``key``: one counter for the whole group (only
    requests of ``methods`` count, all if None)."""
    limiter: RateLimiter = app.extensions[LIMITER_KEY]
    limits = tuple(parse_many(limit_of(group, app)))
    counted_methods = frozenset(methods) if methods else None

    @wraps(view)
    def counted(*args, **kwargs):
        if counted_methods is None or request.method in counted_methods:
            wait = limiter.hit(limits, group, key())
            if wait is not None:
                raise rate_limited(wait)
        return view(*args, **kwargs)

    return counted


def limit_endpoint(app: Flask, rule: RateLimit, key: Callable[[], str] = client_address) -> None:
    """Wrap the view of an endpoint already registered on ``app`` in its group's limit."""
    try:
        view = app.view_functions[rule.endpoint]
    except KeyError:
        raise ValueError(f"rate limit for unknown endpoint {rule.endpoint!r}") from None
    app.view_functions[rule.endpoint] = limited(app, view, rule.group, key)
