"""The contract every PlatformAdapter keeps, run against each platform's kit (see conftest.py)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.base import (
    Capability,
    Customer,
    CustomerLoyalty,
    DiscountClass,
    DiscountCode,
    DiscountKind,
    DiscountSpec,
    FinancialStatus,
    Order,
    Page,
    Platform,
    PlatformAdapter,
    StoreCredit,
    StoreCreditSpec,
    WebhookAction,
    WebhookCheck,
    WebhookState,
)
from adapters.errors import (
    AdapterError,
    AuthRevoked,
    DiscountRefused,
    InvalidPayload,
    NotFound,
    StoreCreditRefused,
    Transient,
    Unsupported,
)

SMALL_PAGE = 7
MAX_PAGES = 1_000


def collect(list_page, **options) -> list:
    """Every item of a paged listing, following cursors to the last page."""
    items, cursor = [], None
    for _ in range(MAX_PAGES):
        page = list_page(cursor=cursor, **options)
        assert isinstance(page, Page)
        items.extend(page.items)
        if page.is_last:
            return items
        assert page.items, "a page before the last one must not be empty"
        cursor = page.next_cursor
    pytest.fail("paging did not reach a last page")


def ids(items) -> list[str]:
    return [item.platform_id for item in items]


def test_adapter_implements_the_protocol(kit):
    assert isinstance(kit.adapter, PlatformAdapter)
    assert kit.adapter.platform in set(Platform)


def test_paging_through_orders_yields_each_order_exactly_once_and_matches_the_count(kit):
    orders = collect(kit.adapter.list_orders, limit=SMALL_PAGE)

    assert len(orders) > 2 * SMALL_PAGE, "the kit's shop must span several pages"
    assert len(set(ids(orders))) == len(orders)
    assert len(orders) == kit.adapter.count_orders()
    assert all(isinstance(order, Order) for order in orders)


def test_paging_through_customers_yields_each_customer_exactly_once(kit):
    small_pages = collect(kit.adapter.list_customers, limit=SMALL_PAGE)
    large_pages = collect(kit.adapter.list_customers, limit=250)

    assert len(small_pages) > SMALL_PAGE
    assert len(set(ids(small_pages))) == len(small_pages)
    assert sorted(ids(small_pages)) == sorted(ids(large_pages))
    assert all(isinstance(customer, Customer) for customer in small_pages)


def test_order_ids_are_the_ids_of_the_orders_listed(kit):
    orders = collect(kit.adapter.list_orders, limit=250)

    listed = collect(kit.adapter.list_order_ids, limit=SMALL_PAGE)

    assert all(isinstance(order_id, str) for order_id in listed)
    assert sorted(listed) == sorted(ids(orders)) and len(set(listed)) == len(listed)


def test_a_deleted_order_is_neither_listed_nor_counted_nor_found(kit):
    orders = collect(kit.adapter.list_orders, limit=250)
    deleted = orders[len(orders) // 2].platform_id

    kit.delete_order(deleted)

    assert deleted not in ids(collect(kit.adapter.list_orders, limit=250))
    assert deleted not in collect(kit.adapter.list_order_ids, limit=250)
    assert kit.adapter.count_orders() == len(orders) - 1
    with pytest.raises(NotFound):
        kit.adapter.get_order(deleted)


def test_updated_since_lists_and_counts_exactly_the_orders_updated_at_or_after_it(kit):
    orders = collect(kit.adapter.list_orders, limit=250)
    cutoff = sorted(order.updated_at for order in orders)[len(orders) // 2]
    expected = {order.platform_id for order in orders if order.updated_at >= cutoff}

    recent = collect(kit.adapter.list_orders, limit=SMALL_PAGE, updated_since=cutoff)

    assert 0 < len(recent) < len(orders)
    assert sorted(ids(recent)) == sorted(expected)
    assert kit.adapter.count_orders(updated_since=cutoff) == len(expected)


def test_updated_since_lists_exactly_the_customers_updated_at_or_after_it(kit):
    customers = collect(kit.adapter.list_customers, limit=250)
    cutoff = sorted(customer.updated_at for customer in customers)[len(customers) // 2]

    recent = collect(kit.adapter.list_customers, limit=SMALL_PAGE, updated_since=cutoff)

    assert 0 < len(recent) < len(customers)
    assert sorted(ids(recent)) == sorted(c.platform_id for c in customers if c.updated_at >= cutoff)


def test_get_order_returns_what_the_listing_returned(kit):
    orders = collect(kit.adapter.list_orders, limit=250)
    refunded = [o for o in orders if o.refunds][:2]
    guests = [o for o in orders if o.customer is None][:1]
    samples = [orders[0], orders[-1], *refunded, *guests]

    for listed in samples:
        assert kit.adapter.get_order(listed.platform_id) == listed


def test_get_customer_returns_what_the_listing_returned(kit):
    customers = collect(kit.adapter.list_customers, limit=250)

    for listed in (customers[0], customers[-1]):
        assert kit.adapter.get_customer(listed.platform_id) == listed


@pytest.mark.parametrize("missing_id", ["999999999999999", "0", "not-an-id"])
def test_an_unknown_id_is_not_found(kit, missing_id):
    with pytest.raises(NotFound):
        kit.adapter.get_order(missing_id)
    with pytest.raises(NotFound):
        kit.adapter.get_customer(missing_id)


def test_another_shops_records_are_not_found(kit):
    with pytest.raises(NotFound):
        kit.adapter.get_order(kit.other_shop_order_id)
    with pytest.raises(NotFound):
        kit.adapter.get_customer(kit.other_shop_customer_id)
    assert kit.other_shop_order_id not in ids(collect(kit.adapter.list_orders, limit=250))


def _assert_aware(*moments: datetime | None) -> None:
    for moment in moments:
        assert moment is None or (isinstance(moment, datetime) and moment.utcoffset() is not None)


def test_every_order_has_decimal_money_aware_times_and_consistent_refunds(kit):
    for order in collect(kit.adapter.list_orders, limit=250):
        amounts = (order.total, order.subtotal, order.total_discounts, order.total_tax, order.total_refunded,
                   *(line.unit_price for line in order.line_items), *(r.amount for r in order.refunds))
        for amount in amounts:
            assert isinstance(amount, Decimal), order.platform_id
        _assert_aware(order.created_at, order.updated_at, order.paid_at, order.cancelled_at, order.closed_at,
                      order.fulfilled_at, *(r.created_at for r in order.refunds))
        assert order.created_at <= order.updated_at
        assert Decimal(0) <= order.total_refunded <= order.total
        if order.financial_status is FinancialStatus.REFUNDED:
            assert order.total_refunded == order.total
        if order.financial_status is FinancialStatus.PARTIALLY_REFUNDED:
            assert Decimal(0) < order.total_refunded < order.total
        if order.customer is not None:
            _assert_aware(order.customer.created_at, order.customer.updated_at)


def test_an_order_read_from_its_webhook_equals_the_order_fetched(kit):
    order = collect(kit.adapter.list_orders, limit=250)[-1]
    headers, body = kit.order_webhook(order.platform_id)
    adapter_type = type(kit.adapter)

    envelope = adapter_type.read_webhook(headers, body)

    assert envelope.shop_domain == kit.shop_domain
    # the delivery id is the inbox's dedupe key (webhook_deliveries.delivery_id): the same for the same
    # delivery, and it fits the column
    assert envelope.delivery_id == adapter_type.read_webhook(headers, body).delivery_id
    assert adapter_type.read_webhook_headers(headers).delivery_id in envelope.delivery_id
    assert 0 < len(envelope.delivery_id) <= 128
    assert adapter_type.order_from_payload(envelope.payload) == kit.adapter.get_order(order.platform_id)
    # the inbox hands over the headers it has read already: the envelope is the same
    assert adapter_type.read_webhook({}, body, adapter_type.read_webhook_headers(headers)) == envelope


def test_a_webhook_without_headers_or_with_a_body_that_is_not_an_object_is_invalid(kit):
    headers, _ = kit.order_webhook(collect(kit.adapter.list_orders, limit=250)[0].platform_id)
    adapter_type = type(kit.adapter)

    with pytest.raises(InvalidPayload):
        adapter_type.read_webhook_headers({})
    with pytest.raises(InvalidPayload):
        adapter_type.read_webhook(headers, b"[1, 2]")
    with pytest.raises(InvalidPayload):
        adapter_type.read_webhook(headers, b"not json")


def test_subscribing_to_webhooks_twice_creates_nothing_the_second_time(kit):
    topics = list(kit.webhook_topics)

    first = kit.adapter.subscribe_webhooks(kit.webhook_address, topics, kit.webhook_secret)
    second = kit.adapter.subscribe_webhooks(kit.webhook_address, topics, kit.webhook_secret)

    assert sorted(first) == sorted(topics)
    assert second == []


def test_ensuring_webhooks_says_per_topic_what_it_found_and_did(kit):
    topics = list(kit.webhook_topics)

    first = kit.adapter.ensure_webhooks(kit.webhook_address, topics, kit.webhook_secret)
    second = kit.adapter.ensure_webhooks(kit.webhook_address, topics, kit.webhook_secret)

    assert all(isinstance(check, WebhookCheck) for check in first + second)
    assert [(c.topic, c.found, c.action) for c in first] == [
        (topic, WebhookState.MISSING, WebhookAction.CREATED) for topic in topics]
    assert [(c.topic, c.found, c.action) for c in second] == [
        (topic, WebhookState.ACTIVE, WebhookAction.NONE) for topic in topics]


def test_creating_a_discount_code_returns_it(kit):
    spec = DiscountSpec(code="CONTRACT-TEN", kind=DiscountKind.PERCENTAGE, value=Decimal(10),
                        title="Contract test reward")

    created = kit.adapter.create_discount_code(spec)

    assert isinstance(created, DiscountCode)
    assert (created.code, created.kind, created.value) == (spec.code, spec.kind, spec.value)
    assert created.platform_id


def test_a_transient_platform_failure_surfaces_as_transient(kit):
    adapter = kit.failing_adapter()

    with pytest.raises(Transient) as raised:
        adapter.list_orders()

    assert isinstance(raised.value, AdapterError) and raised.value.transient


def test_revoked_credentials_surface_as_auth_revoked(kit):
    with pytest.raises(AuthRevoked):
        kit.revoked_adapter().list_orders()


# -- loyalty: reward codes, store credit, the customer's tier and balance, codes on orders

def a_customer(kit) -> Customer:
    return next(c for c in collect(kit.adapter.list_customers, limit=250) if c.email)


def reward_specs(kit, customer_id: str) -> list[DiscountSpec]:
    """One code of each kind a reward can be, for ``customer_id``, single use, ending in a month."""
    common = {"title": "Contract reward", "customer_platform_id": customer_id,
              "ends_at": datetime(2031, 2, 1, tzinfo=UTC)}
    return [
        DiscountSpec(code="CT-PCT", kind=DiscountKind.PERCENTAGE, value=Decimal("12.5"),
                     product_ids=(kit.product_id,), **common),
        DiscountSpec(code="CT-AMOUNT", kind=DiscountKind.FIXED_AMOUNT, value=Decimal("20.00"),
                     minimum_subtotal=Decimal("50.00"), combines_with=frozenset({DiscountClass.SHIPPING}), **common),
        DiscountSpec(code="CT-SHIP", kind=DiscountKind.FREE_SHIPPING, value=Decimal(0), **common),
        DiscountSpec(code="CT-FREE", kind=DiscountKind.FREE_PRODUCT, value=Decimal(0),
                     product_ids=(kit.product_id,), **common),
    ]


def test_every_kind_of_reward_code_is_created_and_a_retry_returns_the_same_code(kit):
    customer = a_customer(kit)

    for spec in reward_specs(kit, customer.platform_id):
        created = kit.adapter.create_discount_code(spec)
        again = kit.adapter.create_discount_code(spec)

        assert isinstance(created, DiscountCode) and created.platform_id, spec.kind
        assert (created.code, created.kind) == (spec.code, spec.kind)
        assert created.ends_at == spec.ends_at
        assert again == created, f"a retried {spec.kind} code must be the code already created"


def test_a_code_held_by_another_reward_is_refused_with_words_for_the_shopper(kit):
    customer = a_customer(kit)
    first = DiscountSpec(code="CT-HELD", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5), title="One reward",
                         customer_platform_id=customer.platform_id)
    kit.adapter.create_discount_code(first)

    with pytest.raises(DiscountRefused) as refused:
        kit.adapter.create_discount_code(DiscountSpec(code="ct-held", kind=DiscountKind.PERCENTAGE,
                                                      value=Decimal(50), title="Another reward"))

    assert refused.value.reason == DiscountRefused.CODE_TAKEN
    assert refused.value.message == DiscountRefused.MESSAGES[DiscountRefused.CODE_TAKEN]


@pytest.mark.parametrize("wrong, reason", [("customer", DiscountRefused.CUSTOMER_NOT_FOUND),
                                           ("product", DiscountRefused.PRODUCT_NOT_FOUND)])
def test_a_reward_for_a_customer_or_product_the_shop_does_not_have_is_refused(kit, wrong, reason):
    customer = "999999999" if wrong == "customer" else a_customer(kit).platform_id
    product = "999999999" if wrong == "product" else kit.product_id

    with pytest.raises(DiscountRefused) as refused:
        kit.adapter.create_discount_code(DiscountSpec(code="CT-WRONG", kind=DiscountKind.FREE_PRODUCT,
                                                      value=Decimal(0), title="Reward",
                                                      customer_platform_id=customer, product_ids=(product,)))

    assert refused.value.reason == reason and refused.value.message


def test_the_platform_says_what_it_can_do_and_refuses_the_rest_as_unsupported(kit):
    adapter, customer = kit.adapter, a_customer(kit)
    attempts = {
        Capability.STORE_CREDIT: lambda: adapter.issue_store_credit(StoreCreditSpec(
            key="ct-capability", customer_platform_id=customer.platform_id, amount=Decimal("5.00"),
            currency=kit.currency)),
        Capability.FREE_SHIPPING_CAP: lambda: adapter.create_discount_code(DiscountSpec(
            code="CT-CAP", kind=DiscountKind.FREE_SHIPPING, value=Decimal(0), title="Capped shipping",
            shipping_cap=Decimal("15.00"))),
        Capability.COLLECTION_RESTRICTIONS: lambda: adapter.create_discount_code(DiscountSpec(
            code="CT-COLLECTION", kind=DiscountKind.PERCENTAGE, value=Decimal(10), title="Collection reward",
            collection_ids=("4400000001",))),
        Capability.EMAIL_RESTRICTED_CODES: lambda: adapter.create_discount_code(DiscountSpec(
            code="CT-GUEST", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5), title="A guest's reward",
            customer_email="guest.friend@example.com")),
    }

    assert set(attempts) == set(Capability)
    for capability, attempt in attempts.items():
        if adapter.supports(capability):
            assert attempt() is not None
        else:
            with pytest.raises(Unsupported) as unsupported:
                attempt()
            assert unsupported.value.capability == capability and unsupported.value.message
    with pytest.raises(ValueError):
        adapter.supports("teleportation")


def test_store_credit_is_credited_once_per_key_in_the_shops_currency(kit):
    if not kit.adapter.supports(Capability.STORE_CREDIT):
        with pytest.raises(Unsupported):
            kit.adapter.issue_store_credit(StoreCreditSpec(key="ct-1", customer_platform_id="1",
                                                           amount=Decimal(1), currency=kit.currency))
        return
    customer = a_customer(kit)
    spec = StoreCreditSpec(key="ct-redemption-1", customer_platform_id=customer.platform_id,
                           amount=Decimal("15.00"), currency=kit.currency,
                           expires_at=datetime(2031, 1, 1, tzinfo=UTC))

    first = kit.adapter.issue_store_credit(spec)
    again = kit.adapter.issue_store_credit(spec)
    second = kit.adapter.issue_store_credit(StoreCreditSpec(key="ct-redemption-2",
                                                            customer_platform_id=customer.platform_id,
                                                            amount=Decimal("2.50"), currency=kit.currency))

    assert isinstance(first, StoreCredit) and first.platform_id
    assert (first.amount, first.currency, first.balance, first.expires_at) == (
        Decimal("15.00"), kit.currency, Decimal("15.00"), spec.expires_at)
    assert again == first
    assert second.balance == Decimal("17.50") and second.platform_id != first.platform_id
    other_currency = "EUR" if kit.currency != "EUR" else "USD"
    with pytest.raises(StoreCreditRefused) as refused:
        kit.adapter.issue_store_credit(StoreCreditSpec(key="ct-redemption-3", customer_platform_id=customer.platform_id,
                                                       amount=Decimal(1), currency=other_currency))
    assert refused.value.reason == StoreCreditRefused.CURRENCY
    with pytest.raises(StoreCreditRefused) as refused:
        kit.adapter.issue_store_credit(StoreCreditSpec(key="ct-redemption-4", customer_platform_id="999999999",
                                                       amount=Decimal(1), currency=kit.currency))
    assert refused.value.reason == StoreCreditRefused.CUSTOMER_NOT_FOUND


def test_the_customers_tier_and_balance_are_published_and_a_new_tier_replaces_the_old(kit):
    customer = a_customer(kit)

    assert kit.adapter.customer_loyalty(customer.platform_id) == CustomerLoyalty(tier=None, balance=None)
    first = kit.adapter.publish_customer_loyalty(customer.platform_id, "Silver", 120)
    assert first == CustomerLoyalty(tier="Silver", balance=Decimal(120))
    assert kit.adapter.customer_loyalty(customer.platform_id) == first

    kit.adapter.publish_customer_loyalty(customer.platform_id, "Gold", Decimal("80.5"))
    assert kit.adapter.customer_loyalty(customer.platform_id) == CustomerLoyalty(tier="Gold", balance=Decimal("80.5"))

    kit.adapter.publish_customer_loyalty(customer.platform_id, None, 0)
    assert kit.adapter.customer_loyalty(customer.platform_id) == CustomerLoyalty(tier=None, balance=Decimal(0))
    with pytest.raises(NotFound):
        kit.adapter.customer_loyalty(kit.other_shop_customer_id)


def test_an_order_that_used_a_reward_code_carries_it(kit):
    customer = a_customer(kit)
    spec = DiscountSpec(code="CT-USED-7Q", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5), title="Reward",
                        customer_platform_id=customer.platform_id)
    kit.adapter.create_discount_code(spec)

    order_id = kit.order_with_code(spec.code, customer.platform_id)

    fetched = kit.adapter.get_order(order_id)
    listed = next(o for o in collect(kit.adapter.list_orders, limit=250) if o.platform_id == order_id)
    assert fetched.uses_discount_code("ct-used-7q") and fetched.uses_discount_code(spec.code)
    assert listed.discount_codes == fetched.discount_codes and not fetched.uses_discount_code("CT-USED")
