"""The REST client: both authentications as the store checks them, and every answer classified."""
from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from adapters.errors import AuthRevoked, InvalidPayload, NotFound, RateLimited, Transient
from adapters.woocommerce.client import StoreRedirected, StoreRefused, WooClient, retry_after
from tests.contract.woocommerce_kit import KEY, SECRET, WooSimulator, build_store

HTTPS, HTTP = "https://shop.woo.test", "http://plain.woo.test"


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_https_stores_get_basic_auth_and_no_oauth_params(mocked):
    mocked.get(f"{HTTPS}/wp-json/wc/v3/orders", json=[], headers={"X-WP-Total": "0"})

    WooClient(HTTPS, KEY, SECRET).get("orders", {"per_page": 1})

    sent = mocked.calls[0].request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert not any(name.startswith("oauth_") for name in parse_qs(urlsplit(sent.url).query))


def test_https_stores_that_strip_authorization_get_the_keys_in_the_query(mocked):
    mocked.get(f"{HTTPS}/wp-json/wc/v3/orders", json=[])

    WooClient(HTTPS, KEY, SECRET, query_string_auth=True).get("orders")

    sent = mocked.calls[0].request
    assert "Authorization" not in sent.headers
    assert parse_qs(urlsplit(sent.url).query)["consumer_key"] == [KEY]


def test_http_stores_get_an_oauth_signature_the_store_accepts(mocked):
    simulator = WooSimulator(mocked)
    store = simulator.add(build_store(HTTP, seed=3, orders=3, customers=1))

    answer = WooClient(HTTP, KEY, SECRET).get("orders", {"per_page": 2, "modified_after": "2020-01-01T00:00:00"})

    sent = mocked.calls[0].request
    query = parse_qs(urlsplit(sent.url).query)
    assert "Authorization" not in sent.headers
    assert query["oauth_consumer_key"] == [KEY] and query["oauth_signature_method"] == ["HMAC-SHA256"]
    assert {"oauth_timestamp", "oauth_nonce", "oauth_signature"} <= set(query)
    assert len(answer.data) == 2 and store.requests == ["GET /wp-json/wc/v3/orders"]


def test_an_http_request_signed_with_another_secret_is_refused(mocked):
    WooSimulator(mocked).add(build_store(HTTP, seed=3, orders=3, customers=1))

    with pytest.raises(AuthRevoked):
        WooClient(HTTP, KEY, "cs_" + "9" * 40).get("orders")


@pytest.mark.parametrize(("status", "headers", "error"), [
    (429, {"Retry-After": "7"}, RateLimited), (503, {"Retry-After": "3"}, RateLimited), (503, {}, Transient),
    (500, {}, Transient), (502, {}, Transient), (401, {}, AuthRevoked), (403, {}, AuthRevoked), (404, {}, NotFound),
    (400, {}, StoreRefused),
])
def test_answers_are_classified(mocked, status, headers, error):
    mocked.get(f"{HTTPS}/wp-json/wc/v3/orders", status=status, headers=headers,
               json={"code": "some_code", "message": "no", "data": {"status": status}})

    with pytest.raises(error) as raised:
        WooClient(HTTPS, KEY, SECRET).get("orders")

    if error is RateLimited:
        assert raised.value.retry_after == float(headers["Retry-After"])
    assert raised.value.transient is (status >= 500 or status == 429)


def test_network_errors_and_timeouts_are_transient(mocked):
    mocked.get(f"{HTTPS}/wp-json/wc/v3/orders", body=requests.ConnectionError("refused"))
    mocked.get(f"{HTTPS}/wp-json/wc/v3/customers", body=requests.ReadTimeout("slow"))
    client = WooClient(HTTPS, KEY, SECRET)

    with pytest.raises(Transient):
        client.get("orders")
    with pytest.raises(Transient):
        client.get("customers")


@pytest.mark.parametrize(("store", "location", "suggested"), [
    ("http://shop.woo.test", "https://shop.woo.test/wp-json/wc/v3/orders", "https://shop.woo.test"),
    (HTTPS, "https://www.shop.woo.test/wp-json/wc/v3/orders?per_page=1", "https://www.shop.woo.test"),
    (HTTPS, "/shop/wp-json/wc/v3/orders", "https://shop.woo.test/shop"),
    (HTTPS, "http://169.254.169.254/latest/meta-data/", ""),
])
def test_a_redirect_is_not_followed_and_names_the_address_to_connect_with(mocked, store, location, suggested):
    mocked.get(f"{store}/wp-json/wc/v3/orders", status=301, headers={"Location": location})
    target = mocked.get("http://169.254.169.254/latest/meta-data/", body="secrets")

    with pytest.raises(StoreRedirected) as raised:
        WooClient(store, KEY, SECRET).get("orders", {"per_page": 1})

    assert (raised.value.location, raised.value.suggested_url) == (location, suggested)
    assert raised.value.transient is False and location in raised.value.message
    assert target.call_count == 0 and len(mocked.calls) == 1


def test_a_page_that_is_not_json_says_why(mocked):
    mocked.get(f"{HTTPS}/wp-json/wc/v3/orders", body="<html>theme</html>", content_type="text/html")

    with pytest.raises(InvalidPayload, match="permalinks"):
        WooClient(HTTPS, KEY, SECRET).get("orders")


def test_a_shop_without_keys_cannot_be_called():
    with pytest.raises(AuthRevoked):
        WooClient(HTTPS, "", "")


def test_retry_after_reads_seconds_and_http_dates_within_bounds():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    assert retry_after("2.5") == 2.5
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30
    assert retry_after(None) == retry_after("soon") == 1.0
    assert retry_after("-5") == 0 and retry_after("99999") == 300
