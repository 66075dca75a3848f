"""ShopifyAdapter over the GraphQL simulator: what the contract suite does not pin down."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from adapters.base import Connection, CustomerLoyalty, DiscountKind, DiscountSpec, StoreCreditSpec
from adapters.errors import AdapterError, NotFound, PermissionMissing, Transient
from adapters.shopify.adapter import ShopifyAdapter
from plugin.http import make_session
from tests.contract.shopify_simulator import FakeTime, ShopifySimulator
from tests.contract.shopify_store import build_shop

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOP, TOKEN = "adapter-shop.myshopify.com", "shpat_adapter"
ADDRESS = "https://storecare.example.com/webhooks/shopify"


@pytest.fixture
def simulator():
    simulator = ShopifySimulator()
    simulator.add_shop(build_shop(SHOP, TOKEN, seed=3, orders=30, customers=6, id_base=0, now=NOW))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        yield simulator


@pytest.fixture
def adapter(simulator):
    time = FakeTime()
    return ShopifyAdapter(Connection(SHOP, {"access_token": TOKEN}), make_session(),
                          sleep=time.sleep, clock=time.clock)


def operations(simulator) -> list[str]:
    return [call["operationName"] for call in simulator.requests]


def test_subscribing_creates_only_the_missing_topics_at_the_address(adapter, simulator):
    shop = simulator.shops[SHOP]
    shop.subscriptions.append({"n": 900, "id": "gid://shopify/WebhookSubscription/900",
                               "topic": "ORDERS_CREATE", "uri": ADDRESS})
    shop.subscriptions.append({"n": 901, "id": "gid://shopify/WebhookSubscription/901",
                               "topic": "ORDERS_PAID", "uri": "https://old.example.com/webhooks/shopify"})

    created = adapter.subscribe_webhooks(ADDRESS, ["orders/create", "orders/paid", "bulk_operations/finish"])

    assert created == ["orders/paid", "bulk_operations/finish"]
    assert {(s["topic"], s["uri"]) for s in shop.subscriptions if s["uri"] == ADDRESS} == {
        ("ORDERS_CREATE", ADDRESS), ("ORDERS_PAID", ADDRESS), ("BULK_OPERATIONS_FINISH", ADDRESS)}


def test_a_refused_subscription_raises_with_shopifys_message(adapter):
    with pytest.raises(AdapterError, match="Address protocol is not supported"):
        adapter.subscribe_webhooks("http://insecure.example.com/hooks", ["orders/create"])


def test_a_customer_reward_is_created_for_that_customer_only(adapter, simulator):
    spec = DiscountSpec(code="LOYAL-15", kind=DiscountKind.PERCENTAGE, value=Decimal(15),
                        title="Loyalty reward", customer_platform_id="7100000001",
                        ends_at=datetime(2026, 2, 1, tzinfo=UTC))

    created = adapter.create_discount_code(spec)

    stored = simulator.shops[SHOP].discounts["LOYAL-15"]
    assert created.platform_id == stored["id"].rsplit("/", 1)[1]
    assert (created.code, created.kind, created.value) == ("LOYAL-15", DiscountKind.PERCENTAGE, Decimal(15))
    assert created.ends_at == datetime(2026, 2, 1, tzinfo=UTC)
    sent = stored["codeDiscount"]["input"]
    assert sent["context"] == {"customers": {"add": ["gid://shopify/Customer/7100000001"]}}
    assert sent["customerGets"]["value"] == {"percentage": 0.15}


def test_a_retried_reward_returns_the_code_already_created(adapter, simulator):
    spec = DiscountSpec(code="AGAIN-5", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5), title="Five off")
    first = adapter.create_discount_code(spec)

    again = adapter.create_discount_code(spec)

    assert again == first
    assert operations(simulator).count("CodeDiscountByCode") == 1


def test_a_code_that_another_discount_holds_is_refused(adapter):
    def spec(title: str) -> DiscountSpec:
        return DiscountSpec(code="TAKEN", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5), title=title)

    adapter.create_discount_code(spec("Someone else's"))

    with pytest.raises(AdapterError, match="Code must be unique"):
        adapter.create_discount_code(spec("Ours"))


def test_a_free_shipping_reward_uses_its_own_mutation(adapter, simulator):
    spec = DiscountSpec(code="SHIPFREE", kind=DiscountKind.FREE_SHIPPING, value=Decimal(0),
                        title="Free shipping")

    assert adapter.create_discount_code(spec).code == "SHIPFREE"
    stored = simulator.shops[SHOP].discounts["SHIPFREE"]["codeDiscount"]
    assert stored["__typename"] == "DiscountCodeFreeShipping"


def test_an_order_with_more_line_items_than_a_page_carries_gets_the_rest(adapter, simulator):
    big = next(o for o in simulator.shops[SHOP].orders.values() if len(o.lines) > 10)

    listed, cursor = [], None
    while not listed:
        page = adapter.list_orders(cursor=cursor, limit=250)
        listed, cursor = [o for o in page.items if o.platform_id == str(big.id)], page.next_cursor
    fetched = adapter.get_order(str(big.id))

    expected = [str(line.id) for line in big.lines]
    assert [item.platform_id for item in listed[0].line_items] == expected
    assert [item.platform_id for item in fetched.line_items] == expected
    # the page carried 10 and one more call the rest; get_order (100 a request) needed none
    assert operations(simulator).count("OrderLineItems") == 1


def test_a_page_of_orders_asks_for_what_fits_the_cost_limit_and_says_where_to_go_on(adapter, simulator):
    page = adapter.list_orders(limit=250)

    sent = next(call["variables"] for call in simulator.requests if call["operationName"] == "Orders")
    assert sent["first"] == len(page.items) < 250
    assert page.next_cursor is not None


def test_updated_since_is_sent_as_shopify_search_syntax_in_whole_seconds(adapter, simulator):
    adapter.count_orders(updated_since=datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC))

    assert simulator.requests[-1]["variables"] == {"query": "updated_at:>='2026-01-02T03:04:05Z'",
                                                   "limit": None}


def test_a_naive_updated_since_or_a_page_out_of_range_is_the_callers_mistake(adapter):
    with pytest.raises(ValueError):
        adapter.list_orders(updated_since=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        adapter.list_customers(limit=251)


def test_an_id_that_is_not_numeric_is_not_found_without_asking_shopify(adapter, simulator):
    with pytest.raises(NotFound):
        adapter.get_order("gid://shopify/Order/1")

    assert simulator.requests == []


# -- loyalty: store credit once per key, scopes, the customer's tier and balance

def credit_spec(simulator, key: str = "redemption-41", amount: str = "25.00") -> StoreCreditSpec:
    customer = min(simulator.shops[SHOP].customers)
    return StoreCreditSpec(key=key, customer_platform_id=str(customer), amount=Decimal(amount), currency="USD")


def credits_of(simulator, spec: StoreCreditSpec) -> list[dict]:
    return simulator.shops[SHOP].customers[int(spec.customer_platform_id)].store_credit.get("USD", [])


def test_a_credit_whose_answer_was_lost_is_not_made_twice_when_the_caller_tries_again(adapter, simulator):
    spec = credit_spec(simulator)
    simulator.lose_answers["StoreCreditAccountCredit"] = 1  # Shopify credits, the 502 hides it

    with pytest.raises(Transient):
        adapter.issue_store_credit(spec)
    again = adapter.issue_store_credit(spec)

    (made,) = credits_of(simulator, spec)
    assert again.platform_id == made["id"].rsplit("/", 1)[1] and again.balance == Decimal("25.00")
    assert operations(simulator).count("StoreCreditAccountCredit") == 1  # not resent by the client either
    assert adapter.issue_store_credit(spec) == again  # now recorded: no read of credits needed to answer


def test_a_credit_that_never_happened_is_made_on_the_next_try(adapter, simulator):
    spec = credit_spec(simulator)
    customer = simulator.shops[SHOP].customers[int(spec.customer_platform_id)]
    customer.metafields[("app--580111--loyalty", "store_credit_grants")] = {  # an attempt that wrote its key
        "value": '{"grants":{"redemption-41":{"amount":"25.00","currency":"USD","asked_at":"2026-01-15T12:00:00'
                 '+00:00","expires_at":null,"credit":null}}}', "compareDigest": "d1", "type": "json"}

    made = adapter.issue_store_credit(spec)

    assert [c["id"].rsplit("/", 1)[1] for c in credits_of(simulator, spec)] == [made.platform_id]


def test_another_writer_between_our_read_and_our_write_keeps_its_key(adapter, simulator):
    spec = credit_spec(simulator)
    customer = simulator.shops[SHOP].customers[int(spec.customer_platform_id)]
    adapter.issue_store_credit(credit_spec(simulator, key="first", amount="1.00"))
    record = customer.metafields[("app--580111--loyalty", "store_credit_grants")]
    record["compareDigest"] = "changed-by-someone-else"  # our digest no longer matches: re-read and merge

    adapter.issue_store_credit(spec)

    import json
    grants = json.loads(customer.metafields[("app--580111--loyalty", "store_credit_grants")]["value"])["grants"]
    assert set(grants) == {"first", "redemption-41"} and all(g["credit"] for g in grants.values())
    assert len(credits_of(simulator, spec)) == 2


def test_without_the_store_credit_scopes_shopify_refuses_and_names_them(adapter, simulator):
    simulator.shops[SHOP].granted_scopes -= {"write_store_credit_account_transactions", "read_store_credit_accounts",
                                             "read_store_credit_account_transactions"}

    with pytest.raises(PermissionMissing) as missing:
        adapter.issue_store_credit(credit_spec(simulator))

    assert missing.value.scopes and set(missing.value.scopes) <= {
        "write_store_credit_account_transactions", "read_store_credit_accounts",
        "read_store_credit_account_transactions"}
    assert "store_credit" not in " ".join(adapter.granted_scopes())


def test_publishing_writes_only_what_changed(adapter, simulator):
    customer = simulator.shops[SHOP].customers[min(simulator.shops[SHOP].customers)]
    customer.tags = ["VIP", "Loyalty tier: Bronze"]

    adapter.publish_customer_loyalty(str(customer.id), "Silver", 120)
    written = [op for op in operations(simulator) if op != "CustomerLoyalty"]
    simulator.requests.clear()
    adapter.publish_customer_loyalty(str(customer.id), "Silver", Decimal("120.00"))
    adapter.publish_customer_loyalty(str(customer.id), "Silver", 125)

    assert written == ["CustomerTagsRemove", "CustomerTagsAdd", "CustomerLoyaltySet"]
    assert operations(simulator) == ["CustomerLoyalty", "CustomerLoyalty", "CustomerLoyaltySet"]
    assert customer.tags == ["VIP", "Loyalty tier: Silver"]
    assert {k[1]: v["value"] for k, v in customer.metafields.items() if k[0] == "app--580111--loyalty"} == {
        "tier": "Silver", "balance": "125"}
    assert adapter.customer_loyalty(str(customer.id)) == CustomerLoyalty(tier="Silver", balance=Decimal(125))
