"""The one outbound HTTP session: timeouts, user agent, connection pooling.

Retries are not done here: adapters classify failures (429 and 5xx are Transient, 401 AuthRevoked)
and the job runner retries with backoff, recording every attempt. Credentials are never stored on
the session; each call passes its own shop's headers.
"""
from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "Storecare/0.1 (+https://storecare.app)"
TIMEOUT = (5, 30)  # connect, read (seconds)


class TimeoutSession(requests.Session):
    """A requests.Session whose every request has a timeout unless the caller sets one."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, **kwargs)


def make_session(pool_size: int = 20) -> requests.Session:
    session = TimeoutSession()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
