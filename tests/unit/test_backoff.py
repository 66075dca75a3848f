import random

from adapters.errors import AuthRevoked, RateLimited, Transient
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
