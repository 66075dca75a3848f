import random

import pytest

from adapters.errors import AuthRevoked, RateLimited, Transient
from adapters.retries import backoff, retry_call
from plugin.jobs.queue import PermanentJobError, TransientJobError, backoff_seconds, is_transient


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    steps = [backoff_seconds(n, rng=rng) for n in range(1, 12)]
    assert 1 <= steps[0] < 3 and 2 <= steps[1] < 6 and 4 <= steps[2] < 12
    assert all(s < 900 for s in steps) and steps[-1] >= 300


def test_failures_are_classified():
    assert is_transient(Transient()) and is_transient(RateLimited(retry_after=3)) and is_transient(TransientJobError())
    assert is_transient(ConnectionError())
    assert not is_transient(AuthRevoked()) and not is_transient(PermanentJobError()) and not is_transient(KeyError())


class Throttled(Exception):
    pass


class Down(Exception):
    pass


def failing(*failures: Exception):
    """An attempt that raises ``failures`` in turn, then answers "done"; it records its calls."""
    pending = list(failures)

    def attempt():
        attempt.calls += 1
        if pending:
            raise pending.pop(0)
        return "done"

    attempt.calls = 0
    return attempt


def test_each_kind_of_failure_is_retried_up_to_its_own_limit_after_the_wait_asked():
    slept, asked = [], []
    attempt = failing(Throttled(), Down(), Throttled(), Down())

    def wait(exc, failures):
        asked.append((type(exc).__name__, failures))
        return 1.0 if isinstance(exc, Throttled) else 0.0

    assert retry_call(attempt, retry_on=(Throttled, Down), kind=lambda exc: type(exc).__name__,
                      limits={"Throttled": 2, "Down": 2}, wait=wait, sleep=slept.append) == "done"
    assert asked == [("Throttled", 1), ("Down", 1), ("Throttled", 2), ("Down", 2)]
    assert slept == [1.0, 1.0]  # nothing to sleep is not slept
    assert attempt.calls == 5


def test_a_kind_past_its_limit_is_raised_without_a_wait_and_other_errors_at_once():
    slept = []
    attempt = failing(Down(), Down(), Down())
    with pytest.raises(Down):
        retry_call(attempt, retry_on=Down, limits={"all": 2}, wait=lambda exc, n: float(n), sleep=slept.append)
    assert attempt.calls == 3 and slept == [1.0, 2.0]

    attempt = failing(KeyError("not worth retrying"))
    with pytest.raises(KeyError):
        retry_call(attempt, retry_on=Down, limits={"all": 5}, wait=lambda exc, n: 1.0, sleep=slept.append)
    assert attempt.calls == 1


def test_the_backoff_curve_doubles_up_to_its_cap_with_or_without_jitter():
    assert [backoff(n, 0.5, 4.0, jitter=False) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    rng = random.Random(3)
    assert all(0.25 <= backoff(1, 0.5, 4.0, rng) < 0.75 for _ in range(50))
