"""Shopify's two shapes (REST webhook bodies, GraphQL nodes) map to the same neutral DTOs."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import DiscountClass, DiscountKind, DiscountSpec, FinancialStatus, FulfillmentStatus
from adapters.errors import InvalidPayload
from adapters.shopify import mapping

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify"


def webhook(name: str) -> dict:
    return json.loads((FIXTURES / "webhooks" / f"{name}.json").read_text())


def graphql_order() -> dict:
    return json.loads((FIXTURES / "graphql" / "order.json").read_text())["data"]["order"]


def test_an_order_created_webhook_maps_every_field():
    order = mapping.order_from_rest(webhook("orders-create"))

    assert (order.platform_id, order.number, order.currency) == ("6143519162681", "1042", "PLN")
    assert (order.total, order.subtotal, order.total_tax, order.total_discounts) == (
        Decimal("430.00"), Decimal("407.20"), Decimal("76.14"), Decimal("39.80"))
    assert order.created_at == datetime(2026, 3, 4, 9, 15, 42, tzinfo=UTC)
    assert order.paid_at == order.created_at
    assert order.financial_status is FinancialStatus.PAID
    assert order.fulfillment_status is FulfillmentStatus.UNFULFILLED
    assert order.discount_codes == ("SPRING10",) and order.refunds == () and order.fulfilled_at is None
    shirt, mug = order.line_items
    assert (shirt.platform_id, shirt.title, shirt.quantity, shirt.unit_price) == (
        "15437789217081", "Linen shirt", 2, Decimal("199.00"))
    assert (shirt.sku, shirt.product_id) == ("LS-SAND-M", "9012345678905")
    assert shirt.line_total == Decimal("358.20")  # 2 x 199.00 less the 39.80 discount allocation
    assert mug.sku is None and mug.line_total == Decimal("49.00")
    customer = order.customer
    assert (customer.platform_id, customer.email, customer.first_name) == (
        "7829135671353", "ewa.kowalska@example.com", "Ewa")
    assert customer.accepts_marketing is True and customer.locale == "pl"


def test_a_refund_is_the_money_its_successful_refund_transactions_returned_in_shop_currency():
    order = mapping.order_from_rest(webhook("orders-updated"))

    (refund,) = order.refunds
    # 17.95 EUR at the order's own 430.00 PLN / 107.50 EUR; the failed attempt and the 49.00 line subtotal
    # (which leaves out the refunded shipping) do not count.
    assert refund.amount == Decimal("71.80")
    assert (refund.platform_id, refund.reason, refund.created_at) == (
        "1032487673913", "Mug arrived chipped", datetime(2026, 3, 9, 15, 2, 9, tzinfo=UTC))
    assert order.financial_status is FinancialStatus.PARTIALLY_REFUNDED
    assert order.fulfillment_status is FulfillmentStatus.FULFILLED
    assert order.fulfilled_at == datetime(2026, 3, 5, 8, 30, tzinfo=UTC)


def test_the_same_order_reads_the_same_from_its_webhook_and_from_graphql():
    assert mapping.order_from_rest(webhook("orders-updated")) == mapping.order_from_graphql(graphql_order())


def test_a_refund_in_the_shop_currency_is_taken_as_it_is():
    payload = webhook("orders-updated")
    for transaction in payload["refunds"][0]["transactions"]:
        transaction["amount"], transaction["currency"] = "71.80", "PLN"

    assert mapping.order_from_rest(payload).refunds[0].amount == Decimal("71.80")


def test_a_customer_webhook_without_marketing_consent_reads_as_not_subscribed():
    customer = mapping.customer_from_rest(webhook("customers-create"))

    assert (customer.platform_id, customer.email, customer.last_name) == (
        "7829135671353", "ewa.kowalska@example.com", "Kowalska")
    assert customer.accepts_marketing is False and customer.locale is None and customer.birthday is None
    assert customer.created_at == datetime(2025, 11, 20, 17, 4, 11, tzinfo=UTC)


def test_a_refund_webhook_names_its_order():
    assert mapping.refund_order_id(webhook("refunds-create")) == "6143519162681"


@pytest.mark.parametrize(("rest", "graphql", "expected"), [
    ("pending", "PENDING", FinancialStatus.PENDING),
    ("authorized", "AUTHORIZED", FinancialStatus.AUTHORIZED),
    ("partially_paid", "PARTIALLY_PAID", FinancialStatus.PENDING),
    ("paid", "PAID", FinancialStatus.PAID),
    ("partially_refunded", "PARTIALLY_REFUNDED", FinancialStatus.PARTIALLY_REFUNDED),
    ("refunded", "REFUNDED", FinancialStatus.REFUNDED),
    ("voided", "VOIDED", FinancialStatus.VOIDED),
    ("expired", "EXPIRED", FinancialStatus.VOIDED),
    (None, None, FinancialStatus.PENDING),
])
def test_financial_statuses_map_alike_from_both_shapes(rest, graphql, expected):
    payload, node = webhook("orders-create"), graphql_order()
    payload["financial_status"], node["displayFinancialStatus"] = rest, graphql

    assert mapping.order_from_rest(payload).financial_status is expected
    assert mapping.order_from_graphql(node).financial_status is expected


@pytest.mark.parametrize(("rest", "graphql", "expected"), [
    (None, "UNFULFILLED", FulfillmentStatus.UNFULFILLED),
    ("partial", "PARTIALLY_FULFILLED", FulfillmentStatus.PARTIAL),
    ("fulfilled", "FULFILLED", FulfillmentStatus.FULFILLED),
    ("restocked", "RESTOCKED", FulfillmentStatus.UNFULFILLED),
    (None, "ON_HOLD", FulfillmentStatus.UNFULFILLED),
    (None, "FULFILLMENT_NOT_REQUIRED", FulfillmentStatus.UNFULFILLED),
])
def test_fulfillment_statuses_map_alike_from_both_shapes(rest, graphql, expected):
    payload, node = webhook("orders-create"), graphql_order()
    payload["fulfillment_status"], node["displayFulfillmentStatus"] = rest, graphql

    assert mapping.order_from_rest(payload).fulfillment_status is expected
    assert mapping.order_from_graphql(node).fulfillment_status is expected


def test_a_cancelled_order_keeps_its_reason_in_lower_case_from_graphql():
    node = graphql_order()
    node["cancelledAt"], node["cancelReason"] = "2026-03-05T10:00:00Z", "CUSTOMER"

    order = mapping.order_from_graphql(node)

    assert (order.cancelled_at, order.cancel_reason) == (datetime(2026, 3, 5, 10, tzinfo=UTC), "customer")


def test_a_guest_order_has_no_customer_but_keeps_its_email():
    node = graphql_order()
    node["customer"] = None

    order = mapping.order_from_graphql(node)

    assert order.customer is None and order.email == "ewa.kowalska@example.com"


def test_line_items_fetched_apart_replace_the_nodes_inline():
    node = graphql_order()
    items = node.pop("lineItems")["nodes"]

    (only,) = mapping.order_from_graphql(node, line_items=items[:1]).line_items
    assert only.platform_id == "15437789217081"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("total_price", "12,50", "total_price is not a money amount"),
    ("created_at", "2026-03-04 10:15", "created_at has no timezone"),
    ("id", "abc", "is not a Shopify Order id"),
    ("financial_status", "settled", "unknown financial status"),
    ("name", "", "name is missing"),
])
def test_an_unreadable_order_payload_is_invalid_naming_the_field(field, value, message):
    payload = webhook("orders-create")
    payload[field] = value

    with pytest.raises(InvalidPayload, match=message):
        mapping.order_from_rest(payload)


def test_a_line_item_with_a_negative_quantity_is_invalid():
    node = copy.deepcopy(graphql_order())
    node["lineItems"]["nodes"][0]["quantity"] = -1

    with pytest.raises(InvalidPayload, match="quantity"):
        mapping.order_from_graphql(node)


def test_gids_are_built_only_from_numeric_ids():
    assert mapping.gid("Order", " 42 ") == "gid://shopify/Order/42"
    with pytest.raises(ValueError):
        mapping.gid("Order", "gid://shopify/Order/42")
    assert mapping.numeric_id("gid://shopify/Customer/7?x=1", "Customer", "test") == "7"
    with pytest.raises(InvalidPayload):
        mapping.numeric_id("gid://shopify/Order/7", "Customer", "test")


def test_a_percentage_reward_for_one_customer_becomes_a_basic_code_limited_to_that_customer():
    warsaw = timezone(timedelta(hours=2))
    spec = DiscountSpec(code="THANKS-10", kind=DiscountKind.PERCENTAGE, value=Decimal(10), title="Thank you",
                        customer_platform_id="7829135671353", ends_at=datetime(2026, 4, 1, 2, tzinfo=warsaw),
                        minimum_subtotal=Decimal(50))

    operation, data = mapping.discount_input(spec, datetime(2026, 3, 10, tzinfo=UTC))

    assert operation == "DiscountCodeBasicCreate"
    assert data["customerGets"] == {"value": {"percentage": 0.1}, "items": {"all": True}}
    assert data["context"] == {"customers": {"add": ["gid://shopify/Customer/7829135671353"]}}
    assert (data["startsAt"], data["endsAt"]) == ("2026-03-10T00:00:00Z", "2026-04-01T00:00:00Z")
    assert data["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "50"}}
    assert (data["usageLimit"], data["appliesOncePerCustomer"], data["code"]) == (1, True, "THANKS-10")


def test_an_amount_reward_and_a_free_shipping_reward():
    amount = DiscountSpec(code="FIVE", kind=DiscountKind.FIXED_AMOUNT, value=Decimal("5.00"),
                          title="Five off")
    shipping = DiscountSpec(code="SHIP", kind=DiscountKind.FREE_SHIPPING, value=Decimal(0),
                            title="Free shipping")
    now = datetime(2026, 3, 10, tzinfo=UTC)

    assert mapping.discount_input(amount, now)[1]["customerGets"]["value"] == {
        "discountAmount": {"amount": "5.00", "appliesOnEachItem": False}}
    assert mapping.discount_input(amount, now)[1]["context"] == {"all": "ALL"}
    operation, data = mapping.discount_input(shipping, now)
    assert operation == "DiscountCodeFreeShippingCreate"
    assert data["destination"] == {"all": True} and "customerGets" not in data


def test_a_free_product_a_capped_free_shipping_and_combinability_as_shopify_takes_them():
    now = datetime(2026, 3, 10, tzinfo=UTC)
    free = DiscountSpec(code="MUG", kind=DiscountKind.FREE_PRODUCT, value=Decimal(0), title="A free mug",
                        product_ids=("8800000004",), combines_with=frozenset({DiscountClass.SHIPPING}))
    shipping = DiscountSpec(code="SHIP", kind=DiscountKind.FREE_SHIPPING, value=Decimal(0), title="Shipping",
                            shipping_cap=Decimal("15.00"))
    collection = DiscountSpec(code="TEA", kind=DiscountKind.PERCENTAGE, value=Decimal("12.5"), title="Tea",
                              collection_ids=("4400000001",))

    operation, data = mapping.discount_input(free, now)
    assert operation == "DiscountCodeBasicCreate"
    assert data["customerGets"] == {"value": {"percentage": 1.0},
                                    "items": {"products": {"productsToAdd": ["gid://shopify/Product/8800000004"]}}}
    assert data["combinesWith"] == {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True}
    assert mapping.discount_input(shipping, now)[1]["maximumShippingPrice"] == "15.00"
    assert mapping.discount_input(shipping, now)[1]["combinesWith"] == {
        "orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": False}
    assert mapping.discount_input(collection, now)[1]["customerGets"] == {
        "value": {"percentage": 0.125}, "items": {"collections": {"add": ["gid://shopify/Collection/4400000001"]}}}


@pytest.mark.parametrize("errors, reason", [
    ([{"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}], "code_taken"),
    ([{"field": ["basicCodeDiscount", "context", "customers", "add"], "code": "INVALID", "message": "x"}],
     "customer_not_found"),
    ([{"field": ["basicCodeDiscount", "customerGets", "items", "products", "productsToAdd"], "code": "INVALID",
       "message": "x"}], "product_not_found"),
    ([{"field": ["basicCodeDiscount", "endsAt"], "code": "INVALID", "message": "x"}], "invalid"),
])
def test_shopifys_refusal_of_a_code_is_told_in_the_shoppers_terms(errors, reason):
    assert mapping.discount_refusal(errors) == reason


def test_a_naive_discount_time_is_refused():
    spec = DiscountSpec(code="X", kind=DiscountKind.PERCENTAGE, value=Decimal(5), title="X",
                        ends_at=datetime(2026, 4, 1))

    with pytest.raises(ValueError, match="timezone"):
        mapping.discount_input(spec, datetime(2026, 3, 10, tzinfo=UTC))
