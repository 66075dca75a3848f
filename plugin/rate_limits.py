"""Rate limits (Flask-Limiter): who may call what how often, answered with 429 and ``Retry-After``.

One ``Limiter`` per app (``app.extensions["storecare.limiter"]``), counting in Redis in production
(``settings.redis_url``) and in the process's memory in the demo and tests; if Redis cannot be reached
the counters fall back to memory rather than refusing every request. Limits come in groups, each a
setting (``Settings.rate_limit_<group>``, e.g. ``STORECARE_RATE_LIMIT_SIGN_IN=30/minute``); the
endpoints of one group share one counter per key (``shared_limit`` with the group as its scope), so
ten sign-in addresses cannot be tried ten times as often as one.

Who is counted:

- sign-in, connect, lookup: the client's address (``client_address``; behind reverse proxies set
  ``STORECARE_FORWARDED_HOPS`` so that it is the client's, not the proxy's);
- the storefront (both mounts): the shop and shopper (``plugin.storefront.routes``);
- the merchant API: the API key (``plugin.api.views``).

A feature limits one of its endpoints by declaring ``RateLimit("blueprint.endpoint", "group")`` in its
``Feature``; ``limit_endpoint`` wraps the endpoint's view when the app is built. A breach is answered
as a ``Problem`` (429, ``Retry-After`` in seconds) raised there would be: a problem document for API
clients, the admin's error page for a browser in the admin.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix

from plugin.problems import Problem

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


def _retry_after(limit: RequestLimit | None) -> int:
    return max(1, int(limit.reset_at - time.time())) if limit is not None else 60


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
    A lock costs a few microseconds a request."""

    STORAGE_SCHEME = ["storecare-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions, **options)
        self._write_lock = threading.Lock()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with self._write_lock:
            return super().incr(key, expiry, amount)

    def decr(self, key: str, amount: int = 1) -> int:
        with self._write_lock:
            return super().decr(key, amount)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        with self._write_lock:
            return super().acquire_entry(key, limit, expiry, amount)


def init_rate_limits(app: Flask, settings) -> Limiter:
    if settings.forwarded_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.forwarded_hops)
    limiter = Limiter(client_address, storage_uri=settings.rate_limit_storage_uri,
                      enabled=settings.rate_limits_enabled,
                      in_memory_fallback_enabled=settings.rate_limit_storage_uri != MEMORY_STORAGE,
                      key_prefix="storecare", strategy="fixed-window")
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(_exc: RateLimitExceeded):
        """A breach is answered as the same Problem raised there would be: the handlers of the
        request's blueprints first (the admin renders a page for a browser), else a problem document."""
        return app.handle_user_exception(rate_limited(_retry_after(limiter.current_limit)))

    return limiter


def limit_of(group: str, app: Flask | None = None) -> str:
    if group not in GROUPS:
        raise ValueError(f"unknown rate-limit group {group!r} (one of {', '.join(GROUPS)})")
    return getattr((app or current_app).config["STORECARE_SETTINGS"], f"rate_limit_{group}")


def limited(app: Flask, view: Callable, group: str, key: Callable[[], str] = client_address,
            methods: tuple[str, ...] | None = None) -> Callable:
    """``view`` counted against ``group``'s limit per ``key``: one counter for the whole group."""
    limiter: Limiter = app.extensions[LIMITER_KEY]
    return limiter.shared_limit(limit_of(group, app), scope=group, key_func=key,
                                methods=list(methods) if methods else None)(view)


def limit_endpoint(app: Flask, rule: RateLimit, key: Callable[[], str] = client_address) -> None:
    """Wrap the view of an endpoint already registered on ``app`` in its group's limit."""
    try:
        view = app.view_functions[rule.endpoint]
    except KeyError:
        raise ValueError(f"rate limit for unknown endpoint {rule.endpoint!r}") from None
    app.view_functions[rule.endpoint] = limited(app, view, rule.group, key)
