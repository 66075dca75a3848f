"""The sandbox's platform JSON: the only module that knows its shape, in both directions.

The shape follows Shopify's REST Admin API (snake_case, money as strings, ISO 8601 times, integer
ids) so the app's sandbox path exercises the same kind of mapping the Shopify path does. Records ->
payload is what the store serves and sends in webhooks; payload -> DTO is what the adapter hands the
app, and it refuses anything it cannot read with InvalidPayload naming the field.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from adapters import readers
from adapters.base import Customer, FinancialStatus, FulfillmentStatus, LineItem, Order, Refund
from adapters.errors import InvalidPayload
from adapters.sandbox.records import CustomerRecord, OrderRecord
from adapters.sandbox.schema import from_cents

# Statuses of an order whose payment was captured: the payload has no paid_at, processed_at stands in.
_PAID_STATUSES = frozenset({FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED,
                            FinancialStatus.REFUNDED})


# -- records -> payload (what the sandbox platform "returns" and posts)
def customer_payload(customer: CustomerRecord) -> dict[str, Any]:
    return {
        "id": customer.id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "birthday": customer.birthday.isoformat() if customer.birthday else None,
        "accepts_marketing": customer.accepts_marketing,
        "locale": customer.locale,
        "created_at": _time_text(customer.created_at),
        "updated_at": _time_text(customer.updated_at),
    }


def order_payload(order: OrderRecord) -> dict[str, Any]:
    """The order as the sandbox serves it: every webhook about an order carries this whole document."""
    return {
        "id": order.id,
        "order_number": order.number,
        "name": f"#{order.number}",
        "email": order.email,
        "currency": order.currency,
        "subtotal_price": str(from_cents(order.subtotal_cents)),
        "total_discounts": str(from_cents(order.discount_cents)),
        "total_tax": str(from_cents(order.tax_cents)),
        "taxes_included": True,
        "total_price": str(from_cents(order.total_cents)),
        "financial_status": order.financial_status,
        "fulfillment_status": order.fulfillment_status,
        "created_at": _time_text(order.created_at),
        "updated_at": _time_text(order.updated_at),
        "processed_at": _time_text(order.processed_at),
        "cancelled_at": _time_text(order.cancelled_at),
        "cancel_reason": order.cancel_reason,
        "closed_at": _time_text(order.closed_at),
        "discount_codes": ([{"code": order.discount_code, "amount": str(from_cents(order.discount_cents))}]
                           if order.discount_code else []),
        "customer": customer_payload(order.customer) if order.customer else None,
        "line_items": [{"id": line.id, "title": line.title, "quantity": line.quantity,
                        "price": str(from_cents(line.price_cents)), "sku": line.sku,
                        "product_id": line.product_id} for line in order.lines],
        "refunds": [{"id": refund.id, "created_at": _time_text(refund.created_at), "note": refund.note,
                     "amount": str(from_cents(refund.amount_cents))} for refund in order.refunds],
        "fulfillments": [{"id": f.id, "created_at": _time_text(f.created_at), "status": f.status}
                         for f in order.fulfillments],
    }


def _time_text(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- payload -> neutral DTOs (what the app receives)
def customer_from_payload(payload: Mapping) -> Customer:
    data = _object(payload, "customer")
    where = f"customer {data.get('id')!r}"
    return Customer(
        platform_id=_id(data, "id", where),
        email=_optional_text(data, "email", where),
        first_name=_optional_text(data, "first_name", where),
        last_name=_optional_text(data, "last_name", where),
        birthday=_optional_date(data, "birthday", where),
        accepts_marketing=_flag(data, "accepts_marketing", where),
        locale=_optional_text(data, "locale", where),
        created_at=_optional_time(data, "created_at", where),
        updated_at=_optional_time(data, "updated_at", where),
    )


def order_from_payload(payload: Mapping) -> Order:
    data = _object(payload, "order")
    where = f"order {data.get('id')!r}"
    financial = _choice(data, "financial_status", FinancialStatus, where)
    fulfillment = (FulfillmentStatus.UNFULFILLED if data.get("fulfillment_status") is None
                   else _choice(data, "fulfillment_status", FulfillmentStatus, where))
    fulfillments = [_object(f, f"{where} fulfillment") for f in _list(data, "fulfillments", where)]
    customer = data.get("customer")
    customer_dto = customer_from_payload(customer) if customer is not None else None
    processed_at = _optional_time(data, "processed_at", where)
    return Order(
        platform_id=_id(data, "id", where),
        number=_number(data, where),
        currency=_text(data, "currency", where),
        total=_money(data, "total_price", where),
        subtotal=_money(data, "subtotal_price", where),
        created_at=_time(data, "created_at", where),
        updated_at=_time(data, "updated_at", where),
        financial_status=financial,
        fulfillment_status=fulfillment,
        customer=customer_dto,
        email=_optional_text(data, "email", where) or (customer_dto.email if customer_dto else None),
        total_discounts=_money(data, "total_discounts", where, default=Decimal(0)),
        total_tax=_money(data, "total_tax", where, default=Decimal(0)),
        paid_at=processed_at if financial in _PAID_STATUSES else None,
        cancelled_at=_optional_time(data, "cancelled_at", where),
        cancel_reason=_optional_text(data, "cancel_reason", where),
        closed_at=_optional_time(data, "closed_at", where),
        fulfilled_at=_fulfilled_at(fulfillments, fulfillment, where),
        discount_codes=tuple(_text(_object(d, f"{where} discount code"), "code", where)
                             for d in _list(data, "discount_codes", where)),
        line_items=tuple(_line_item(_object(item, f"{where} line item"), where)
                         for item in _list(data, "line_items", where)),
        refunds=tuple(_refund(_object(r, f"{where} refund"), where) for r in _list(data, "refunds", where)),
    )


def _line_item(data: Mapping, where: str) -> LineItem:
    where = f"{where} line item {data.get('id')!r}"
    quantity = data.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidPayload(f"{where}: quantity must be a non-negative integer, not {quantity!r}")
    product_id = data.get("product_id")
    return LineItem(
        platform_id=_id(data, "id", where),
        title=_text(data, "title", where),
        quantity=quantity,
        unit_price=_money(data, "price", where),
        sku=_optional_text(data, "sku", where),
        product_id=None if product_id is None else _id(data, "product_id", where),
    )


def _refund(data: Mapping, where: str) -> Refund:
    where = f"{where} refund {data.get('id')!r}"
    return Refund(platform_id=_id(data, "id", where), amount=_money(data, "amount", where),
                  created_at=_time(data, "created_at", where), reason=_optional_text(data, "note", where))


def _fulfilled_at(fulfillments: list[Mapping], status: FulfillmentStatus, where: str) -> datetime | None:
    """When the order became fully fulfilled: its latest successful fulfilment, if it is fulfilled."""
    if status is not FulfillmentStatus.FULFILLED:
        return None
    times = [_time(f, "created_at", f"{where} fulfillment")
             for f in fulfillments if f.get("status") == "success"]
    return max(times, default=None)


# -- readers (adapters/readers.py) ---------------------------------------------------------------------

_object = readers.as_object
_list = readers.items
_text = readers.text
_optional_text = readers.optional_text
_money = readers.money
_time = readers.required_time
_optional_time = readers.optional_time


def _id(data: Mapping, key: str, where: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() == "":
        raise InvalidPayload(f"{where}: {key} is missing or not an id")
    return str(value).strip()


def _number(data: Mapping, where: str) -> str:
    number = data.get("order_number")
    if isinstance(number, int) and not isinstance(number, bool):
        return str(number)
    name = data.get("name")
    if isinstance(name, str) and name.lstrip("#").strip():
        return name.lstrip("#").strip()
    raise InvalidPayload(f"{where}: order_number and name are both missing")


def _flag(data: Mapping, key: str, where: str) -> bool:
    value = data.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidPayload(f"{where}: {key} must be true or false")
    return value


def _choice(data: Mapping, key: str, enum_type: type, where: str):
    value = data.get(key)
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise InvalidPayload(f"{where}: {key} is {value!r}, expected one of {allowed}") from None


def _optional_date(data: Mapping, key: str, where: str) -> date | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidPayload(f"{where}: {key} is not a date (YYYY-MM-DD): {value!r}") from None
