"""Retries with backoff: one loop (tenacity's) and one backoff curve for every call we try again.

- ``retry_call`` calls an attempt until it returns or raises something not worth retrying. Each failure
  belongs to a kind with its own limit (Shopify: throttling waits as long as Shopify asks, six times;
  an outage backs off, three times), and ``wait`` says how long to pause before the next attempt.
  Used by the Shopify Admin client (adapters/shopify/client.py), WooCommerce's pager
  (adapters/woocommerce/pages.py) and the sandbox's webhook sender (adapters/sandbox/webhooks.py).
- ``backoff`` is the curve: exponential, capped, with full jitter in [0.5, 1.5) of the step. The
  Shopify client's outage waits and the job runner's delays between attempts
  (plugin/jobs/queue.py) follow it.

``sleep`` is always a parameter, so tests and benchmarks control time.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypeVar

import tenacity

T = TypeVar("T")


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None, jitter: bool = True) -> float:
    """Seconds before attempt ``attempt + 1``: ``base`` doubled per attempt, at most ``cap``, times a jitter
    in [0.5, 1.5) unless ``jitter`` is off."""
    step = min(cap, base * 2 ** max(0, attempt - 1))
    return step * (0.5 + (rng or random).random()) if jitter else step


def retry_call(attempt: Callable[[], T], *, retry_on: type[BaseException] | tuple[type[BaseException], ...],
               limits: Mapping[str, int], wait: Callable[[BaseException, int], float],
               sleep: Callable[[float], None], kind: Callable[[BaseException], str] = lambda exc: "all") -> T:
    """``attempt()``'s result. An exception of ``retry_on`` is of ``kind(exc)``; its kind may fail
    ``limits[kind]`` times more after the first and the attempt is made again after ``wait(exc, n)``
    seconds (``n``: the failures of that kind so far, this one included); past the limit it is raised.
    Anything else is raised at once."""
    failures: Counter[str] = Counter()
    counted: set[int] = set()

    def failed(state: tenacity.RetryCallState) -> tuple[BaseException, int, str]:
        """The attempt's failure, counted once (tenacity asks ``stop`` and ``wait`` in an order of its own)."""
        exc = state.outcome.exception()
        failed_kind = kind(exc)
        if state.attempt_number not in counted:
            counted.add(state.attempt_number)
            failures[failed_kind] += 1
        return exc, failures[failed_kind], limits[failed_kind]

    def stop(state: tenacity.RetryCallState) -> bool:
        _exc, count, limit = failed(state)
        return count > limit

    def pause(state: tenacity.RetryCallState) -> float:
        exc, count, limit = failed(state)
        return wait(exc, count) if count <= limit else 0.0  # past the limit: raised, not waited for

    def nap(seconds: float) -> None:
        if seconds > 0:
            sleep(seconds)

    retrying = tenacity.Retrying(retry=tenacity.retry_if_exception_type(retry_on), stop=stop, wait=pause,
                                 sleep=nap, reraise=True)
    return retrying(attempt)
