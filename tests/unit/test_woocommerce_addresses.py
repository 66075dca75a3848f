"""Which store addresses we connect to: public ones (IPv6 forms judged by the IPv4 address they carry,
and the special ranges Python 3.11's ``is_global`` calls public), plus the operator's allow-list."""
from __future__ import annotations

import ipaddress
import socket

import pytest

from adapters.woocommerce.addresses import AddressPolicy, AddressRefused, is_public, read_private_stores


@pytest.mark.parametrize("address", [
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:1",  # NAT64 (well-known prefix)
    "64:ff9b:1::808:808", "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215): the local network's addresses
    "2002:7f00:1::1", "2002:a00:1::1", "2002:a9fe:a9fe::",  # 6to4 of 127.0.0.1, 10.0.0.1, 169.254.169.254
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:808:808::f7f7:f7f7",  # Teredo with public server and client: a tunnel, never a store
    "::127.0.0.1", "::10.0.0.1", "::8.8.8.8",  # IPv4-compatible (deprecated)
])
def test_ipv6_forms_carrying_an_internal_or_tunnelled_ipv4_address_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [
    "224.0.0.1", "239.1.2.3", "ff02::1", "ff0e::1",  # multicast (3.11: "global")
    "192.0.0.8", "192.0.0.9", "192.88.99.1",  # IETF protocol assignments, the old 6to4 relay (3.11: "global")
    "fec0::1", "3fff::1", "5f00::1",  # site-local, documentation, SRv6 (3.11: "global")
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "255.255.255.255", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "2001:db8::1",
])
def test_internal_and_special_addresses_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [
    "93.184.216.34", "8.8.8.8", "2606:4700::1111", "2001:4860:4860::8888",
    "::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1",  # translations to a public IPv4 host
])
def test_public_addresses_pass(address):
    assert is_public(ipaddress.ip_address(address))


def resolver(table: dict[str, list[str]]):
    def resolve(host: str) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, host)
        return table[host]
    return resolve


def test_a_name_is_refused_when_any_of_its_addresses_is_internal():
    policy = AddressPolicy(resolve=resolver({"shop.example.com": ["93.184.216.34", "::ffff:10.0.0.7"],
                                             "fine.example.com": ["93.184.216.34", "2606:4700::1111"]}))

    with pytest.raises(AddressRefused) as refused:
        policy.addresses("shop.example.com")

    assert refused.value.address == "::ffff:10.0.0.7"
    assert policy.addresses("fine.example.com") == ["93.184.216.34", "2606:4700::1111"]
    with pytest.raises(socket.gaierror):
        policy.addresses("nowhere.example.com")


def test_the_operators_private_stores_are_allowed_and_nothing_else():
    hosts, networks = read_private_stores(["shop.lan", " 10.20.0.0/16 ", "192.168.7.7", "fd00:1::/32", ""])
    policy = AddressPolicy(private_hosts=hosts, private_networks=networks, resolve=resolver({
        "shop.lan": ["10.99.0.1"], "erp.corp.example": ["10.20.3.4"], "nas.corp.example": ["10.21.0.1"],
        "v6.corp.example": ["fd00:1::5"], "mapped.corp.example": ["::ffff:10.20.9.9"]}))

    assert policy.addresses("shop.lan") == ["10.99.0.1"]  # a name the operator listed, wherever it points
    assert policy.addresses("erp.corp.example") == ["10.20.3.4"]  # inside a listed network
    assert policy.addresses("10.20.1.1") == ["10.20.1.1"] and policy.addresses("192.168.7.7") == ["192.168.7.7"]
    assert policy.addresses("v6.corp.example") == ["fd00:1::5"]
    assert policy.addresses("mapped.corp.example") == ["::ffff:10.20.9.9"]
    for refused in ("nas.corp.example", "192.168.7.8", "127.0.0.1", "169.254.169.254"):
        with pytest.raises(AddressRefused):
            policy.addresses(refused)


def test_names_that_only_mean_something_inside_a_network_are_refused_without_asking_the_resolver():
    asked = []
    policy = AddressPolicy(resolve=lambda host: asked.append(host) or ["93.184.216.34"])

    for name in ("localhost", "intranet", "printer.local", "db.internal", "router.lan", "x.home.arpa"):
        with pytest.raises(AddressRefused):
            policy.addresses(name)

    assert asked == []
    assert AddressPolicy(allow_private=True, resolve=lambda host: ["127.0.0.1"]).addresses("localhost") == [
        "127.0.0.1"]


@pytest.mark.parametrize(("entry", "says"), [
    ("https://shop.lan", "neither a host name nor a CIDR network"),
    ("shop.lan:8443", "neither a host name nor a CIDR network"),
    ("10.0.0.1/24", "not a CIDR network"),  # host bits set: 10.0.0.0/24 was meant, or 10.0.0.1
    ("10.0.0.0/33", "not a CIDR network"),
    ("300.1.1.1", "not a CIDR network"),
    ("*.corp.example", "neither a host name nor a CIDR network"),
])
def test_a_malformed_allow_list_entry_is_named(entry, says):
    with pytest.raises(ValueError, match=says) as raised:
        read_private_stores(["shop.ok.example", entry])

    assert repr(entry) in str(raised.value)
