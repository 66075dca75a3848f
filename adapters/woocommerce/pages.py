"""Page numbers as opaque cursors, and several pages in flight for a fast backfill.

WooCommerce pages by number (``page``, ``per_page`` at most 100) and tells the number of pages in
``X-WP-TotalPages``. Listings are ordered by id ascending, so orders created while we page land
after the ones we have seen; an order that starts to match ``modified_after`` mid-way shifts later
pages by one, which repeats an item (harmless: the mirror's upsert is idempotent) rather than
skipping one. Only a deletion mid-way can skip an item; the periodic reconciliation closes that gap.

``fetch_in_order`` keeps up to ``in_flight`` page requests running in threads and yields the pages
in order. A 429 (or a 503 with Retry-After) closes a shared gate for the time the store asked, so
every thread waits, not only the one refused; other transient failures back off exponentially (both
through adapters/retries.py).
The clock and the sleep are parameters, so tests and benchmarks control time.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from adapters.errors import RateLimited, Transient
from adapters.retries import backoff as retry_backoff
from adapters.retries import retry_call

MAX_PER_PAGE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Position:
    kind: str  # "orders" | "customers" | "order_ids"
    page: int  # 1-based
    per_page: int
    since: datetime | None


def encode_cursor(position: Position) -> str:
    data = {"k": position.kind, "p": position.page, "n": position.per_page,
            "s": position.since.isoformat() if position.since else None}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode("ascii")).decode("ascii")


def start_position(kind: str, cursor: str | None, limit: int, updated_since: datetime | None) -> Position:
    """Where a listing starts: page 1 of the filter, or the page a cursor names (with its own filter
    and page size, so a caller that changes ``limit`` between pages neither skips nor repeats)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if updated_since is not None and updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    if cursor is None:
        return Position(kind, 1, min(limit, MAX_PER_PAGE), updated_since)
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        position = Position(str(data["k"]), int(data["p"]), int(data["n"]),
                            datetime.fromisoformat(data["s"]) if data["s"] else None)
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError, AttributeError):
        raise ValueError("this is not a cursor issued by the WooCommerce adapter") from None
    if position.kind != kind:
        raise ValueError(f"this cursor pages {position.kind}, not {kind}")
    if position.page < 1 or not 1 <= position.per_page <= MAX_PER_PAGE:
        raise ValueError("this is not a cursor issued by the WooCommerce adapter")
    if updated_since is not None and updated_since != position.since:
        raise ValueError("this cursor was issued for another updated_since")
    return position


@dataclass(frozen=True)
class Fetched(Generic[T]):
    page: int
    items: list[T]
    total_pages: int  # as the store counted when it answered this page


class _Gate:
    """Closed for everyone until a moment, when any request was told to slow down."""

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None]):
        self._clock, self._sleep, self._until, self._lock = clock, sleep, 0.0, threading.Lock()

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                remaining = self._until - self._clock()
            if remaining <= 0:
                return
            self._sleep(remaining)


def fetch_in_order(fetch: Callable[[int], Fetched[T]], first_page: int, in_flight: int, *,
                   max_attempts: int = 6, backoff: float = 0.5,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> Iterator[Fetched[T]]:
    """Pages ``first_page``.. to the last, in order, with up to ``in_flight`` requests at once."""
    if in_flight < 1:
        raise ValueError("in_flight must be at least 1")
    gate = _Gate(clock, sleep)

    def attempt(page: int) -> Fetched[T]:
        def once() -> Fetched[T]:
            gate.wait()
            return fetch(page)

        def wait(exc: BaseException, failures: int) -> float:
            if isinstance(exc, RateLimited):  # every page waits, this one too: at the gate
                gate.hold(exc.retry_after)
                return 0.0
            return retry_backoff(failures, backoff, cap=math.inf, jitter=False)

        return retry_call(once, retry_on=(RateLimited, Transient), limits={"all": max_attempts - 1}, wait=wait,
                          sleep=sleep)

    first = attempt(first_page)
    yield first
    last_known, next_page = first.total_pages, first_page + 1
    if first_page >= last_known:
        return
    executor = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="woocommerce-pages")
    running: dict[int, Future[Fetched[T]]] = {}
    try:
        want = first_page + 1
        while want <= last_known:
            while len(running) < in_flight and next_page <= last_known:
                running[next_page] = executor.submit(attempt, next_page)
                next_page += 1
            fetched = running.pop(want).result()
            last_known = max(last_known, fetched.total_pages)  # orders created meanwhile add pages
            yield fetched
            want += 1
    finally:
        for future in running.values():
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)
