"""WooCommerceAdapter beyond the shared contract: paging parameters, several pages in flight with
backoff, webhook reconciliation, coupons and refunds, all against the store simulator."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from adapters.base import DiscountKind, DiscountSpec
from adapters.errors import DiscountRefused, NotFound, RateLimited, Transient
from tests.contract.woocommerce_kit import WooSimulator, adapter_for, build_store


@pytest.fixture
def simulator():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock)


@pytest.fixture
def store(simulator: WooSimulator):
    return simulator.add(build_store("https://shop.woo.test", seed=5, orders=250, customers=12))


def _queries(mock, path: str) -> list[dict]:
    return [parse_qs(urlsplit(call.request.url).query) for call in mock.calls
            if urlsplit(call.request.url).path == path]


class FakeTime:
    """A clock that moves only when slept on; safe to share between threads."""

    def __init__(self):
        self.now, self.slept, self._lock = 0.0, [], threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def test_listing_asks_for_at_most_100_per_page_ordered_by_id(store, simulator):
    page = adapter_for(store).list_orders(limit=250)

    query = _queries(simulator._mock, "/wp-json/wc/v3/orders")[0]
    assert query["per_page"] == ["100"] and query["orderby"] == ["id"] and query["order"] == ["asc"]
    assert len(page.items) == 100 and page.next_cursor is not None


def test_updated_since_is_sent_as_gmt_modified_after_one_second_earlier(store, simulator):
    since = datetime(2025, 6, 1, 16, 30, 15, 500, tzinfo=timezone(timedelta(hours=2)))  # 14:30:15 UTC

    adapter_for(store).list_orders(updated_since=since)

    query = _queries(simulator._mock, "/wp-json/wc/v3/orders")[0]
    assert query["modified_after"] == ["2025-06-01T14:30:14"] and query["dates_are_gmt"] == ["true"]


def test_a_cursor_keeps_its_page_size_and_filter(store):
    adapter = adapter_for(store)
    first = adapter.list_orders(limit=30)

    second = adapter.list_orders(cursor=first.next_cursor, limit=100)  # a changed limit changes nothing

    assert len(second.items) == 30
    assert int(second.items[0].platform_id) == int(first.items[-1].platform_id) + 1
    with pytest.raises(ValueError):
        adapter.list_customers(cursor=first.next_cursor)
    with pytest.raises(ValueError):
        adapter.list_orders(cursor="not-a-cursor")


def test_iter_orders_keeps_several_pages_in_flight_and_yields_them_in_order(store):
    barrier = threading.Barrier(3, timeout=10)  # pages 2..4 must be requested together, or this breaks
    store.before_serve = lambda call: barrier.wait() if store.requests.count(call) in (2, 3, 4) else None

    pages = list(adapter_for(store).iter_orders(pages_in_flight=3, per_page=50))

    ids = [int(o.platform_id) for page in pages for o in page.items]
    assert ids == sorted(store.orders) and len(pages) == 5
    assert [p.next_cursor is None for p in pages] == [False] * 4 + [True]


def test_iter_orders_waits_out_rate_limits_for_every_request_and_surfaces_no_error(store):
    store.throttle_next, store.retry_after = 3, "5"
    fake = FakeTime()

    pages = list(adapter_for(store).iter_orders(pages_in_flight=4, per_page=50, clock=fake.clock,
                                                sleep=fake.sleep))

    assert sum(len(p.items) for p in pages) == 250
    assert fake.slept and all(s <= 5 for s in fake.slept) and fake.now >= 5


def test_iter_orders_backs_off_on_server_errors_then_gives_up(store):
    store.fail_next = 2
    fake = FakeTime()
    assert len(list(adapter_for(store).iter_orders(per_page=100, clock=fake.clock, sleep=fake.sleep))) == 3
    assert fake.slept == [0.5, 1.0]

    store.fail_next = 100
    with pytest.raises(Transient):
        list(adapter_for(store).iter_orders(per_page=100, clock=fake.clock, sleep=fake.sleep))


def test_a_persistent_rate_limit_reaches_the_caller_after_the_attempts(store):
    store.throttle_next, store.retry_after = 100, "1"
    fake = FakeTime()

    with pytest.raises(RateLimited):
        list(adapter_for(store).iter_orders(clock=fake.clock, sleep=fake.sleep))


def test_customers_since_are_filtered_here_reading_on_past_empty_pages(store):
    customers = sorted(store.customers.values(), key=lambda c: c["id"])
    newest = max(customers, key=lambda c: c["date_modified_gmt"] or c["date_created_gmt"])
    since = datetime.fromisoformat(newest["date_modified_gmt"] or newest["date_created_gmt"]).replace(tzinfo=UTC)

    page = adapter_for(store).list_customers(limit=2, updated_since=since)

    assert [c.platform_id for c in page.items] == [str(newest["id"])]


def test_subscribing_creates_missing_webhooks_and_re_enables_disabled_ones(store):
    adapter = adapter_for(store)
    adapter.subscribe_webhooks("https://app.test/webhooks/woocommerce", ["order.created", "order.updated"], "s3cret")
    hook = next(h for h in store.webhooks.values() if h["topic"] == "order.updated")
    hook["status"] = "disabled"  # WooCommerce gave up after five failed deliveries

    result = adapter.reconcile_webhooks("https://app.test/webhooks/woocommerce",
                                        ["orders/create", "orders/updated", "customers/update"], "s3cret")

    assert result.created == ["customers/update"] and result.reenabled == ["orders/updated"]
    assert {h["topic"]: h["status"] for h in store.webhooks.values()} == {
        "order.created": "active", "order.updated": "active", "customer.updated": "active"}
    assert all(h["secret"] == "s3cret" and h["delivery_url"] == "https://app.test/webhooks/woocommerce"
               for h in store.webhooks.values())


def test_a_reconnection_gives_existing_webhooks_the_new_secret(store):
    adapter = adapter_for(store)
    adapter.subscribe_webhooks("https://app.test/w", ["order.created"], "old")

    result = adapter.reconcile_webhooks("https://app.test/w", ["order.created"], "new", reset_secret=True)

    assert result.updated == ["order.created"] and [h["secret"] for h in store.webhooks.values()] == ["new"]
    with pytest.raises(ValueError):
        adapter.subscribe_webhooks("https://app.test/w", ["order.created"], None)


def test_a_customers_code_is_restricted_to_their_email_and_a_retry_returns_the_same_coupon(store):
    customer = next(iter(store.customers.values()))
    spec = DiscountSpec(code="REWARD-5", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5), title="Reward",
                        customer_platform_id=str(customer["id"]))
    adapter = adapter_for(store)

    first = adapter.create_discount_code(spec)
    again = adapter.create_discount_code(spec)

    assert first == again and first.code == "REWARD-5" and first.value == Decimal("5.00")
    (coupon,) = store.coupons.values()
    assert coupon["email_restrictions"] == [customer["email"]] and coupon["code"] == "reward-5"
    with pytest.raises(DiscountRefused) as refused:  # the same code for something else is refused, not reused
        adapter.create_discount_code(DiscountSpec(code="reward-5", kind=DiscountKind.PERCENTAGE,
                                                  value=Decimal(50), title="Other"))
    assert refused.value.reason == DiscountRefused.CODE_TAKEN and "already_exists" in refused.value.detail


def test_refunds_come_with_their_own_dates_and_counts_use_x_wp_total(store):
    refunded = next(o for o in store.orders.values() if o["refunds"])
    adapter = adapter_for(store)

    refunds = adapter.list_refunds(str(refunded["id"]))

    assert [r.platform_id for r in refunds] == [str(r["id"]) for r in refunded["refunds"]]
    assert all(r.created_at.tzinfo is not None for r in refunds)
    assert adapter.count_orders() == 250


@pytest.mark.parametrize("bad_id", ["../customers", "1/refunds", "-1", "", " "])
def test_ids_that_are_not_numbers_never_reach_a_url(store, bad_id):
    with pytest.raises(NotFound):
        adapter_for(store).get_order(bad_id)
    assert store.requests == []


def test_the_plugins_connection_route_is_read_with_the_keys_or_is_absent(store):
    adapter = adapter_for(store)
    assert adapter.plugin_connection() is None

    store.plugin_connection = {"storefront_secret": "x" * 64}

    assert adapter.plugin_connection() == {"storefront_secret": "x" * 64}
    assert json.loads(json.dumps(adapter.store_info().__dict__))["currency"] == "USD"


def test_the_tier_and_balance_are_customer_meta_written_only_when_they_change(store, simulator):
    customer = next(iter(store.customers.values()))
    adapter = adapter_for(store)

    adapter.publish_customer_loyalty(str(customer["id"]), "Gold", Decimal("120.5"))
    adapter.publish_customer_loyalty(str(customer["id"]), "Gold", Decimal("120.50"))

    assert [r for r in store.requests if r.startswith("PUT")] == [f"PUT /wp-json/wc/v3/customers/{customer['id']}"]
    assert {m["key"]: m["value"] for m in customer["meta_data"]} == {
        "storecare_loyalty_tier": "Gold", "storecare_loyalty_balance": "120.5"}
    assert store.queued == [("customer.updated", customer["id"])]  # WooCommerce tells every webhook once
