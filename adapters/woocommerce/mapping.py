"""WooCommerce REST v3 JSON <-> neutral DTOs: the only module that knows WooCommerce's shapes.

What WooCommerce does not say, and what we decided:

- Money is a string with the store's decimals ("29.35"); times come twice, local and ``*_gmt``
  without an offset: we read the ``*_gmt`` ones as UTC.
- Status: ``pending``, ``on-hold``, ``checkout-draft`` and ``failed`` are unpaid (a failed payment
  can still be paid from the order-pay page, so nothing is final); ``processing`` and ``completed``
  are paid, and ``completed`` is also fulfilled (``date_completed_gmt``); ``cancelled`` is voided
  with ``cancelled_at`` = the order's ``date_modified_gmt`` (WooCommerce keeps no cancel date);
  ``refunded`` is refunded. A status a plugin adds (``shipped``, ...) is paid when ``date_paid_gmt``
  is set, else pending: an unknown status must not stop a store's sync.
- Refunds: the order's ``refunds`` array holds ``{id, reason, total}`` with a NEGATIVE total and no
  date. That is enough to know what was refunded, so a webhook payload maps without a platform call
  (``order.updated`` fires on refund; there is no refund topic). ``Refund.created_at`` is the
  refund's ``date_created_gmt`` when the row carries one (rows from ``/orders/{id}/refunds``), else
  the order's ``date_modified_gmt``: the refund modified the order, so it happened no later than that.
- Money refunded on a paid order makes it ``partially_refunded`` (WooCommerce keeps ``processing`` /
  ``completed``), or ``refunded`` once the refunds reach the total.
- ``customer_id`` 0 is a guest: ``Order.customer`` is None and ``Order.email`` is the billing email,
  which the mirror uses to link the order to a known customer.
- Order ``subtotal`` is the sum of the line totals (after discounts, before shipping and tax).
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from adapters import readers
from adapters.base import (
    Customer,
    CustomerLoyalty,
    DiscountCode,
    DiscountKind,
    DiscountSpec,
    FinancialStatus,
    FulfillmentStatus,
    LineItem,
    Order,
    Refund,
)
from adapters.errors import InvalidPayload

_UNPAID = frozenset({"pending", "on-hold", "checkout-draft", "failed", "draft"})
_PAID = frozenset({"processing", "completed"})
_DISCOUNT_TYPES = {DiscountKind.PERCENTAGE: "percent", DiscountKind.FIXED_AMOUNT: "fixed_cart",
                   DiscountKind.FREE_SHIPPING: "fixed_cart", DiscountKind.FREE_PRODUCT: "percent"}


# -- payload -> DTOs --------------------------------------------------------------------------------

def customer_from_payload(payload: Mapping) -> Customer:
    data = _object(payload, "customer")
    where = f"customer {data.get('id')!r}"
    created = _optional_time(data, "date_created_gmt", where)
    return Customer(
        platform_id=_id(data, "id", where),
        email=_optional_text(data, "email", where),
        first_name=_optional_text(data, "first_name", where),
        last_name=_optional_text(data, "last_name", where),
        created_at=created,
        # A customer never edited has no modification date: it was last updated when created.
        updated_at=_optional_time(data, "date_modified_gmt", where) or created,
    )


def is_customer(payload: Mapping) -> bool:
    """A user of the ``customer`` role (a body without a role is taken as one): the store's staff are
    WordPress users too, and WooCommerce's customer webhooks fire for them."""
    return payload.get("role") in (None, "", "customer")


def modified_at(payload: Mapping) -> datetime:
    """An order's ``date_modified_gmt``: for one in the trash, when it was trashed."""
    data = _object(payload, "order")
    return _time(data, "date_modified_gmt", f"order {data.get('id')!r}")


def order_from_payload(payload: Mapping) -> Order:
    data = _object(payload, "order")
    where = f"order {data.get('id')!r}"
    status = _text(data, "status", where)
    updated_at = _time(data, "date_modified_gmt", where)
    created_at = _time(data, "date_created_gmt", where)
    paid_at = _optional_time(data, "date_paid_gmt", where)
    total = _money(data, "total", where)
    refunds = tuple(_refund(_object(r, f"{where} refund"), where, updated_at)
                    for r in _list(data, "refunds", where))
    lines = tuple(_line_item(_object(item, f"{where} line item"), where)
                  for item in _list(data, "line_items", where))
    completed_at = _optional_time(data, "date_completed_gmt", where)
    billing = data.get("billing") or {}
    if not isinstance(billing, Mapping):
        raise InvalidPayload(f"{where}: billing must be an object")
    email = _optional_text(billing, "email", where)
    return Order(
        platform_id=_id(data, "id", where),
        number=_text(data, "number", where) if data.get("number") not in (None, "") else _id(data, "id", where),
        currency=_text(data, "currency", where),
        total=total,
        subtotal=sum((line.line_total for line in lines), Decimal("0.00")),
        created_at=created_at,
        updated_at=max(updated_at, created_at),
        financial_status=_financial_status(status, paid_at, total, refunds),
        fulfillment_status=FulfillmentStatus.FULFILLED if status == "completed" else FulfillmentStatus.UNFULFILLED,
        customer=_order_customer(data, billing, email, where),
        email=email,
        total_discounts=_money(data, "discount_total", where, default=Decimal(0)),
        total_tax=_money(data, "total_tax", where, default=Decimal(0)),
        paid_at=paid_at,
        cancelled_at=updated_at if status == "cancelled" else None,
        cancel_reason="cancelled" if status == "cancelled" else None,
        fulfilled_at=(completed_at or updated_at) if status == "completed" else None,
        discount_codes=tuple(_text(_object(c, f"{where} coupon"), "code", where)
                             for c in _list(data, "coupon_lines", where)),
        line_items=lines,
        refunds=refunds,
    )


def refund_from_payload(payload: Mapping, order_updated_at: datetime) -> Refund:
    """A row of ``GET /orders/{id}/refunds`` (positive ``amount``, a date) or of the order's array."""
    data = _object(payload, "refund")
    return _refund(data, f"refund {data.get('id')!r}", order_updated_at)


def _financial_status(status: str, paid_at: datetime | None, total: Decimal,
                      refunds: tuple[Refund, ...]) -> FinancialStatus:
    refunded = sum((r.amount for r in refunds), Decimal(0))
    if status == "refunded":
        return FinancialStatus.REFUNDED
    if status == "cancelled":
        return FinancialStatus.VOIDED
    paid = status in _PAID or (status not in _UNPAID and paid_at is not None)
    if not paid:
        return FinancialStatus.PENDING
    if refunded <= 0:
        return FinancialStatus.PAID
    return FinancialStatus.PARTIALLY_REFUNDED if refunded < total else FinancialStatus.REFUNDED


def _order_customer(data: Mapping, billing: Mapping, email: str | None, where: str) -> Customer | None:
    raw = data.get("customer_id", 0)
    if raw in (0, "0", None, ""):
        return None  # a guest checkout: the mirror matches it to a customer by billing email
    return Customer(
        platform_id=_id(data, "customer_id", where),
        email=email,
        first_name=_optional_text(billing, "first_name", where),
        last_name=_optional_text(billing, "last_name", where),
    )


def _line_item(data: Mapping, where: str) -> LineItem:
    where = f"{where} line item {data.get('id')!r}"
    quantity = data.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidPayload(f"{where}: quantity must be a non-negative integer, not {quantity!r}")
    subtotal = _money(data, "subtotal", where)
    if quantity:
        # ``price`` is a JSON float; the unit price is the exact line subtotal over the quantity,
        # at the subtotal's own number of decimals.
        unit = (subtotal / quantity).quantize(Decimal(1).scaleb(subtotal.as_tuple().exponent))
    else:
        unit = subtotal
    product_id = data.get("product_id")
    return LineItem(
        platform_id=_id(data, "id", where),
        title=_unescaped(_text(data, "name", where)),
        quantity=quantity,
        unit_price=unit,
        sku=_optional_text(data, "sku", where),
        product_id=None if product_id in (None, 0, "0", "") else _id(data, "product_id", where),
        total=_money(data, "total", where),
    )


def _unescaped(text: str) -> str:
    """Product names come HTML-escaped (``&ndash;``); most have nothing to unescape."""
    return html.unescape(text) if "&" in text else text


def _refund(data: Mapping, where: str, order_updated_at: datetime) -> Refund:
    where = f"{where} refund {data.get('id')!r}"
    if data.get("amount") not in (None, ""):
        amount = _money(data, "amount", where)  # /orders/{id}/refunds: positive
    else:
        amount = -_money(data, "total", where)  # the order's refunds array: negative
    if amount < 0:
        raise InvalidPayload(f"{where}: a refund cannot be negative")
    return Refund(
        platform_id=_id(data, "id", where),
        amount=amount,
        created_at=_optional_time(data, "date_created_gmt", where) or order_updated_at,
        reason=_optional_text(data, "reason", where),
    )


# -- DTOs -> payload (what we write) ----------------------------------------------------------------

def coupon_payload(spec: DiscountSpec, customer_email: str | None) -> dict[str, Any]:
    """POST /coupons body for one reward code. WooCommerce restricts a coupon to a customer by email.

    - a percentage of the order, or of the lines of ``product_ids`` (``percent`` takes off only the lines
      its products allow);
    - an amount: ``fixed_cart``; with ``product_ids`` the cart must hold one of them, and the amount comes
      off the cart (WooCommerce spreads a cart discount over every line);
    - free shipping: ``free_shipping`` on a zero coupon; the store needs a Free shipping method that a
      valid free-shipping coupon unlocks (WooCommerce > Settings > Shipping). No price cap exists;
    - a free product: 100 % off that product, on one unit only (``limit_usage_to_x_items``: 1), whatever
      its price is when the code is used (a ``fixed_product`` amount would have to guess the price);
    - collections are WooCommerce's product categories (``product_categories``);
    - combinable with other codes when ``combines_with`` names any kind (``individual_use`` false):
      WooCommerce does not tell order, product and shipping discounts apart.
    """
    free_product = spec.kind is DiscountKind.FREE_PRODUCT
    body: dict[str, Any] = {
        "code": spec.code,
        "discount_type": _DISCOUNT_TYPES[spec.kind],
        "amount": ("100" if free_product else "0" if spec.kind is DiscountKind.FREE_SHIPPING
                   else _decimal_text(spec.value)),
        "description": spec.title,
        "individual_use": not spec.combines_with,
        "usage_limit": spec.usage_limit,
        "usage_limit_per_user": spec.usage_limit,
        "free_shipping": spec.kind is DiscountKind.FREE_SHIPPING,
    }
    if spec.product_ids:
        body["product_ids"] = [int(product) for product in spec.product_ids]
    if spec.collection_ids:
        body["product_categories"] = [int(category) for category in spec.collection_ids]
    if free_product:
        body["limit_usage_to_x_items"] = 1
    if customer_email:
        body["email_restrictions"] = [customer_email]
    if spec.ends_at is not None:
        body["date_expires_gmt"] = spec.ends_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if spec.minimum_subtotal is not None:
        body["minimum_amount"] = _decimal_text(spec.minimum_subtotal)
    return body


def discount_from_coupon(payload: Mapping, spec: DiscountSpec) -> DiscountCode:
    """The created coupon. WooCommerce lowercases codes and matches them case-insensitively, so the
    code is returned as the caller spelled it once we checked it is the same code."""
    data = _object(payload, "coupon")
    where = f"coupon {data.get('id')!r}"
    code = _text(data, "code", where)
    if code.lower() != spec.code.lower():
        raise InvalidPayload(f"{where}: the store answered with code {code!r}, not {spec.code!r}")
    amount = _money(data, "amount", where, default=Decimal(0))
    if data.get("free_shipping") is True and amount == 0:
        kind, value = DiscountKind.FREE_SHIPPING, spec.value
    elif data.get("discount_type") == "percent" and data.get("limit_usage_to_x_items") == 1 and amount == 100 \
            and len(data.get("product_ids") or []) == 1:
        kind, value = DiscountKind.FREE_PRODUCT, spec.value
    else:
        kind = DiscountKind.PERCENTAGE if data.get("discount_type") == "percent" else DiscountKind.FIXED_AMOUNT
        value = amount
    return DiscountCode(platform_id=_id(data, "id", where), code=spec.code, kind=kind, value=value,
                        ends_at=_optional_time(data, "date_expires_gmt", where))


def same_coupon(payload: Mapping, spec: DiscountSpec, customer_email: str | None) -> bool:
    """Whether an existing coupon is the one ``spec`` describes (a retried create is harmless)."""
    data = _object(payload, "coupon")
    wanted = coupon_payload(spec, customer_email)
    try:
        same_amount = Decimal(str(data.get("amount"))) == Decimal(wanted["amount"])
    except InvalidOperation:
        return False
    emails = sorted(str(e).lower() for e in data.get("email_restrictions") or [])
    return (str(data.get("code", "")).lower() == spec.code.lower() and same_amount
            and data.get("discount_type") == wanted["discount_type"]
            and emails == sorted(e.lower() for e in wanted.get("email_restrictions", []))
            and sorted(data.get("product_ids") or []) == sorted(wanted.get("product_ids", []))
            and sorted(data.get("product_categories") or []) == sorted(wanted.get("product_categories", [])))


# -- customer meta: the loyalty shown in WordPress (keys without "_": other plugins and themes may read them)
TIER_META, BALANCE_META = "storecare_loyalty_tier", "storecare_loyalty_balance"


def loyalty_from_customer(payload: Mapping) -> CustomerLoyalty:
    data = _object(payload, "customer")
    where = f"customer {data.get('id')!r}"
    meta = {str(m.get("key")): m.get("value") for m in _list(data, "meta_data", where) if isinstance(m, Mapping)}
    tier, balance = meta.get(TIER_META), meta.get(BALANCE_META)
    return CustomerLoyalty(tier=tier if isinstance(tier, str) and tier.strip() else None,
                           balance=readers.amount_of(balance, f"{where} {BALANCE_META}", floats=False)
                           if balance not in (None, "") else None)


def loyalty_meta(loyalty: CustomerLoyalty) -> list[dict[str, str]]:
    """The ``meta_data`` of PUT /customers/{id}: WooCommerce updates each key in place (a tier of None is
    written empty)."""
    return [{"key": TIER_META, "value": loyalty.tier or ""},
            {"key": BALANCE_META, "value": format(loyalty.balance, "f") if loyalty.balance is not None else ""}]


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


# -- readers (adapters/readers.py), as WooCommerce writes: some text as numbers, blank text for none,
# amounts only as text, ``*_gmt`` times in UTC without an offset (an offset, if present, is honoured) ----

_object = readers.as_object
_list = readers.items
_text = partial(readers.text, numbers=True)
_optional_text = partial(readers.optional_text, strip=True)
_money = partial(readers.money, floats=False)
_time = partial(readers.required_time, naive_utc=True)
_optional_time = partial(readers.optional_time, naive_utc=True)


def _id(data: Mapping, key: str, where: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise InvalidPayload(f"{where}: {key} must be a numeric id, not {value!r}")
    return str(int(value))


def gmt_text(moment: datetime) -> str:
    """A UTC time in WooCommerce's query format (``modified_after`` with ``dates_are_gmt=true``)."""
    if moment.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
