"""WooCommerce JSON -> neutral DTOs, from the official example payloads (tests/fixtures/woocommerce)."""
from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.base import DiscountClass, DiscountKind, DiscountSpec, FinancialStatus, FulfillmentStatus
from adapters.errors import InvalidPayload
from adapters.woocommerce import mapping
from tests.contract.woocommerce_kit import fixture


@pytest.fixture
def order() -> dict:
    return copy.deepcopy(fixture("order"))


def test_the_example_order_maps_money_as_decimal_and_gmt_times_as_utc(order):
    dto = mapping.order_from_payload(order)

    assert (dto.platform_id, dto.number, dto.currency) == ("727", "727", "USD")
    assert dto.total == Decimal("29.35") and dto.total_tax == Decimal("1.35")
    assert dto.subtotal == Decimal("18.00")  # line totals, before shipping and tax
    assert dto.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)  # date_created_gmt, not local
    assert dto.paid_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert (dto.financial_status, dto.fulfillment_status) == (FinancialStatus.PAID, FulfillmentStatus.UNFULFILLED)


def test_a_guest_order_has_no_customer_and_the_billing_email(order):
    dto = mapping.order_from_payload(order)

    assert order["customer_id"] == 0
    assert dto.customer is None and dto.email == "john.doe@example.com"


def test_a_registered_customers_order_names_the_customer(order):
    order["customer_id"] = 25

    dto = mapping.order_from_payload(order)

    assert dto.customer is not None and dto.customer.platform_id == "25"
    assert (dto.customer.email, dto.customer.first_name) == ("john.doe@example.com", "John")


def test_line_items_have_exact_unit_prices_and_readable_titles(order):
    order["line_items"][0].update(quantity=3, subtotal="10.00", total="9.00", price=3.3333333333333335)

    first, second = mapping.order_from_payload(order).line_items

    assert first.unit_price == Decimal("3.33") and first.line_total == Decimal("9.00")
    assert second.title == "Ship Your Idea – Color: Black, Size: M Test"  # &ndash; unescaped
    assert (second.sku, second.product_id) == ("Bar3", "22")


@pytest.mark.parametrize(("status", "paid", "financial", "fulfillment"), [
    ("pending", False, FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),
    ("on-hold", False, FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),
    ("failed", False, FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),
    ("processing", True, FinancialStatus.PAID, FulfillmentStatus.UNFULFILLED),
    ("completed", True, FinancialStatus.PAID, FulfillmentStatus.FULFILLED),
    ("cancelled", False, FinancialStatus.VOIDED, FulfillmentStatus.UNFULFILLED),
    ("refunded", True, FinancialStatus.REFUNDED, FulfillmentStatus.UNFULFILLED),
    ("shipped", True, FinancialStatus.PAID, FulfillmentStatus.UNFULFILLED),  # a plugin's status, paid
    ("awaiting-proof", False, FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),  # a plugin's, unpaid
])
def test_statuses_map_to_neutral_payment_and_fulfilment(order, status, paid, financial, fulfillment):
    order["status"] = status
    if not paid:
        order["date_paid_gmt"] = None

    dto = mapping.order_from_payload(order)

    assert (dto.financial_status, dto.fulfillment_status) == (financial, fulfillment)


def test_a_cancelled_order_is_cancelled_when_it_was_last_modified(order):
    order["status"] = "cancelled"

    dto = mapping.order_from_payload(order)

    assert dto.cancelled_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)


def test_a_completed_order_is_fulfilled_when_completed(order):
    order.update(status="completed", date_completed_gmt="2017-03-23T10:00:00")

    assert mapping.order_from_payload(order).fulfilled_at == datetime(2017, 3, 23, 10, tzinfo=UTC)


def test_refunds_from_the_orders_array_are_positive_and_make_the_order_partially_refunded(order):
    order["refunds"] = [{"id": 726, "reason": "damaged", "total": "-10.00"}]

    dto = mapping.order_from_payload(order)

    assert dto.financial_status is FinancialStatus.PARTIALLY_REFUNDED
    assert dto.total_refunded == Decimal("10.00")
    refund = dto.refunds[0]
    assert (refund.platform_id, refund.reason) == ("726", "damaged")
    assert refund.created_at == dto.updated_at  # the array has no date: no later than the order's change


def test_refunds_reaching_the_total_make_a_completed_order_refunded(order):
    order.update(status="completed", refunds=[{"id": 1, "reason": "", "total": "-20.00"},
                                              {"id": 2, "reason": "", "total": "-9.35"}])

    dto = mapping.order_from_payload(order)

    assert dto.financial_status is FinancialStatus.REFUNDED and dto.total_refunded == dto.total


def test_a_refund_row_from_the_refunds_endpoint_keeps_its_own_date():
    refund = mapping.refund_from_payload(fixture("order-refund"), datetime(2030, 1, 1, tzinfo=UTC))

    assert refund.amount == Decimal("10.00")
    assert refund.created_at == datetime(2017, 3, 21, 20, 7, 11, tzinfo=UTC)


def test_a_customer_never_modified_was_last_updated_when_created():
    customer = fixture("customer")
    customer["date_modified_gmt"] = None

    dto = mapping.customer_from_payload(customer)

    assert dto.updated_at == dto.created_at == datetime(2017, 3, 21, 19, 9, 28, tzinfo=UTC)
    assert (dto.platform_id, dto.email) == ("25", "john.doe@example.com")


@pytest.mark.parametrize(("field", "value"), [("total", "lots"), ("total", 29.35), ("id", "abc"),
                                               ("date_modified_gmt", "yesterday"), ("line_items", {}),
                                               ("currency", None)])
def test_an_unreadable_order_is_invalid_and_names_the_field(order, field, value):
    order[field] = value

    with pytest.raises(InvalidPayload, match=field):
        mapping.order_from_payload(order)


def test_a_coupon_for_one_customer_is_restricted_to_their_email_and_expires_in_gmt():
    spec = DiscountSpec(code="THANKS-10", kind=DiscountKind.PERCENTAGE, value=Decimal(10), title="Thanks",
                        customer_platform_id="25", ends_at=datetime(2026, 2, 1, 12, tzinfo=UTC),
                        minimum_subtotal=Decimal(50))

    body = mapping.coupon_payload(spec, "ola@example.com")

    assert body["discount_type"] == "percent" and body["amount"] == "10"
    assert body["email_restrictions"] == ["ola@example.com"] and body["usage_limit"] == 1
    assert body["date_expires_gmt"] == "2026-02-01T12:00:00" and body["minimum_amount"] == "50"


def test_the_created_coupon_comes_back_under_the_callers_spelling():
    spec = DiscountSpec(code="THANKS-10", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(15), title="Thanks")
    coupon = {**fixture("coupon"), "code": "thanks-10", "discount_type": "fixed_cart", "amount": "15.00"}

    created = mapping.discount_from_coupon(coupon, spec)

    assert (created.code, created.kind, created.value, created.platform_id) == (
        "THANKS-10", DiscountKind.FIXED_AMOUNT, Decimal("15.00"), "719")


def test_a_free_product_is_one_unit_of_it_at_100_percent_whatever_its_price():
    spec = DiscountSpec(code="MUG", kind=DiscountKind.FREE_PRODUCT, value=Decimal(0), title="A free mug",
                        product_ids=("93",), combines_with=frozenset({DiscountClass.SHIPPING}))

    body = mapping.coupon_payload(spec, None)

    assert (body["discount_type"], body["amount"], body["product_ids"], body["limit_usage_to_x_items"]) == (
        "percent", "100", [93], 1)
    assert body["individual_use"] is False and "email_restrictions" not in body


def test_a_percentage_limited_to_collections_uses_product_categories_and_is_used_alone():
    spec = DiscountSpec(code="TEA", kind=DiscountKind.PERCENTAGE, value=Decimal("12.5"), title="Tea",
                        collection_ids=("15", "16"))

    body = mapping.coupon_payload(spec, None)

    assert body["product_categories"] == [15, 16] and body["amount"] == "12.5" and body["individual_use"] is True
    assert "product_ids" not in body and "limit_usage_to_x_items" not in body
