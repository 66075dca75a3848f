"""Shopify's JSON <-> neutral DTOs: the only module that knows the shapes of Shopify's resources.

Two shapes arrive. Webhooks carry the REST resource (snake_case, numeric ids, money strings in the
shop's currency); the Admin GraphQL API answers camelCase with ``gid://shopify/...`` ids and MoneyBags.
Both map to the same DTO (the contract suite checks that an order read from its webhook equals the
order fetched), which fixes these rules:

- ids are the numeric id: REST ``id``, the tail of the GraphQL gid;
- ``number`` is the order's ``name`` without a leading '#' ("#1001" -> "1001"; "EN1001" stays):
  what the merchant sees in Shopify, prefix and suffix included;
- money is the shop-currency amount (REST plain fields; GraphQL ``...Set.shopMoney``);
- statuses: REST ``financial_status`` / GraphQL ``displayFinancialStatus``; ``partially_paid`` is
  PENDING (not paid yet), ``expired`` (an authorisation that lapsed) VOIDED, none PENDING. Fulfilment:
  fulfilled / partial, everything else (open, on hold, scheduled, restocked, not required) UNFULFILLED;
- a refund's amount is the money that went back: the successful ``refund`` transactions of the REST
  refund, GraphQL ``totalRefundedSet`` ("the total amount across all transactions"). Not the
  ``refund_line_items`` subtotals: those leave out refunded shipping and include restock-only lines
  that moved no money. REST transactions are in the payment's currency; when that is the order's
  presentment currency, the amount is converted at the order's own shop/presentment ratio;
- ``paid_at`` is ``processed_at`` once the order is paid; ``fulfilled_at`` the latest successful
  fulfilment of a fulfilled order;
- the customer on an order takes the order's ``customer_locale`` (REST customers carry no locale).

Shopify has no birthday on customers; marketing consent is the email's marketing state SUBSCRIBED
(REST ``email_marketing_consent.state``, or the legacy ``accepts_marketing`` when that is absent).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from adapters.base import (
    Customer,
    CustomerLoyalty,
    DiscountClass,
    DiscountKind,
    DiscountSpec,
    FinancialStatus,
    FulfillmentStatus,
    LineItem,
    Order,
    Refund,
    StoreCredit,
)
from adapters.errors import DiscountRefused, InvalidPayload
from adapters.readers import amount_of, as_object, objects, optional_text, optional_time, quantity, required_time, text

GID_PREFIX = "gid://shopify/"
_FINANCIAL = {
    "pending": FinancialStatus.PENDING, "authorized": FinancialStatus.AUTHORIZED,
    "partially_paid": FinancialStatus.PENDING, "paid": FinancialStatus.PAID,
    "partially_refunded": FinancialStatus.PARTIALLY_REFUNDED, "refunded": FinancialStatus.REFUNDED,
    "voided": FinancialStatus.VOIDED, "expired": FinancialStatus.VOIDED,
}
_FULFILLMENT = {"fulfilled": FulfillmentStatus.FULFILLED, "partial": FulfillmentStatus.PARTIAL,
                "partially_fulfilled": FulfillmentStatus.PARTIAL}
_PAID = frozenset({FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED, FinancialStatus.REFUNDED})
_CENT = Decimal("0.01")


# -- ids
def gid(kind: str, platform_id: str) -> str:
    """``gid://shopify/<kind>/<id>`` for a numeric id; ValueError for anything else (a caller's id)."""
    value = str(platform_id).strip()
    if not value.isdigit():
        raise ValueError(f"{platform_id!r} is not a Shopify {kind} id")
    return f"{GID_PREFIX}{kind}/{int(value)}"


def numeric_id(value: Any, kind: str, where: str) -> str:
    """The numeric id of a gid of ``kind`` (or of a REST integer id)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        if value.isdigit():
            return value
        prefix = f"{GID_PREFIX}{kind}/"
        tail = value[len(prefix):].split("?", 1)[0] if value.startswith(prefix) else ""
        if tail.isdigit():
            return tail
    raise InvalidPayload(f"{where}: {value!r} is not a Shopify {kind} id")


# -- REST payloads (webhooks)
def order_from_rest(payload: Mapping) -> Order:
    data = as_object(payload, "order")
    where = f"order {data.get('id')!r}"
    financial = _financial(data.get("financial_status"), where)
    fulfillment = _fulfillment(data.get("fulfillment_status"), where)
    locale = optional_text(data, "customer_locale", where)
    customer = data.get("customer")
    customer_dto = _customer_rest(as_object(customer, f"{where} customer"), locale) if customer else None
    ratio = _shop_ratio(data, where)
    processed_at = optional_time(data, "processed_at", where)
    return Order(
        platform_id=numeric_id(data.get("id"), "Order", where),
        number=_number(data, where),
        currency=text(data, "currency", where),
        total=amount_of(data.get("total_price"), f"{where} total_price"),
        subtotal=amount_of(data.get("subtotal_price"), f"{where} subtotal_price", Decimal(0)),
        created_at=required_time(data, "created_at", where),
        updated_at=required_time(data, "updated_at", where),
        financial_status=financial,
        fulfillment_status=fulfillment,
        customer=customer_dto,
        email=optional_text(data, "email", where) or (customer_dto.email if customer_dto else None),
        total_discounts=amount_of(data.get("total_discounts"), f"{where} total_discounts", Decimal(0)),
        total_tax=amount_of(data.get("total_tax"), f"{where} total_tax", Decimal(0)),
        paid_at=processed_at if financial in _PAID else None,
        cancelled_at=optional_time(data, "cancelled_at", where),
        cancel_reason=optional_text(data, "cancel_reason", where),
        closed_at=optional_time(data, "closed_at", where),
        fulfilled_at=_fulfilled_at([(f.get("status"), optional_time(f, "created_at", where))
                                    for f in objects(data, "fulfillments", where)], fulfillment),
        discount_codes=tuple(text(d, "code", f"{where} discount code")
                             for d in objects(data, "discount_codes", where)),
        line_items=tuple(_line_item_rest(item, where) for item in objects(data, "line_items", where)),
        refunds=tuple(_refund_rest(r, data, ratio, where) for r in objects(data, "refunds", where)),
    )


def customer_from_rest(payload: Mapping) -> Customer:
    data = as_object(payload, "customer")
    return _customer_rest(data, optional_text(data, "locale", f"customer {data.get('id')!r}"))


def refund_order_id(payload: Mapping) -> str:
    """The order a refunds/create payload (a REST Refund resource) belongs to."""
    data = as_object(payload, "refund")
    return numeric_id(data.get("order_id"), "Order", f"refund {data.get('id')!r}")


def _customer_rest(data: Mapping, locale: str | None) -> Customer:
    where = f"customer {data.get('id')!r}"
    consent = data.get("email_marketing_consent")
    if isinstance(consent, Mapping):
        accepts = consent.get("state") == "subscribed"
    else:
        accepts = data.get("accepts_marketing") is True
    return Customer(
        platform_id=numeric_id(data.get("id"), "Customer", where),
        email=optional_text(data, "email", where),
        first_name=optional_text(data, "first_name", where),
        last_name=optional_text(data, "last_name", where),
        accepts_marketing=accepts,
        locale=locale,
        created_at=optional_time(data, "created_at", where),
        updated_at=optional_time(data, "updated_at", where),
    )


def _line_item_rest(data: Mapping, where: str) -> LineItem:
    where = f"{where} line item {data.get('id')!r}"
    count = quantity(data.get("quantity"), where)
    price = amount_of(data.get("price"), f"{where} price")
    allocations = objects(data, "discount_allocations", where)
    if allocations:
        discount = sum((amount_of(a.get("amount"), f"{where} discount") for a in allocations), Decimal(0))
    else:
        discount = amount_of(data.get("total_discount"), f"{where} total_discount", Decimal(0))
    product = data.get("product_id")
    return LineItem(platform_id=numeric_id(data.get("id"), "LineItem", where),
                    title=text(data, "title", where), quantity=count, unit_price=price,
                    sku=optional_text(data, "sku", where),
                    product_id=None if product is None else numeric_id(product, "Product", where),
                    total=price * count - discount)


def _refund_rest(data: Mapping, order: Mapping, ratio: Decimal | None, where: str) -> Refund:
    where = f"{where} refund {data.get('id')!r}"
    amount = Decimal(0)
    for transaction in objects(data, "transactions", where):
        if transaction.get("kind") != "refund" or transaction.get("status") != "success":
            continue
        value = amount_of(transaction.get("amount"), f"{where} transaction amount")
        currency = transaction.get("currency")
        if currency and currency != order.get("currency") and ratio is not None:
            value = (value * ratio).quantize(_CENT, rounding=ROUND_HALF_UP)
        amount += value
    created = optional_time(data, "created_at", where) or required_time(data, "processed_at", where)
    return Refund(platform_id=numeric_id(data.get("id"), "Refund", where), amount=amount, created_at=created,
                  reason=optional_text(data, "note", where))


def _shop_ratio(order: Mapping, where: str) -> Decimal | None:
    """Shop money per unit of presentment money, from the order's own total (None when not known)."""
    price_set = order.get("total_price_set")
    if not isinstance(price_set, Mapping):
        return None
    shop, shown = price_set.get("shop_money"), price_set.get("presentment_money")
    if not isinstance(shop, Mapping) or not isinstance(shown, Mapping):
        return None
    shown_amount = amount_of(shown.get("amount"), f"{where} presentment total")
    return amount_of(shop.get("amount"), f"{where} shop total") / shown_amount if shown_amount else None


# -- GraphQL nodes (Admin API 2026-10)
def order_from_graphql(node: Mapping, line_items: Iterable[Mapping] | None = None) -> Order:
    """An Order node as orders.graphql selects it; ``line_items`` when they were fetched apart (bulk)."""
    data = as_object(node, "order")
    where = f"order {data.get('id')!r}"
    financial = _financial(data.get("displayFinancialStatus"), where)
    fulfillment = _fulfillment(data.get("displayFulfillmentStatus"), where)
    locale = optional_text(data, "customerLocale", where)
    customer = data.get("customer")
    processed_at = optional_time(data, "processedAt", where)
    reason = optional_text(data, "cancelReason", where)
    items = line_items if line_items is not None else connection_nodes(data.get("lineItems"), where)
    return Order(
        platform_id=numeric_id(data.get("id"), "Order", where),
        number=_number(data, where),
        currency=text(data, "currencyCode", where),
        total=_shop_money(data, "totalPriceSet", where),
        subtotal=_shop_money(data, "subtotalPriceSet", where, Decimal(0)),
        created_at=required_time(data, "createdAt", where),
        updated_at=required_time(data, "updatedAt", where),
        financial_status=financial,
        fulfillment_status=fulfillment,
        customer=customer_from_graphql(customer, locale=locale) if customer else None,
        email=optional_text(data, "email", where) or (_graphql_email(customer) if customer else None),
        total_discounts=_shop_money(data, "totalDiscountsSet", where, Decimal(0)),
        total_tax=_shop_money(data, "totalTaxSet", where, Decimal(0)),
        paid_at=processed_at if financial in _PAID else None,
        cancelled_at=optional_time(data, "cancelledAt", where),
        cancel_reason=reason.lower() if reason else None,
        closed_at=optional_time(data, "closedAt", where),
        fulfilled_at=_fulfilled_at([(str(f.get("status", "")).lower(), optional_time(f, "createdAt", where))
                                    for f in objects(data, "fulfillments", where)], fulfillment),
        discount_codes=tuple(str(code) for code in data.get("discountCodes") or ()),
        line_items=tuple(_line_item_graphql(as_object(item, f"{where} line item"), where) for item in items),
        refunds=tuple(_refund_graphql(r, where) for r in objects(data, "refunds", where)),
    )


_NO_LOCALE = object()


def customer_from_graphql(node: Mapping, locale: Any = _NO_LOCALE) -> Customer:
    """A Customer node; on an order, ``locale`` is the order's customer locale (see the module doc)."""
    data = as_object(node, "customer")
    where = f"customer {data.get('id')!r}"
    address = data.get("defaultEmailAddress")
    address = address if isinstance(address, Mapping) else {}
    return Customer(
        platform_id=numeric_id(data.get("id"), "Customer", where),
        email=optional_text(address, "emailAddress", where),
        first_name=optional_text(data, "firstName", where),
        last_name=optional_text(data, "lastName", where),
        accepts_marketing=address.get("marketingState") == "SUBSCRIBED",
        locale=optional_text(data, "locale", where) if locale is _NO_LOCALE else locale,
        created_at=optional_time(data, "createdAt", where),
        updated_at=optional_time(data, "updatedAt", where),
    )


def connection_nodes(connection: Any, where: str) -> list[Mapping]:
    """The items of a connection selected as ``nodes`` or as ``edges { node }``."""
    if connection is None:
        return []
    connection = as_object(connection, f"{where} connection")
    if isinstance(connection.get("nodes"), list):
        return connection["nodes"]
    return [as_object(edge, f"{where} edge").get("node") for edge in connection.get("edges") or []]


def _graphql_email(customer: Any) -> str | None:
    address = customer.get("defaultEmailAddress") if isinstance(customer, Mapping) else None
    return address.get("emailAddress") if isinstance(address, Mapping) else None


def _line_item_graphql(data: Mapping, where: str) -> LineItem:
    where = f"{where} line item {data.get('id')!r}"
    count = quantity(data.get("quantity"), where)
    price = _shop_money(data, "originalUnitPriceSet", where)
    product = data.get("product")
    product_id = numeric_id(product.get("id"), "Product", where) if isinstance(product, Mapping) else None
    return LineItem(platform_id=numeric_id(data.get("id"), "LineItem", where),
                    title=text(data, "title", where), quantity=count, unit_price=price,
                    sku=optional_text(data, "sku", where), product_id=product_id,
                    total=price * count - _shop_money(data, "totalDiscountSet", where, Decimal(0)))


def _refund_graphql(data: Mapping, where: str) -> Refund:
    where = f"{where} refund {data.get('id')!r}"
    created = optional_time(data, "createdAt", where) or required_time(data, "processedAt", where)
    return Refund(platform_id=numeric_id(data.get("id"), "Refund", where),
                  amount=_shop_money(data, "totalRefundedSet", where), created_at=created,
                  reason=optional_text(data, "note", where))


# -- discounts: our spec -> Shopify's input
_COMBINES = {DiscountClass.ORDER: "orderDiscounts", DiscountClass.PRODUCT: "productDiscounts",
             DiscountClass.SHIPPING: "shippingDiscounts"}


def discount_input(spec: DiscountSpec, starts_at: datetime) -> tuple[str, dict]:
    """(operation, input) creating ``spec``: a basic code for amounts, percentages and a free product
    (100 % off that product: Shopify takes it off every unit of it in the cart, and usage limit 1 makes it
    one order), else free shipping (rates up to ``shipping_cap`` made free)."""
    data: dict[str, Any] = {
        "title": spec.title, "code": spec.code, "startsAt": iso(starts_at),
        "endsAt": iso(spec.ends_at) if spec.ends_at else None,
        "usageLimit": spec.usage_limit, "appliesOncePerCustomer": True,
        "context": ({"customers": {"add": [gid("Customer", spec.customer_platform_id)]}}
                    if spec.customer_platform_id else {"all": "ALL"}),
        "combinesWith": {field: kind in spec.combines_with for kind, field in _COMBINES.items()},
    }
    if spec.minimum_subtotal is not None:
        minimum = {"greaterThanOrEqualToSubtotal": str(spec.minimum_subtotal)}
        data["minimumRequirement"] = {"subtotal": minimum}
    if spec.kind is DiscountKind.FREE_SHIPPING:
        data["destination"] = {"all": True}
        data["maximumShippingPrice"] = str(spec.shipping_cap) if spec.shipping_cap is not None else None
        return "DiscountCodeFreeShippingCreate", data
    if spec.kind is DiscountKind.PERCENTAGE:
        value: dict[str, Any] = {"percentage": float(spec.value / 100)}
    elif spec.kind is DiscountKind.FREE_PRODUCT:
        value = {"percentage": 1.0}
    else:
        value = {"discountAmount": {"amount": str(spec.value), "appliesOnEachItem": False}}
    data["customerGets"] = {"value": value, "items": _items(spec)}
    return "DiscountCodeBasicCreate", data


def _items(spec: DiscountSpec) -> dict:
    if spec.product_ids:
        return {"products": {"productsToAdd": [gid("Product", product) for product in spec.product_ids]}}
    if spec.collection_ids:
        return {"collections": {"add": [gid("Collection", collection) for collection in spec.collection_ids]}}
    return {"all": True}


def discount_refusal(errors: list[Mapping]) -> str:
    """The PlatformRefused reason for a discount mutation's userErrors: what the shopper is told."""
    for error in errors:
        path = [str(part) for part in error.get("field") or []]
        if error.get("code") == "TAKEN" and "code" in path:
            return DiscountRefused.CODE_TAKEN
        if "customers" in path or "context" in path:
            return DiscountRefused.CUSTOMER_NOT_FOUND
        if any(part in ("items", "products", "productsToAdd", "collections", "add") for part in path):
            return DiscountRefused.PRODUCT_NOT_FOUND
    return DiscountRefused.INVALID


def discount_node(node: Mapping) -> tuple[str, str | None, str | None, datetime | None]:
    """(numeric id, title, first code, ends at) of a DiscountCodeNode."""
    data = as_object(node, "discount")
    where = f"discount {data.get('id')!r}"
    code = as_object(data.get("codeDiscount") or {}, where)
    codes = connection_nodes(code.get("codes"), where)
    return (numeric_id(data.get("id"), "DiscountCodeNode", where), optional_text(code, "title", where),
            optional_text(codes[0], "code", where) if codes else None, optional_time(code, "endsAt", where))


# -- store credit and customer loyalty (GraphQL nodes)
def credit_from_node(node: Mapping, key: str, customer_platform_id: str) -> StoreCredit:
    """A StoreCreditAccountCreditTransaction node (CreditFields) as the neutral StoreCredit."""
    data = as_object(node, "store credit transaction")
    where = f"store credit {data.get('id')!r}"
    amount = as_object(data.get("amount"), f"{where} amount")
    balance = as_object(data.get("balanceAfterTransaction"), f"{where} balance")
    return StoreCredit(platform_id=numeric_id(data.get("id"), "StoreCreditAccountCreditTransaction", where),
                       key=key, customer_platform_id=customer_platform_id,
                       amount=amount_of(amount.get("amount"), f"{where} amount"),
                       currency=text(amount, "currencyCode", where),
                       balance=amount_of(balance.get("amount"), f"{where} balance"),
                       expires_at=optional_time(data, "expiresAt", where))


def credit_created_at(node: Mapping) -> datetime:
    data = as_object(node, "store credit transaction")
    return required_time(data, "createdAt", f"store credit {data.get('id')!r}")


def loyalty_from_node(node: Mapping) -> tuple[list[str], CustomerLoyalty]:
    """(tags, loyalty) of a Customer node as customer_loyalty.graphql selects it."""
    data = as_object(node, "customer")
    where = f"customer {data.get('id')!r}"
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise InvalidPayload(f"{where}: tags must be a list of text")
    tier = (data.get("tier") or {}).get("value")
    balance = (data.get("balance") or {}).get("value")
    return tags, CustomerLoyalty(tier=tier, balance=amount_of(balance, f"{where} balance") if balance else None)


def iso(moment: datetime) -> str:
    """A time as Shopify's DateTime input: UTC with 'Z'."""
    if moment.tzinfo is None:
        raise ValueError("discount times must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- readers shared by both shapes
def _financial(value: Any, where: str) -> FinancialStatus:
    if value is None:
        return FinancialStatus.PENDING
    try:
        return _FINANCIAL[str(value).lower()]
    except KeyError:
        raise InvalidPayload(f"{where}: unknown financial status {value!r}") from None


def _fulfillment(value: Any, where: str) -> FulfillmentStatus:
    if value is not None and not isinstance(value, str):
        raise InvalidPayload(f"{where}: fulfillment status must be text, not {value!r}")
    return _FULFILLMENT.get((value or "").lower(), FulfillmentStatus.UNFULFILLED)


def _fulfilled_at(fulfillments: list[tuple[Any, datetime | None]],
                  status: FulfillmentStatus) -> datetime | None:
    if status is not FulfillmentStatus.FULFILLED:
        return None
    return max((at for state, at in fulfillments if state == "success" and at is not None), default=None)


def _number(data: Mapping, where: str) -> str:
    name = data.get("name")
    if isinstance(name, str) and name.strip().lstrip("#").strip():
        return name.strip().removeprefix("#").strip()
    raise InvalidPayload(f"{where}: name is missing")


def _shop_money(data: Mapping, key: str, where: str, default: Decimal | None = None) -> Decimal:
    bag = data.get(key)
    if bag is None and default is not None:
        return default
    shop = as_object(bag, f"{where} {key}").get("shopMoney")
    return amount_of(as_object(shop, f"{where} {key}.shopMoney").get("amount"), f"{where} {key}")
