"""Where a WooCommerce store may be: the address check every call to a store goes through.

A store's address is typed by a merchant, so anything we send there is a request a stranger chose
the destination of (server-side request forgery). ``AddressPolicy.addresses(host)`` resolves a host
name and refuses it when any address it resolves to is not on the public internet, unless the
operator allowed it (``private_hosts``: names; ``private_networks``: CIDR networks) or private
addresses are allowed altogether (demo and tests). The transport (transport.py) connects only to the
addresses this returned, so a name that resolves elsewhere between the check and the connection
(DNS rebinding) cannot slip through; the connection start (auth.py) asks the same policy.

"Public" is decided here rather than by ``ipaddress``'s ``is_global`` alone, which Python 3.11 gets
wrong for several special ranges (multicast, 192.0.0.0/24, site-local, SRv6, documentation 3fff::/20)
and for every IPv6 form that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64
``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::``, Teredo, IPv4-compatible ``::a.b.c.d``): those are
judged by the IPv4 address they lead to.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from adapters.errors import AdapterError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Iterable[str]]
"""host -> the IP addresses it resolves to, in the order to try them (e.g. from socket.getaddrinfo)."""

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.0/24",  # IETF protocol assignments (3.11 calls most of it global)
    "192.88.99.0/24",  # the retired 6to4 relay anycast
    "fec0::/10",  # site-local, deprecated but still routed inside some networks
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 segment identifiers
    "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): translates to addresses of the local network
))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix: its low 32 bits are the IPv4 host


class AddressRefused(AdapterError):
    """The store's address leads inside our own network (or is not an address at all); never retried."""

    def __init__(self, host: str, address: str | None = None):
        where = f" ({address})" if address else ""
        super().__init__(f"the store's address {host}{where} is not on the public internet: Storecare does not "
                         "connect there unless the operator allows it (STORECARE_WOOCOMMERCE_PRIVATE_STORES)")
        self.host, self.address = host, address


def system_resolve(host: str) -> list[str]:
    """The addresses the system resolver gives for ``host`` (both families), first answer first."""
    seen: dict[str, None] = {}
    for *_, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address leads to, or None when it is an IPv6 address of its own."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # the relay server and the client behind it
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return None


def is_public(ip: IPAddress) -> bool:
    """True when ``ip`` is a unicast address on the public internet (see the module doc)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        inner = embedded_ipv4(ip)
        if inner is not None:
            # Teredo and IPv4-compatible addresses are tunnels nobody serves a store from; the others
            # are translations, as public as the IPv4 host they reach.
            translated = ip.ipv4_mapped is not None or ip in _NAT64 or ip.sixtofour is not None
            return translated and all(is_public(v4) for v4 in inner)
    if ip.is_multicast or any(ip in network for network in _NOT_PUBLIC):
        return False
    return ip.is_global


def host_name(text: str) -> str:
    """A host name or IP literal, normalised (lowercase, IDNA, no trailing dot); ValueError if invalid."""
    host = text.strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ValueError("empty host name")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{text!r} is not a valid host name") from None
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise ValueError(f"{text!r} is not a valid host name")
    return host


def read_private_stores(entries: Iterable[str]) -> tuple[frozenset[str], tuple[Network, ...]]:
    """The operator's allow-list: host names and CIDR networks (a bare IP is a network of one).
    ValueError naming the first entry that is neither."""
    hosts, networks = set(), []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        if "://" not in entry and ("/" in entry or _looks_like_ip(entry)):
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=True))
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not a CIDR network ({exc})") from None
            continue
        try:
            hosts.add(host_name(entry))
        except ValueError:
            raise ValueError(f"{entry!r} is neither a host name nor a CIDR network "
                             "(write host names without https:// or a port)") from None
    return frozenset(hosts), tuple(networks)


def _looks_like_ip(entry: str) -> bool:
    return bool(re.fullmatch(r"[\d.]+", entry) or re.fullmatch(r"\[?[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\]?", entry))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class AddressPolicy:
    """Which store addresses we may connect to. The default is the production rule: public only."""

    allow_private: bool = False  # demo and tests: any address
    private_hosts: frozenset[str] = frozenset()
    private_networks: tuple[Network, ...] = ()
    resolve: Resolver = field(default=system_resolve, compare=False)

    def allowed(self, ip: IPAddress) -> bool:
        if self.allow_private or is_public(ip):
            return True
        candidates = [ip, *(embedded_ipv4(ip) or [])] if isinstance(ip, ipaddress.IPv6Address) else [ip]
        return any(c in n for c in candidates for n in self.private_networks)

    def check_name(self, host: str) -> None:
        """Refuse, without resolving, the names that only mean something inside a network
        (``localhost``, ``*.local``, a name without a dot) unless the operator allowed them."""
        if self.allow_private or host in self.private_hosts or _is_ip(host) or self.private_networks:
            return
        if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
            raise AddressRefused(host)

    def check(self, host: str, *, resolve: bool = True) -> None:
        """At the connection start: AddressRefused if calls to ``host`` would be refused. Resolves only
        when that can change the answer (``resolve=False``: literal addresses and names only)."""
        if self.allow_private or host in self.private_hosts:
            return
        if resolve or _is_ip(host):
            self.addresses(host)
        else:
            self.check_name(host)

    def addresses(self, host: str) -> list[str]:
        """The addresses to connect to for ``host``, every one of them allowed; AddressRefused if any is
        not (a name with one private answer among public ones is refused whole: the resolver picks).
        OSError (socket.gaierror) when the name does not resolve."""
        host = host.strip("[]").rstrip(".").lower()
        self.check_name(host)
        found = [host] if _is_ip(host) else [str(a) for a in self.resolve(host)]
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
        if self.allow_private or host in self.private_hosts:
            return found
        for text in found:
            if not self.allowed(ipaddress.ip_address(text)):
                raise AddressRefused(host, text)
        return found
