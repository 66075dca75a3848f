"""The transport every WooCommerce call goes through, against a real store on 127.0.0.1 (the kit's
LocalWooServer) and a resolver the test controls: where connections go, and TLS verification."""
from __future__ import annotations

import pytest
import trustme

from adapters.woocommerce.addresses import AddressPolicy, AddressRefused, read_private_stores
from adapters.woocommerce.client import StoreCertificateError, StoreUnreachable, WooClient
from adapters.woocommerce.transport import StoreTransport
from tests.contract.woocommerce_kit import KEY, SECRET, LocalWooServer, Names, build_store

NAME = "store.example"


@pytest.fixture
def names() -> Names:
    return Names({NAME: ["127.0.0.1"]})


@pytest.fixture
def server():
    with LocalWooServer() as server:
        yield server


@pytest.fixture
def store(server):
    return server.add(build_store(server.url(NAME), seed=4, orders=3, customers=1))


def call(store, transport: StoreTransport) -> dict:
    try:
        return WooClient(store.base_url, KEY, SECRET, transport=transport).get("system_status").data
    finally:
        transport.close()


def production(names: Names, *allowed: str) -> StoreTransport:
    hosts, networks = read_private_stores(allowed)
    return StoreTransport(AddressPolicy(private_hosts=hosts, private_networks=networks, resolve=names))


def test_a_store_whose_name_resolves_inside_our_network_is_never_contacted(store, names):
    with pytest.raises(AddressRefused) as refused:
        call(store, production(names))

    assert (refused.value.host, refused.value.address) == (NAME, "127.0.0.1")
    assert store.requests == []  # refused before a socket was opened
    assert names.asked == [NAME]


@pytest.mark.parametrize("allowed", [NAME, "127.0.0.0/8", "127.0.0.1"])
def test_the_operators_private_stores_are_called(store, names, allowed):
    assert call(store, production(names, allowed))["settings"]["currency"] == "USD"
    assert store.requests == ["GET /wp-json/wc/v3/system_status"]


def test_each_connection_connects_to_the_address_that_was_checked(store, names):
    """A second lookup (DNS rebinding) would answer 127.0.0.2, which is not allowed and where nothing
    listens: the call works only because the connection used the address the policy checked."""
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    names.records = {}
    transport = production(lambda host: names.asked.append(host) or next(answers), "127.0.0.1")

    assert call(store, transport)["settings"]["currency"] == "USD"
    assert names.asked == [NAME]


def test_the_environments_proxy_is_not_used(store, names, monkeypatch):
    for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # nothing listens there: a proxied call would fail

    assert call(store, production(names, "127.0.0.1"))["settings"]["currency"] == "USD"


def test_a_name_that_does_not_resolve_is_unreachable(store):
    with pytest.raises(StoreUnreachable):
        call(store, production(Names()))


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def test_a_certificate_from_an_unknown_authority_fails_and_the_operators_ca_bundle_fixes_it(
        authority, names, tmp_path):
    bundle = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with LocalWooServer(tls=authority.issue_cert(NAME)) as server:
        store = server.add(build_store(server.url(NAME), seed=4, orders=3, customers=1))

        with pytest.raises(StoreCertificateError) as failed:
            call(store, StoreTransport(AddressPolicy(allow_private=True, resolve=names)))
        assert "unable to get local issuer certificate" in failed.value.problem
        assert store.requests == []

        trusted = StoreTransport(AddressPolicy(allow_private=True, resolve=names), ca_bundle=str(bundle))
        assert call(store, trusted)["settings"]["currency"] == "USD"  # besides the public CAs, not instead


def test_a_certificate_for_another_name_fails_even_from_a_trusted_authority(authority, names, tmp_path):
    bundle = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with LocalWooServer(tls=authority.issue_cert("other.example")) as server:
        store = server.add(build_store(server.url(NAME), seed=4, orders=3, customers=1))

        with pytest.raises(StoreCertificateError, match="[Hh]ostname mismatch"):
            call(store, StoreTransport(AddressPolicy(allow_private=True, resolve=names), ca_bundle=str(bundle)))
        assert store.requests == []
