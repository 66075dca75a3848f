"""Sandbox JSON -> neutral DTOs: what is read, and what is refused."""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from adapters.base import FinancialStatus, FulfillmentStatus
from adapters.errors import InvalidPayload
from adapters.sandbox.mapping import customer_from_payload, order_from_payload

CUSTOMER = {
    "id": 2000000007, "email": "lucja.wisniewska@example.org", "first_name": "Łucja",
    "last_name": "Wiśniewska",
    "birthday": "1990-04-12", "accepts_marketing": True, "locale": "pl",
    "created_at": "2025-02-01T10:00:00+00:00", "updated_at": "2025-03-01T10:00:00+00:00",
}
ORDER = {
    "id": 5000000042, "order_number": 1042, "name": "#1042", "email": "lucja.wisniewska@example.org",
    "currency": "PLN", "subtotal_price": "200.00", "total_discounts": "20.00", "total_tax": "33.66",
    "total_price": "180.00", "financial_status": "partially_refunded", "fulfillment_status": "fulfilled",
    "created_at": "2025-03-02T12:00:00+02:00", "updated_at": "2025-03-09T08:30:00.250000+00:00",
    "processed_at": "2025-03-02T12:00:00+02:00", "cancelled_at": None, "cancel_reason": None,
    "closed_at": "2025-03-04T09:00:00+00:00",
    "discount_codes": [{"code": "WELCOME10", "amount": "20.00"}],
    "customer": CUSTOMER,
    "line_items": [
        {"id": 11000000001, "title": "Stoneware Mug, Sea Salt", "quantity": 2, "price": "71.99",
         "sku": "KIT-MUG-04", "product_id": 8000000004},
        {"id": "11000000002", "title": "Gift Card", "quantity": 1, "price": "56.02", "sku": None,
         "product_id": None},
    ],
    "refunds": [{"id": 14000000001, "created_at": "2025-03-09T08:30:00.250000+00:00", "note": "Wrong size",
                 "amount": "35.99"}],
    "fulfillments": [{"id": 17000000001, "created_at": "2025-03-04T09:00:00+00:00", "status": "success"}],
}


def order_with(**changes) -> dict:
    payload = copy.deepcopy(ORDER)
    payload.update(changes)
    return payload


def test_reads_an_order_with_exact_money_and_utc_times():
    order = order_from_payload(ORDER)

    assert (order.platform_id, order.number, order.currency) == ("5000000042", "1042", "PLN")
    assert (order.subtotal, order.total_discounts, order.total, order.total_tax) == (
        Decimal("200.00"), Decimal("20.00"), Decimal("180.00"), Decimal("33.66"))
    assert order.created_at == datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
    assert order.created_at.utcoffset().total_seconds() == 0
    assert order.updated_at == datetime(2025, 3, 9, 8, 30, 0, 250000, tzinfo=UTC)
    assert order.financial_status is FinancialStatus.PARTIALLY_REFUNDED
    assert order.fulfillment_status is FulfillmentStatus.FULFILLED
    assert order.discount_codes == ("WELCOME10",)


def test_reads_lines_refunds_and_the_customer():
    order = order_from_payload(ORDER)

    assert [line.platform_id for line in order.line_items] == ["11000000001", "11000000002"]
    assert order.line_items[0].line_total == Decimal("143.98")
    assert order.line_items[0].product_id == "8000000004" and order.line_items[1].product_id is None
    assert order.total_refunded == Decimal("35.99")
    assert order.refunds[0].reason == "Wrong size"
    assert order.customer.platform_id == "2000000007" and order.customer.last_name == "Wiśniewska"


def test_paid_at_comes_from_processed_at_only_once_payment_was_taken():
    assert order_from_payload(ORDER).paid_at == datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
    assert order_from_payload(order_with(financial_status="pending")).paid_at is None


def test_fulfilled_at_is_the_latest_successful_fulfilment_of_a_fulfilled_order():
    assert order_from_payload(ORDER).fulfilled_at == datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    unfulfilled = order_from_payload(order_with(fulfillment_status=None, fulfillments=[]))
    assert unfulfilled.fulfillment_status is FulfillmentStatus.UNFULFILLED
    assert unfulfilled.fulfilled_at is None


def test_a_guest_order_has_no_customer_but_keeps_its_email():
    order = order_from_payload(order_with(customer=None, email="guest@example.net"))

    assert order.customer is None and order.email == "guest@example.net"


def test_the_order_number_falls_back_to_the_name():
    payload = order_with(name="#1042")
    del payload["order_number"]

    assert order_from_payload(payload).number == "1042"


def test_reads_a_customer():
    customer = customer_from_payload(CUSTOMER)

    assert customer.platform_id == "2000000007"
    assert customer.birthday == date(1990, 4, 12)
    assert customer.accepts_marketing is True and customer.locale == "pl"
    assert customer.updated_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("changes", "field"), [
    ({"id": None}, "id"),
    ({"id": True}, "id"),
    ({"total_price": "12,34"}, "total_price"),
    ({"total_price": None}, "total_price"),
    ({"subtotal_price": "NaN"}, "subtotal_price"),
    ({"created_at": "2025-03-02T12:00:00"}, "created_at"),
    ({"updated_at": "yesterday"}, "updated_at"),
    ({"financial_status": "settled"}, "financial_status"),
    ({"fulfillment_status": "shipped"}, "fulfillment_status"),
    ({"currency": None}, "currency"),
    ({"line_items": {"id": 1}}, "line_items"),
    ({"line_items": [{"id": 1, "title": "Mug", "quantity": "2", "price": "1.00"}]}, "quantity"),
    ({"refunds": [{"id": 1, "amount": "1.00"}]}, "created_at"),
    ({"customer": {"id": 1, "accepts_marketing": "yes"}}, "accepts_marketing"),
    ({"order_number": None, "name": None}, "order_number"),
])
def test_refuses_an_order_it_cannot_read(changes, field):
    with pytest.raises(InvalidPayload) as raised:
        order_from_payload(order_with(**changes))

    assert field in raised.value.message


@pytest.mark.parametrize("payload", [None, [], "order", 42])
def test_refuses_a_payload_that_is_not_an_object(payload):
    with pytest.raises(InvalidPayload):
        order_from_payload(payload)
    with pytest.raises(InvalidPayload):
        customer_from_payload(payload)


@pytest.mark.parametrize(("changes", "field"), [
    ({"id": ""}, "id"),
    ({"birthday": "12/04/1990"}, "birthday"),
    ({"email": 12}, "email"),
    ({"created_at": "2025-02-01 10:00"}, "created_at"),
])
def test_refuses_a_customer_it_cannot_read(changes, field):
    with pytest.raises(InvalidPayload) as raised:
        customer_from_payload({**CUSTOMER, **changes})

    assert field in raised.value.message
