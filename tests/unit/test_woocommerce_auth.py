"""The store address a merchant types, the /wc-auth URL, and the key handover's shape."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.errors import InvalidPayload
from adapters.woocommerce.addresses import AddressPolicy
from adapters.woocommerce.auth import (
    StoreUrlError,
    authorize_url,
    domain_of,
    key_host,
    parse_store_url,
    read_key_handover,
    store_key,
)


@pytest.mark.parametrize(("typed", "url", "domain"), [
    ("shop.example.com", "https://shop.example.com", "shop.example.com"),
    ("  https://Shop.Example.com/  ", "https://shop.example.com", "shop.example.com"),
    ("https://shop.example.com:443/", "https://shop.example.com", "shop.example.com"),
    ("http://shop.example.com:8080", "http://shop.example.com:8080", "shop.example.com:8080"),
    ("https://example.com/shop/wp-admin/index.php", "https://example.com/shop", "example.com/shop"),
    ("https://example.com/Store/wp-json/wc/v3", "https://example.com/Store", "example.com/store"),
    ("https://example.com/sklep/", "https://example.com/sklep", "example.com/sklep"),
    ("https://bücher.example", "https://xn--bcher-kva.example", "xn--bcher-kva.example"),
])
def test_store_addresses_are_normalised(typed, url, domain):
    address = parse_store_url(typed)

    assert (address.url, address.domain) == (url, domain)


@pytest.mark.parametrize(("typed", "says"), [
    ("", "Enter your store's address"),
    ("ftp://shop.example.com", "https://"),
    ("https://admin:pw@shop.example.com", "user name"),
    ("https://shop.example.com/?x=1", "without"),
    ("https://shop.example.com:99999", "port"),
    ("https://exa mple.com", "host name"),
    ("https://127.0.0.1", "not reachable from the internet"),
    ("https://10.1.2.3:8443", "not reachable from the internet"),
    ("http://[::1]/", "not reachable from the internet"),
    ("https://169.254.169.254", "not reachable from the internet"),
    ("https://localhost", "not reachable from the internet"),
    ("https://intranet", "not reachable from the internet"),
    ("https://printer.local", "not reachable from the internet"),
])
def test_unusable_or_internal_addresses_are_refused_with_a_reason(typed, says):
    with pytest.raises(StoreUrlError, match=says):
        parse_store_url(typed)


def test_a_name_that_resolves_inside_our_network_is_refused():
    with pytest.raises(StoreUrlError, match="not reachable"):
        parse_store_url("https://sneaky.example.com",
                        policy=AddressPolicy(resolve=lambda host: ["93.184.216.34", "192.168.0.10"]))
    assert parse_store_url("https://fine.example.com",
                           policy=AddressPolicy(resolve=lambda host: ["93.184.216.34"])).domain == "fine.example.com"


def test_local_addresses_are_allowed_for_demos_and_tests():
    anything = AddressPolicy(allow_private=True, resolve=lambda host: pytest.fail("nothing is resolved"))
    assert parse_store_url("http://127.0.0.1:8080", policy=anything).domain == "127.0.0.1:8080"
    assert parse_store_url("http://localhost:8000", policy=anything).url == "http://localhost:8000"


def test_the_authorize_url_carries_all_five_parameters():
    store = parse_store_url("https://shop.example.com/sub")

    url = authorize_url(store, app_name="Storecare", user_id="tok", return_url="https://app.test/r",
                        callback_url="https://app.test/c")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://shop.example.com/sub/wc-auth/v1/authorize"
    assert parse_qs(parts.query) == {"app_name": ["Storecare"], "scope": ["read_write"], "user_id": ["tok"],
                                     "return_url": ["https://app.test/r"], "callback_url": ["https://app.test/c"]}


@pytest.mark.parametrize(("url", "key"), [
    ("https://Shop.Example.com/", "shop.example.com"),  # a root store: exactly its domain, as before
    ("http://shop.example.com:80", "shop.example.com"),
    ("https://shop.example.com:8443/", "shop.example.com:8443"),
    ("https://multi.example.com/storeA/", "multi.example.com/storea"),
    ("http://multi.example.com/storeA", "multi.example.com/storea"),  # the scheme is not part of it
    ("https://multi.example.com/a/b//", "multi.example.com/a/b"),
    ("https://example.com/sklep%20ceramiki/", "example.com/sklep%20ceramiki"),
    ("https://example.com/sklep ceramiki", "example.com/sklep%20ceramiki"),  # one encoding, however typed
    ("https://example.com/k%c5%82ody/", "example.com/k%c5%82ody"),
    ("https://example.com/kłody", "example.com/k%c5%82ody"),
    ("https://example.com/shop?x=1#y", "example.com/shop"),
    ("not a url", ""),
])
def test_a_store_is_keyed_by_its_whole_base_url_without_the_scheme(url, key):
    assert store_key(url) == key
    assert key_host(key) == domain_of(url)


def test_two_sites_of_one_host_are_two_stores():
    first, second = parse_store_url("https://multi.example.com/storeA"), parse_store_url("multi.example.com/storeB/")

    assert (first.domain, second.domain) == ("multi.example.com/storea", "multi.example.com/storeb")
    assert parse_store_url("https://multi.example.com").domain == "multi.example.com"


def test_an_address_whose_key_is_too_long_is_refused():
    with pytest.raises(StoreUrlError, match="too long"):
        parse_store_url("https://shop.example.com/" + "a" * 300)


def test_domain_of_matches_what_webhooks_and_the_plugin_use():
    assert domain_of("https://WWW.Shop.com:443/") == "www.shop.com"
    assert domain_of("http://shop.com:80/x") == "shop.com"
    assert domain_of("https://shop.com:8443") == "shop.com:8443"
    assert domain_of("not a url") == ""


HANDOVER = {"key_id": 1, "user_id": "tok", "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40,
            "key_permissions": "read_write"}


def test_a_key_handover_is_read():
    handover = read_key_handover(HANDOVER)

    assert (handover.key_id, handover.user_id, handover.permissions) == ("1", "tok", "read_write")


@pytest.mark.parametrize("change", [
    {"consumer_key": None}, {"consumer_key": "cs_" + "a" * 40}, {"consumer_secret": "secret"},
    {"user_id": ""}, {"user_id": "x" * 200}, {"key_permissions": True},
])
def test_a_malformed_handover_is_invalid(change):
    with pytest.raises(InvalidPayload):
        read_key_handover({**HANDOVER, **change})
    with pytest.raises(InvalidPayload):
        read_key_handover(["not", "an", "object"])
