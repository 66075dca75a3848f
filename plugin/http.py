"""The one outbound HTTP session: timeouts, user agent, connection pooling. WooCommerce stores, whose
addresses merchants type, are called through a transport of their own (``make_store_transport``).

Retries are not done here: adapters classify failures (429 and 5xx are Transient, 401 AuthRevoked)
and the job runner retries with backoff, recording every attempt. Credentials are never stored on
the session; each call passes its own shop's headers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "Storecare/0.1 (+https://storecare.app)"
TIMEOUT = (5, 30)  # connect, read (seconds)

if TYPE_CHECKING:
    from adapters.woocommerce.transport import StoreTransport


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


def make_store_transport(settings) -> StoreTransport:
    """The transport every WooCommerce call goes through (adapters/woocommerce/transport.py): outside
    production any address (the demo's and the tests' stores are local); in production public
    addresses only, plus the operator's STORECARE_WOOCOMMERCE_PRIVATE_STORES; certificates checked
    against the public CAs plus STORECARE_WOOCOMMERCE_CA_BUNDLE."""
    from adapters.woocommerce.addresses import AddressPolicy, read_private_stores, system_resolve
    from adapters.woocommerce.transport import StoreTransport

    hosts, networks = read_private_stores(settings.woocommerce_private_stores)
    policy = AddressPolicy(allow_private=not settings.is_production, private_hosts=hosts, private_networks=networks,
                           resolve=settings.woocommerce_resolver or system_resolve)
    return StoreTransport(policy, ca_bundle=settings.woocommerce_ca_bundle or None)
