"""The one way to a WooCommerce store: a requests transport that checks where it connects.

Every call to a store (WooClient) is sent here. Three rules hold for each of them:

- **Every connection's address is checked.** The socket is opened by our urllib3 connection class,
  which resolves the host through the policy (addresses.py), refuses it if any address is not allowed,
  and connects to exactly those addresses. The address checked is the address connected to, so a
  name that answers differently a second later (DNS rebinding) gains nothing; kept-alive connections
  were checked when they were opened. TLS still verifies the certificate against the host *name*.
- **No redirects.** A store that answers its REST API with a 3xx gets a clear error naming where it
  points (usually http -> https, or www): the merchant connects with that address. WooCommerce's own
  webhook deliveries do the same (``redirection 0``). So there is no second hop to check.
- **One trust store.** Certificates are verified against certifi's bundle (as requests does) plus the
  operator's CA bundle, if any (``STORECARE_WOOCOMMERCE_CA_BUNDLE``).

No proxy from the environment, no .netrc, no cookies: a request carries only what WooClient put in it
(requests.Session would add all three, and share cookies between shops). Written here rather than
taken from a library: ``advocate`` (last release 2020) requires urllib3 < 2; ``requests-hardened``
(Saleor's, kept up) pins the first resolved address much as we do, but resolves with socket.getaddrinfo
inside a module function (no resolver to inject without patching it), knows no allow-list beyond
"loopback allowed", and passes IPv4-compatible ``::a.b.c.d`` and site-local addresses. Neither can be
handed to ``woocommerce.API`` either, which sends with ``requests.request``.
"""
from __future__ import annotations

import socket
import ssl
import sys
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util.ssl_ import create_urllib3_context

from adapters.woocommerce.addresses import AddressPolicy

POOL_SIZE = 10  # connections kept per store: the backfill has up to 8 pages in flight


class _CheckedConnection:
    """Opens its socket only to addresses the policy allowed (a mixin for urllib3's connections)."""

    policy: AddressPolicy  # set on the per-transport subclass (see _pool_classes)

    def _new_conn(self) -> socket.socket:
        try:
            addresses = self.policy.addresses(self._dns_host)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: OSError | None = None
        for address in addresses:  # like socket.create_connection: the first that answers
            try:
                sock = urllib3_connection.create_connection(
                    (address, self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except OSError as exc:
                error = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. "
                                            f"(connect timeout={self.timeout})") from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


def _pool_classes(policy: AddressPolicy) -> dict[str, type]:
    """Connection pools whose connections check addresses against ``policy``."""
    checked_http = type("CheckedHTTPConnection", (_CheckedConnection, HTTPConnection), {"policy": policy})
    checked_https = type("CheckedHTTPSConnection", (_CheckedConnection, HTTPSConnection), {"policy": policy})
    return {"http": type("CheckedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": checked_http}),
            "https": type("CheckedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": checked_https})}


class _CheckedAdapter(HTTPAdapter):
    def __init__(self, policy: AddressPolicy, ssl_context: ssl.SSLContext, pool_size: int):
        self._policy, self._ssl_context = policy, ssl_context  # init_poolmanager (called below) needs them
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self.poolmanager = PoolManager(num_pools=connections, maxsize=maxsize, block=block,
                                       ssl_context=self._ssl_context, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._policy)

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, verify, cert)
        conn.ca_certs = conn.ca_cert_dir = None  # our context already trusts what it should

    def proxy_manager_for(self, proxy, **proxy_kwargs):  # a proxy's address is not the store's
        raise requests.exceptions.InvalidProxyURL("WooCommerce stores are called without a proxy")


def trust_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """certifi's CAs (what requests trusts by default), plus the operator's bundle if any."""
    context = create_urllib3_context()
    context.load_verify_locations(cafile=requests.certs.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class StoreTransport:
    """Sends prepared calls to stores under one AddressPolicy; one per app, shared by every shop
    (connections are pooled per store address, nothing else is kept between calls)."""

    def __init__(self, policy: AddressPolicy | None = None, *, ca_bundle: str | None = None,
                 pool_size: int = POOL_SIZE):
        self.policy = policy or AddressPolicy()
        self.ca_bundle = ca_bundle
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._built: _CheckedAdapter | None = None

    def __repr__(self) -> str:
        return f"StoreTransport({self.policy!r}, ca_bundle={self.ca_bundle!r})"

    @property
    def _adapter(self) -> _CheckedAdapter:
        """Built on first use (constructing a transport loads nothing), once even when threads race."""
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = _CheckedAdapter(self.policy, trust_context(self.ca_bundle), self._pool_size)
        return self._built

    def send(self, method: str, url: str, *, headers: dict[str, str], params=None, data: bytes | None = None,
             auth=None, timeout=None) -> requests.Response:
        """One request, no redirect followed, the whole body read (the connection goes back to the pool).
        Raises requests' exceptions for network and TLS failures, AddressRefused for a refused address."""
        prepared = requests.Request(method.upper(), url, headers={**requests.utils.default_headers(), **headers},
                                    params=params, data=data, auth=auth).prepare()
        response = self._adapter.send(prepared, timeout=timeout, verify=True)
        response.content  # noqa: B018 - reads the body now, as requests.Session does unless streaming
        return response

    def close(self) -> None:
        if self._built is not None:
            self._built.close()
