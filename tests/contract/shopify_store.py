"""The records behind the Shopify simulator, and both of Shopify's shapes for them.

A shop is generated from a seed (like the sandbox's), then served two ways: as Admin GraphQL nodes
(camelCase, gids, MoneyBags, UTC 'Z' times) by the simulator, and as REST resources (snake_case,
numeric ids, money strings, the shop's local UTC offset) in webhooks. The REST shape follows Shopify's
documented Order/Customer/Refund resources (see tests/fixtures/shopify/README.md); the GraphQL shape
is whatever the 2026-10 schema lets a document select, since the simulator executes documents against it.
"""
from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
# What a shop grants the app unless a test says otherwise: app.yaml's scopes and its optional ones.
ALL_SCOPES = ("read_customers", "write_customers", "read_orders", "read_products", "write_discounts",
              "read_returns", "write_returns", "read_fulfillments", "read_store_credit_accounts",
              "read_store_credit_account_transactions", "write_store_credit_account_transactions")
SHOP_TZ = timezone(timedelta(hours=-5))  # the shop's zone: REST times carry its offset
_DISPLAY_FULFILLMENT = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED"}


@dataclass
class SimCustomer:
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    locale: str
    subscribed: bool
    created_at: datetime
    updated_at: datetime
    tags: list[str] = field(default_factory=list)
    metafields: dict[tuple[str, str], dict] = field(default_factory=dict)  # (namespace, key) -> metafield
    store_credit: dict[str, list[dict]] = field(default_factory=dict)  # currency -> credit transactions


@dataclass
class SimLine:
    id: int
    title: str
    quantity: int
    price: Decimal
    sku: str | None
    product_id: int | None
    discount: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity - self.discount


@dataclass
class SimRefund:
    id: int
    created_at: datetime
    note: str | None
    amount: Decimal


@dataclass
class SimOrder:
    id: int
    number: int
    email: str | None
    created_at: datetime
    updated_at: datetime
    financial: str  # REST financial_status
    fulfillment: str | None  # REST fulfillment_status
    customer: SimCustomer | None
    customer_locale: str
    lines: list[SimLine]
    tax: Decimal
    refunds: list[SimRefund] = field(default_factory=list)
    fulfillments: list[tuple[datetime, str]] = field(default_factory=list)
    discount_codes: list[str] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None

    @property
    def subtotal(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    @property
    def total_discounts(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal("0.00"))


@dataclass
class SimShop:
    domain: str
    token: str
    currency: str
    orders: dict[int, SimOrder]
    customers: dict[int, SimCustomer]
    subscriptions: list[dict] = field(default_factory=list)
    discounts: dict[str, dict] = field(default_factory=dict)
    products: set[int] = field(default_factory=set)  # the catalogue's product ids
    collections: set[int] = field(default_factory=set)
    granted_scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))


PRODUCT_BASE, COLLECTION_BASE = 8_800_000_000, 4_400_000_000


def build_shop(domain: str, token: str, *, seed: int, orders: int, customers: int, id_base: int,
               now: datetime, currency: str = "USD") -> SimShop:
    """A shop with guests, refunds (partial and full), fulfilments, cancellations, and one order with
    more line items than fit on a page, spread over four months so updated_since splits it."""
    rng = random.Random(seed)
    people = {}
    for i in range(customers):
        created = _moment(now, rng, 150, 400)
        updated = created + timedelta(days=rng.randint(0, 140), seconds=rng.randint(1, 9_999))
        person = SimCustomer(id=7_100_000_000 + id_base + i, email=f"customer{id_base + i}@example.com",
                             first_name=rng.choice(["Ada", "Jan", "Maria", "Omar", "Li"]),
                             last_name=rng.choice(["Nowak", "Smith", "Garcia", "Chen", None]),
                             locale=rng.choice(["en", "pl", "fr"]), subscribed=rng.random() < 0.5,
                             created_at=created, updated_at=updated)
        people[person.id] = person
    shop = SimShop(domain=domain, token=token, currency=currency, orders={}, customers=people,
                   products={PRODUCT_BASE + n for n in range(13)}, collections={COLLECTION_BASE + n for n in range(3)})
    line_id = 1_330_000_000 + id_base * 100
    for i in range(orders):
        created = _moment(now, rng, 2, 120)
        customer = None if i % 7 == 3 else rng.choice(list(people.values()))
        lines = []
        for _ in range(13 if i == 5 else rng.randint(1, 4)):
            line_id += 1
            price = Decimal(rng.randint(500, 9_000)) / 100
            quantity = rng.randint(1, 3)
            discounted = rng.random() < 0.3
            discount = (price * quantity * Decimal("0.1")).quantize(CENT) if discounted else Decimal("0.00")
            lines.append(SimLine(id=line_id, title=rng.choice(["Linen shirt", "Mug", "Tea tin", "Scarf"]),
                                 quantity=quantity, price=price,
                                 sku=rng.choice([f"SKU-{line_id % 97}", None]),
                                 product_id=rng.choice([PRODUCT_BASE + line_id % 13, None]),
                                 discount=discount))
        subtotal = sum((line.total for line in lines), Decimal(0))
        order = SimOrder(id=5_500_000_000 + id_base + i, number=1001 + i,
                         email=customer.email if customer else f"guest{id_base + i}@example.com",
                         created_at=created, updated_at=created, financial="paid", fulfillment=None,
                         customer=customer, customer_locale=rng.choice(["en", "pl"]), lines=lines,
                         tax=(subtotal * Decimal("0.08")).quantize(CENT, rounding=ROUND_HALF_UP),
                         discount_codes=["WELCOME10"] if any(line.discount for line in lines) else [])
        _give_history(order, rng, now, refund_base=9_100_000_000 + id_base * 10 + i * 3)
        shop.orders[order.id] = order
    return shop


def _moment(now: datetime, rng: random.Random, min_days: int, max_days: int) -> datetime:
    ago = timedelta(days=rng.randint(min_days, max_days), seconds=rng.randint(0, 86_399))
    return (now - ago).replace(microsecond=0)


def _give_history(order: SimOrder, rng: random.Random, now: datetime, refund_base: int) -> None:
    roll = rng.random()
    moment = order.created_at
    if roll < 0.1:
        order.financial = "pending"
    elif roll < 0.15:
        order.financial, order.cancel_reason = "voided", "customer"
        order.cancelled_at = moment = moment + timedelta(hours=5)
    elif roll < 0.3:
        order.financial = "partially_refunded"
        moment += timedelta(days=3)
        order.refunds.append(SimRefund(refund_base, moment, "Damaged in transit",
                                       (order.total * Decimal("0.3")).quantize(CENT)))
    elif roll < 0.4:
        order.financial = "refunded"
        first = (order.total / 2).quantize(CENT)
        order.refunds += [SimRefund(refund_base, moment + timedelta(days=2), None, first),
                          SimRefund(refund_base + 1, moment + timedelta(days=4), "Rest", order.total - first)]
        moment += timedelta(days=4)
    if order.financial in ("paid", "partially_refunded") and rng.random() < 0.6:
        full = rng.random() < 0.7
        order.fulfillment = "fulfilled" if full else "partial"
        moment = max(moment, order.created_at + timedelta(days=1, hours=rng.randint(0, 20)))
        order.fulfillments.append((moment, "success"))
        if full and rng.random() < 0.5:
            order.closed_at = moment
    order.updated_at = min(now, moment + timedelta(minutes=rng.randint(1, 600)))


# -- GraphQL nodes
def gid(kind: str, value: int) -> str:
    return f"gid://shopify/{kind}/{value}"


def utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def bag(amount: Decimal, currency: str) -> dict:
    money = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


def cursor_for(value: int) -> str:
    return base64.b64encode(json.dumps({"last_id": value}).encode()).decode()


def connection(items: list, args: dict, render: Callable[[Any], dict]) -> dict:
    """A Relay connection over ``items`` (sorted by id): Shopify's opaque cursors carry the last id."""
    after, first = args.get("after"), args.get("first")
    if after:
        last = json.loads(base64.b64decode(after))["last_id"]
        items = [item for item in items if item.id > last]
    page = items if first is None else items[:first]
    edges = [{"cursor": cursor_for(item.id), "node": render(item)} for item in page]
    return {"edges": edges, "nodes": [edge["node"] for edge in edges],
            "pageInfo": {"hasNextPage": len(page) < len(items), "hasPreviousPage": bool(after),
                         "startCursor": edges[0]["cursor"] if edges else None,
                         "endCursor": edges[-1]["cursor"] if edges else None}}


def email_address(customer: SimCustomer) -> dict | None:
    if customer.email is None:
        return None
    state = "SUBSCRIBED" if customer.subscribed else "NOT_SUBSCRIBED"
    return {"emailAddress": customer.email, "marketingState": state}


def gql_customer(customer: SimCustomer) -> dict:
    return {"id": gid("Customer", customer.id), "legacyResourceId": str(customer.id),
            "firstName": customer.first_name, "lastName": customer.last_name, "locale": customer.locale,
            "displayName": " ".join(p for p in (customer.first_name, customer.last_name) if p),
            "createdAt": utc(customer.created_at), "updatedAt": utc(customer.updated_at),
            "defaultEmailAddress": email_address(customer), "tags": list(customer.tags),
            "metafield": lambda info, key, namespace=None: customer.metafields.get((app_namespace(namespace), key)),
            "storeCreditAccounts": lambda info, **args: store_credit_accounts(customer, args)}


APP_ID = 580111


def app_namespace(namespace: str | None) -> str:
    """Shopify's resolution of the app-reserved namespace: ``$app:loyalty`` -> ``app--580111--loyalty``."""
    if namespace is None or namespace == "$app":
        return f"app--{APP_ID}"
    if namespace.startswith("$app:"):
        return f"app--{APP_ID}--{namespace[len('$app:'):]}"
    return namespace


def store_credit_accounts(customer: SimCustomer, args: dict) -> dict:
    """The customer's accounts (one per currency), filtered by ``currency_code:XXX``; transactions newest
    first (our documents ask reverse: true), credits only for ``type:credit``."""
    query = args.get("query") or ""
    wanted = query.split(":", 1)[1] if query.startswith("currency_code:") else None
    accounts = []
    for n, (currency, credits) in enumerate(sorted(customer.store_credit.items())):
        if wanted is not None and currency != wanted:
            continue
        balance = credits[-1]["balanceAfterTransaction"]["amount"] if credits else "0.0"
        accounts.append({"id": gid("StoreCreditAccount", customer.id * 10 + n),
                         "balance": {"amount": balance, "currencyCode": currency},
                         "transactions": lambda info, rows=credits, **a: {
                             "nodes": (list(reversed(rows)) if a.get("reverse") else list(rows))[:a.get("first") or 250],
                             "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}}})
    return {"nodes": accounts[:args.get("first") or 250],
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}}


def gql_line(line: SimLine, currency: str) -> dict:
    return {"id": gid("LineItem", line.id), "title": line.title, "name": line.title,
            "quantity": line.quantity, "sku": line.sku,
            "product": {"id": gid("Product", line.product_id)} if line.product_id else None,
            "originalUnitPriceSet": bag(line.price, currency),
            "totalDiscountSet": bag(line.discount, currency)}


def gql_order(order: SimOrder, currency: str) -> dict:
    return {
        "id": gid("Order", order.id), "legacyResourceId": str(order.id), "name": f"#{order.number}",
        "number": order.number, "email": order.email,
        "createdAt": utc(order.created_at), "updatedAt": utc(order.updated_at),
        "processedAt": utc(order.created_at), "cancelledAt": utc(order.cancelled_at),
        "cancelReason": order.cancel_reason.upper() if order.cancel_reason else None,
        "closedAt": utc(order.closed_at), "closed": order.closed_at is not None,
        "currencyCode": currency, "customerLocale": order.customer_locale,
        "displayFinancialStatus": order.financial.upper(),
        "displayFulfillmentStatus": _DISPLAY_FULFILLMENT[order.fulfillment],
        "discountCodes": list(order.discount_codes),
        "totalPriceSet": bag(order.total, currency), "subtotalPriceSet": bag(order.subtotal, currency),
        "totalDiscountsSet": bag(order.total_discounts, currency), "totalTaxSet": bag(order.tax, currency),
        "customer": gql_customer(order.customer) if order.customer else None,
        "refunds": [{"id": gid("Refund", r.id), "createdAt": utc(r.created_at),
                     "processedAt": utc(r.created_at), "note": r.note,
                     "totalRefundedSet": bag(r.amount, currency)} for r in order.refunds],
        "fulfillments": [{"createdAt": utc(at), "status": status.upper()}
                         for at, status in order.fulfillments],
        "lineItems": lambda info, **args: connection(order.lines, args,
                                                     lambda line: gql_line(line, currency)),
    }


# -- REST resources (webhook bodies)
def local(moment: datetime | None) -> str | None:
    return moment.astimezone(SHOP_TZ).isoformat() if moment else None


def money_set(amount: Decimal, currency: str) -> dict:
    return {"shop_money": {"amount": str(amount), "currency_code": currency},
            "presentment_money": {"amount": str(amount), "currency_code": currency}}


def rest_customer(customer: SimCustomer, currency: str) -> dict:
    return {
        "id": customer.id, "email": customer.email, "created_at": local(customer.created_at),
        "updated_at": local(customer.updated_at), "first_name": customer.first_name,
        "last_name": customer.last_name, "state": "enabled", "note": None, "verified_email": True,
        "multipass_identifier": None, "tax_exempt": False, "phone": None, "currency": currency,
        "email_marketing_consent": {"state": "subscribed" if customer.subscribed else "not_subscribed",
                                    "opt_in_level": "single_opt_in", "consent_updated_at": None},
        "sms_marketing_consent": None, "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", customer.id), "default_address": None,
    }


def rest_refund(refund: SimRefund, order: SimOrder, currency: str) -> dict:
    return {
        "id": refund.id, "admin_graphql_api_id": gid("Refund", refund.id), "order_id": order.id,
        "created_at": local(refund.created_at), "processed_at": local(refund.created_at), "note": refund.note,
        "restock": False, "user_id": None, "order_adjustments": [], "refund_line_items": [],
        "transactions": [{
            "id": refund.id + 17, "admin_graphql_api_id": gid("OrderTransaction", refund.id + 17),
            "order_id": order.id, "kind": "refund", "gateway": "shopify_payments", "status": "success",
            "message": None, "created_at": local(refund.created_at), "test": False, "authorization": None,
            "parent_id": order.id + 11, "processed_at": local(refund.created_at), "source_name": "web",
            "amount": str(refund.amount), "currency": currency,
        }],
    }


def rest_line(line: SimLine, currency: str) -> dict:
    allocations = ([{"amount": str(line.discount), "amount_set": money_set(line.discount, currency),
                     "discount_application_index": 0}] if line.discount else [])
    return {
        "id": line.id, "admin_graphql_api_id": gid("LineItem", line.id),
        "fulfillable_quantity": line.quantity,
        "fulfillment_service": "manual", "fulfillment_status": None, "gift_card": False, "grams": 200,
        "name": line.title, "price": str(line.price), "price_set": money_set(line.price, currency),
        "product_exists": line.product_id is not None, "product_id": line.product_id, "properties": [],
        "quantity": line.quantity, "requires_shipping": True, "sku": line.sku or "", "taxable": True,
        "title": line.title, "total_discount": str(line.discount),
        "total_discount_set": money_set(line.discount, currency), "variant_id": None, "variant_title": None,
        "vendor": "Storecare Goods", "tax_lines": [], "duties": [], "discount_allocations": allocations,
    }


def rest_order(order: SimOrder, currency: str) -> dict:
    return {
        "id": order.id, "admin_graphql_api_id": gid("Order", order.id), "app_id": 580111,
        "browser_ip": "203.0.113.7", "buyer_accepts_marketing": False, "cancel_reason": order.cancel_reason,
        "cancelled_at": local(order.cancelled_at), "closed_at": local(order.closed_at),
        "confirmation_number": f"C{order.id % 1_000_000:06d}", "confirmed": True,
        "contact_email": order.email,
        "created_at": local(order.created_at), "currency": currency, "customer_locale": order.customer_locale,
        "discount_codes": [{"code": code, "amount": str(order.total_discounts), "type": "percentage"}
                           for code in order.discount_codes],
        "email": order.email, "estimated_taxes": False, "financial_status": order.financial,
        "fulfillment_status": order.fulfillment, "name": f"#{order.number}", "note": None,
        "number": order.number - 1000, "order_number": order.number,
        "presentment_currency": currency, "processed_at": local(order.created_at), "source_name": "web",
        "subtotal_price": str(order.subtotal), "subtotal_price_set": money_set(order.subtotal, currency),
        "tags": "", "taxes_included": False, "test": False,
        "total_discounts": str(order.total_discounts),
        "total_discounts_set": money_set(order.total_discounts, currency),
        "total_line_items_price": str(sum((line.price * line.quantity for line in order.lines), Decimal(0))),
        "total_price": str(order.total), "total_price_set": money_set(order.total, currency),
        "total_tax": str(order.tax), "total_tax_set": money_set(order.tax, currency), "total_weight": 0,
        "updated_at": local(order.updated_at), "user_id": None,
        "customer": rest_customer(order.customer, currency) if order.customer else None,
        "fulfillments": [{"id": order.id + 21 + n, "order_id": order.id, "created_at": local(at),
                          "updated_at": local(at), "status": status, "service": "manual",
                          "tracking_company": None, "tracking_number": None, "tracking_numbers": [],
                          "name": f"#{order.number}.{n + 1}"}
                         for n, (at, status) in enumerate(order.fulfillments)],
        "line_items": [rest_line(line, currency) for line in order.lines],
        "refunds": [rest_refund(refund, order, currency) for refund in order.refunds],
        "shipping_lines": [], "tax_lines": [], "billing_address": None, "shipping_address": None,
    }
