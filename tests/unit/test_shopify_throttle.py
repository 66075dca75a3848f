"""Pacing and retries of the Admin GraphQL client: the cost bucket, THROTTLED, 429, 5xx, 401, errors.

Shopify is faked with ``responses``; time with FakeTime (a clock that only sleeping moves), so every
wait is read back exactly and nothing really sleeps.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import requests
import responses

from adapters.base import Connection
from adapters.errors import AdapterError, AuthRevoked, RateLimited, Transient
from adapters.shopify import documents
from adapters.shopify.adapter import ShopifyAdapter
from adapters.shopify.throttle import MAX_QUERY_COST, CostBucket, estimate_cost, largest_page
from plugin.http import make_session
from tests.contract.shopify_simulator import FakeTime

SHOP = "pace.myshopify.com"
URL = f"https://{SHOP}/admin/api/2026-10/graphql.json"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify" / "graphql"


def answer(available: float, requested: float = 100, restore: float = 100.0, maximum: float = 2000.0,
           data: dict | None = None) -> dict:
    data = data if data is not None else {"ordersCount": {"count": 3, "precision": "EXACT"}}
    return {"json": {"data": data,
                     "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": requested,
                                             "throttleStatus": {"maximumAvailable": maximum,
                                                                "currentlyAvailable": available,
                                                                "restoreRate": restore}}}}}


@pytest.fixture
def time():
    return FakeTime()


@pytest.fixture
def adapter(time):
    connection = Connection(shop_domain=SHOP, credentials={"access_token": "shpat_pace"})
    return ShopifyAdapter(connection, make_session(), sleep=time.sleep, clock=time.clock,
                          rng=random.Random(7))


@responses.activate
def test_no_wait_while_the_bucket_holds_the_calls_cost(adapter, time):
    responses.add(responses.POST, URL, **answer(available=1900, requested=100))
    responses.add(responses.POST, URL, **answer(available=1800, requested=100))

    assert adapter.count_orders() == 3
    assert adapter.count_orders() == 3

    assert time.slept == []


@responses.activate
def test_a_call_the_bucket_cannot_afford_waits_the_deficit_over_the_restore_rate(adapter, time):
    responses.add(responses.POST, URL, **answer(available=40, requested=250, restore=100.0))
    responses.add(responses.POST, URL, **answer(available=0, requested=250))

    adapter.count_orders()
    adapter.count_orders()

    assert time.slept == [pytest.approx(2.1)]  # (250 - 40) / 100


@responses.activate
def test_time_already_passed_refills_the_bucket_in_the_model(adapter, time):
    responses.add(responses.POST, URL, **answer(available=40, requested=250, restore=100.0))
    responses.add(responses.POST, URL, **answer(available=0, requested=250))

    adapter.count_orders()
    time.now += 1.5  # work elsewhere: 150 points came back meanwhile
    adapter.count_orders()

    assert time.slept == [pytest.approx(0.6)]


@responses.activate
def test_the_bucket_belongs_to_one_adapter_so_one_shop_never_waits_for_another(adapter, time):
    responses.add(responses.POST, URL, **answer(available=0, requested=500))
    other_url = "https://other.myshopify.com/admin/api/2026-10/graphql.json"
    responses.add(responses.POST, other_url, **answer(available=1900, requested=500))
    other = ShopifyAdapter(Connection("other.myshopify.com", {"access_token": "t"}), make_session(),
                           sleep=time.sleep, clock=time.clock)

    adapter.count_orders()
    other.count_orders()

    assert time.slept == []


@responses.activate
def test_throttled_waits_for_the_bucket_and_retries(adapter, time):
    throttled = json.loads((FIXTURES / "throttled.json").read_text())
    responses.add(responses.POST, URL, json=throttled)
    responses.add(responses.POST, URL, **answer(available=1200))

    assert adapter.count_orders() == 3

    assert time.slept == [pytest.approx(3.0)]  # (783 requested - 483 available) / 100
    assert adapter.client.throttled == 1 and len(responses.calls) == 2


@responses.activate
def test_http_429_waits_retry_after_then_retries(adapter, time):
    responses.add(responses.POST, URL, status=429, headers={"Retry-After": "2.0"}, body="Too Many Requests")
    responses.add(responses.POST, URL, **answer(available=1200))

    assert adapter.count_orders() == 3
    assert time.slept == [2.0]


@responses.activate
def test_throttling_that_does_not_end_reaches_the_caller_as_rate_limited(adapter, time):
    for _ in range(10):
        responses.add(responses.POST, URL, status=429, headers={"Retry-After": "1"})

    with pytest.raises(RateLimited) as raised:
        adapter.count_orders()

    assert raised.value.retry_after >= 1.0
    assert len(responses.calls) == 7  # one call and six retries


@responses.activate
def test_server_errors_back_off_with_jitter_then_succeed(adapter, time):
    responses.add(responses.POST, URL, status=502)
    responses.add(responses.POST, URL, json={"errors": [{"message": "Internal error",
                                                          "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
    responses.add(responses.POST, URL, **answer(available=1200))

    assert adapter.count_orders() == 3

    first, second = time.slept
    assert 0.25 <= first < 0.75 and 0.5 <= second < 1.5  # 0.5 s then 1 s, each times [0.5, 1.5)


@responses.activate
def test_server_errors_that_persist_become_transient(adapter, time):
    for _ in range(5):
        responses.add(responses.POST, URL, status=503)

    with pytest.raises(Transient):
        adapter.count_orders()

    assert len(responses.calls) == 4 and len(time.slept) == 3


@responses.activate
def test_a_network_error_is_retried_and_then_transient(adapter):
    for _ in range(4):
        responses.add(responses.POST, URL, body=requests.ConnectionError("connection reset"))

    with pytest.raises(Transient, match="ConnectionError"):
        adapter.count_orders()


@responses.activate
def test_401_means_the_token_no_longer_works_and_is_not_retried(adapter, time):
    responses.add(responses.POST, URL, status=401, json={"errors": "[API] Invalid API key or access token"})

    with pytest.raises(AuthRevoked):
        adapter.count_orders()

    assert len(responses.calls) == 1 and time.slept == []


@responses.activate
def test_a_graphql_error_raises_with_shopifys_message_and_is_not_retried(adapter):
    responses.add(responses.POST, URL, json={"errors": [{"message": "Field 'x' doesn't exist on type 'Order'",
                                                         "extensions": {"code": "undefinedField"}}]})

    with pytest.raises(AdapterError, match="Field 'x' doesn't exist") as raised:
        adapter.count_orders()

    assert not raised.value.transient and len(responses.calls) == 1


@responses.activate
def test_other_client_errors_are_not_retried(adapter):
    responses.add(responses.POST, URL, status=402, json={"errors": "Unavailable Shop"})

    with pytest.raises(AdapterError, match="402: Unavailable Shop"):
        adapter.count_orders()


@responses.activate
def test_the_token_goes_with_each_call_and_never_onto_the_shared_session(adapter):
    responses.add(responses.POST, URL, **answer(available=1200))

    adapter.count_orders()

    request = responses.calls[0].request
    assert request.headers["X-Shopify-Access-Token"] == "shpat_pace"
    assert "X-Shopify-Access-Token" not in adapter._http.headers
    body = json.loads(request.body)
    assert body["operationName"] == "OrdersCount" and body["variables"] == {"query": None, "limit": None}


def test_a_shop_without_a_token_is_revoked_before_any_call(time):
    adapter = ShopifyAdapter(Connection(SHOP, {}), make_session(), sleep=time.sleep, clock=time.clock)

    with pytest.raises(AuthRevoked):
        adapter.count_orders()


def test_the_cost_estimate_follows_shopifys_rules():
    customers = documents.load("customers")
    # a connection costs 2 + first x (1 per customer + 1 for its defaultEmailAddress object), + 1 for pageInfo
    assert estimate_cost(customers, "Customers", {"first": 10}) == 2 + 10 * 2 + 1
    assert estimate_cost(customers, "Customer", {}) == 2
    assert estimate_cost(documents.load("discounts"), "DiscountCodeBasicCreate", {}) >= 10  # a mutation


def test_a_page_of_orders_asks_for_no_more_than_shopifys_per_query_limit():
    orders = documents.load("orders")
    variables = {"lineItemsFirst": 10}

    first = largest_page(orders, "Orders", variables, "first", 250)

    assert 1 <= first < 250
    assert estimate_cost(orders, "Orders", {**variables, "first": first}) <= MAX_QUERY_COST
    assert estimate_cost(orders, "Orders", {**variables, "first": first + 1}) > MAX_QUERY_COST


def test_the_bucket_learns_the_requested_cost_of_each_call_site(time):
    bucket = CostBucket(time.clock)
    bucket.observe("Orders:12", {"requestedQueryCost": 300, "throttleStatus": {
        "maximumAvailable": 1000, "currentlyAvailable": 100, "restoreRate": 50}})

    assert bucket.expected_cost("Orders:12", 900) == 300
    assert bucket.expected_cost("Customers:250", 502) == 502
    assert bucket.delay_for(300) == pytest.approx(4.0)
    assert bucket.delay_for(5000) == pytest.approx(18.0)  # never wait for more than the bucket holds
