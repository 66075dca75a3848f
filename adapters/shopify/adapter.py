"""ShopifyAdapter: one Shopify shop behind the PlatformAdapter interface, over the Admin GraphQL API.

Built per shop and per job (cheap): it holds the shop's connection, the app's shared requests session
and, through its AdminClient, what it has learnt about the shop's rate-limit bucket. The access token
is ``connection.credentials["access_token"]``; refreshing it is the token layer's job (oauth.py),
which builds a new adapter with the new token.

Pages: a page of orders asks for at most what keeps the query under Shopify's 1,000-point limit (about
a dozen orders with their first ten line items each); an order with more line items has the rest
fetched before it is returned. Callers get fewer than ``limit`` items on a page and follow
``next_cursor`` (Shopify's endCursor) as with any adapter; ``updated_since`` must be passed again with
each cursor. A whole-shop backfill of orders should use the bulk export instead (start_bulk_orders).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import requests

from adapters.base import (
    Capability,
    Connection,
    Customer,
    CustomerLoyalty,
    DiscountCode,
    DiscountSpec,
    Order,
    Page,
    Platform,
    StoreCredit,
    StoreCreditSpec,
    WebhookAction,
    WebhookCheck,
    WebhookEnvelope,
    WebhookHeaders,
    WebhookState,
    supports,
)
from adapters.errors import AdapterError, DiscountRefused, InvalidPayload, NotFound, Unsupported
from adapters.shopify import bulk, customer_loyalty, documents, mapping, store_credit, webhooks
from adapters.shopify.bulk import BulkExport
from adapters.shopify.client import DEFAULT_POLICY, AdminClient, RetryPolicy
from adapters.shopify.throttle import CostBucket, largest_page

DEFAULT_API_VERSION = "2026-10"
MAX_PAGE = 250
LIST_LINE_ITEMS = 10  # per order on a page; the rest are fetched for the orders that have more
ORDER_LINE_ITEMS = 100  # per request when fetching one order or the rest of its line items
SUBSCRIPTIONS_PAGE = 100


class ShopifyAdapter:
    platform = Platform.SHOPIFY
    capabilities = frozenset({Capability.STORE_CREDIT, Capability.FREE_SHIPPING_CAP,
                              Capability.COLLECTION_RESTRICTIONS})
    # The access scopes each capability needs beyond the app's required ones (app.yaml's optional_scopes).
    SCOPES: dict[Capability, tuple[str, ...]] = {
        Capability.STORE_CREDIT: ("read_store_credit_accounts", "read_store_credit_account_transactions",
                                  "write_store_credit_account_transactions"),
    }

    def __init__(self, connection: Connection, http: requests.Session, api_version: str = DEFAULT_API_VERSION,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, policy: RetryPolicy = DEFAULT_POLICY):
        self.connection = connection
        self._http = http
        self._domain = connection.shop_domain.strip().lower()
        self.client = AdminClient(http, self._domain, connection.credentials.get("access_token"), api_version,
                                  CostBucket(clock), sleep, rng, policy)

    def __repr__(self) -> str:
        return f"ShopifyAdapter({self._domain!r})"

    # -- webhooks: the shop is not known until the headers are read
    @classmethod
    def read_webhook_headers(cls, headers: Mapping[str, str]) -> WebhookHeaders:
        return webhooks.read_headers(headers)

    @classmethod
    def read_webhook(cls, headers: Mapping[str, str], body: bytes,
                     read: WebhookHeaders | None = None) -> WebhookEnvelope:
        return webhooks.read_envelope(headers, body, read)

    @classmethod
    def order_from_payload(cls, payload: Mapping) -> Order:
        return mapping.order_from_rest(payload)

    @classmethod
    def customer_from_payload(cls, payload: Mapping) -> Customer:
        return mapping.customer_from_rest(payload)

    @classmethod
    def refund_order_id(cls, payload: Mapping) -> str:
        """A refunds/create payload is a Refund, not an Order: the id of the order to fetch instead."""
        return mapping.refund_order_id(payload)

    @classmethod
    def referenced_order_id(cls, topic: str, payload: Mapping) -> str | None:
        """For a payload that is a part of an order (refunds/create: a Refund; fulfillments/*: a
        Fulfillment), the id of the whole order to fetch; None for every other topic."""
        if topic == "refunds/create":
            return mapping.refund_order_id(payload)
        if topic in ("fulfillments/create", "fulfillments/update"):
            return mapping.numeric_id(mapping.as_object(payload, "fulfillment").get("order_id"), "Order",
                                      f"{topic} payload")
        return None

    @classmethod
    def bulk_operation_id(cls, payload: Mapping) -> str:
        """The operation a bulk_operations/finish payload reports on (its ``admin_graphql_api_id``)."""
        value = payload.get("admin_graphql_api_id")
        if not isinstance(value, str) or not value.startswith(mapping.GID_PREFIX + "BulkOperation/"):
            raise InvalidPayload("bulk_operations/finish payload has no bulk operation id")
        return value

    # -- reading
    def list_orders(self, cursor: str | None = None, limit: int = 100,
                    updated_since: datetime | None = None) -> Page[Order]:
        document = documents.load("orders")
        variables = {"after": cursor, "query": _since(updated_since), "lineItemsFirst": LIST_LINE_ITEMS}
        first = largest_page(document, "Orders", variables, "first", _limit(limit))
        data = self.client.execute(document, "Orders", {**variables, "first": first}, site=f"Orders:{first}")
        connection = data["orders"]
        orders = [self._whole_order(node) for node in mapping.connection_nodes(connection, "orders")]
        return Page(items=orders, next_cursor=_next(connection))

    def list_customers(self, cursor: str | None = None, limit: int = 100,
                       updated_since: datetime | None = None) -> Page[Customer]:
        first = _limit(limit)
        data = self.client.execute(documents.load("customers"), "Customers",
                                   {"first": first, "after": cursor, "query": _since(updated_since)},
                                   site=f"Customers:{first}")
        connection = data["customers"]
        return Page(items=[mapping.customer_from_graphql(node)
                           for node in mapping.connection_nodes(connection, "customers")],
                    next_cursor=_next(connection))

    def get_order(self, platform_id: str) -> Order:
        order_gid = _gid("Order", platform_id)
        data = self.client.execute(documents.load("orders"), "Order",
                                   {"id": order_gid, "lineItemsFirst": ORDER_LINE_ITEMS})
        if not data.get("order"):
            raise NotFound(f"no order {platform_id!r} in {self._domain}")
        return self._whole_order(data["order"])

    def get_customer(self, platform_id: str) -> Customer:
        data = self.client.execute(documents.load("customers"), "Customer",
                                   {"id": _gid("Customer", platform_id)})
        if not data.get("customer"):
            raise NotFound(f"no customer {platform_id!r} in {self._domain}")
        return mapping.customer_from_graphql(data["customer"])

    def count_orders(self, updated_since: datetime | None = None) -> int:
        data = self.client.execute(documents.load("orders"), "OrdersCount",
                                   {"query": _since(updated_since), "limit": None})
        count = data.get("ordersCount") or {}
        if not isinstance(count.get("count"), int):
            raise AdapterError("Shopify returned no order count")
        return count["count"]

    def list_order_ids(self, cursor: str | None = None, limit: int = 100) -> Page[str]:
        """Order ids only, by id (a deleted order is gone from Shopify: it is not listed)."""
        document = documents.load("orders")
        first = largest_page(document, "OrderIds", {"after": cursor}, "first", _limit(limit))
        data = self.client.execute(document, "OrderIds", {"first": first, "after": cursor},
                                   site=f"OrderIds:{first}")
        connection = data["orders"]
        return Page(items=[mapping.numeric_id(node.get("id"), "Order", "order ids")
                           for node in mapping.connection_nodes(connection, "orders")],
                    next_cursor=_next(connection))

    # -- bulk export (the orders backfill)
    def start_bulk_orders(self) -> str:
        """Start exporting every order; the bulk operation's id (poll it with bulk_status)."""
        return bulk.start_orders(self.client)

    def bulk_status(self, operation_id: str) -> BulkExport:
        return bulk.status(self.client, operation_id)

    def iter_bulk_orders(self, url: str, skip: int = 0) -> Iterator[Order]:
        """The export's orders in file order, after the first ``skip`` (to resume a batch)."""
        return bulk.iter_orders(self._http, url, skip)

    # -- writing
    def subscribe_webhooks(self, address: str, topics: Sequence[str], secret: str | None = None) -> list[str]:
        """Create the subscriptions missing at ``address``; return the topics created. ``secret`` is
        ignored: Shopify signs every webhook with the app's client secret."""
        return [c.topic for c in self.ensure_webhooks(address, topics, secret) if c.action is WebhookAction.CREATED]

    def ensure_webhooks(self, address: str, topics: Sequence[str],
                        secret: str | None = None) -> list[WebhookCheck]:
        """A Shopify subscription exists or not (Shopify deletes one that keeps failing; it has no paused
        state): each topic is active, or missing and created."""
        wanted = {webhooks.topic_enum(topic): topic for topic in topics}
        existing = self._subscribed(address)
        checks = []
        for enum, topic in wanted.items():
            if enum in existing:
                checks.append(WebhookCheck(topic, WebhookState.ACTIVE, WebhookAction.NONE))
                continue
            data = self.client.execute(documents.load("webhooks"), "WebhookSubscriptionCreate",
                                       {"topic": enum, "subscription": {"uri": address, "format": "JSON"}})
            payload = data.get("webhookSubscriptionCreate") or {}
            if payload.get("userErrors"):
                messages = "; ".join(str(e.get("message")) for e in payload["userErrors"])
                raise AdapterError(f"Shopify refused the {topic} webhook subscription: {messages}")
            checks.append(WebhookCheck(topic, WebhookState.MISSING, WebhookAction.CREATED))
        return checks

    def supports(self, capability: str) -> bool:
        return supports(self.capabilities, capability)

    def create_discount_code(self, spec: DiscountSpec) -> DiscountCode:
        """Create a single-use code. A retried request whose code already exists with the same title
        returns that code; a code taken by another discount, or anything else Shopify refuses, raises
        DiscountRefused (its message is the shopper's, Shopify's words its detail).

        A code cannot be limited to an email address (``customer_email``: Unsupported): a Shopify
        discount's eligibility (``context``) names customers, customer segments or everyone, each a
        customer record, and a guest has none. Making one (customerCreate) would add a person to the
        merchant's customers from an address typed into a widget, so we do not."""
        if spec.customer_email is not None:
            raise Unsupported(Capability.EMAIL_RESTRICTED_CODES)
        _known_ids(spec)
        operation, discount = mapping.discount_input(spec, datetime.now(UTC))
        data = self.client.execute(documents.load("discounts"), operation, {"discount": discount})
        payload = next(iter(data.values()), None) or {}
        errors = payload.get("userErrors") or []
        if errors:
            if any(e.get("code") == "TAKEN" for e in errors):
                existing = self._discount_by_code(spec.code)
                if existing is not None and existing[1] == spec.title:
                    return _discount(spec, existing)
            messages = "; ".join(str(e.get("message")) for e in errors)
            raise DiscountRefused.because(mapping.discount_refusal(errors),
                                          f"Shopify refused the discount code {spec.code}: {messages}")
        if not payload.get("codeDiscountNode"):
            raise AdapterError(f"Shopify created no discount code {spec.code} and gave no reason")
        return _discount(spec, mapping.discount_node(payload["codeDiscountNode"]))

    def issue_store_credit(self, spec: StoreCreditSpec) -> StoreCredit:
        """Credit the customer's store-credit account in ``spec.currency`` once per key (see
        store_credit.py). Needs the SCOPES of STORE_CREDIT: without them PermissionMissing."""
        return store_credit.issue(self.client, spec, datetime.now(UTC))

    def publish_customer_loyalty(self, customer_platform_id: str, tier: str | None,
                                 balance: Decimal | int) -> CustomerLoyalty:
        return customer_loyalty.publish(self.client, _gid("Customer", customer_platform_id),
                                        CustomerLoyalty(tier=tier, balance=balance))

    def customer_loyalty(self, customer_platform_id: str) -> CustomerLoyalty:
        return customer_loyalty.read(self.client, _gid("Customer", customer_platform_id))[1]

    def granted_scopes(self) -> list[str]:
        """The access scopes the merchant has granted the app on this shop, as Shopify says now."""
        data = self.client.execute(documents.load("app"), "GrantedScopes")
        scopes = ((data.get("currentAppInstallation") or {}).get("accessScopes")) or []
        return sorted(str(scope.get("handle")) for scope in scopes if scope.get("handle"))

    # -- helpers
    def _whole_order(self, node: Mapping) -> Order:
        """The order with all its line items: the first ones came with it, the rest are paged here."""
        items = list(mapping.connection_nodes(node.get("lineItems"), "order line items"))
        page = (node.get("lineItems") or {}).get("pageInfo") or {}
        while page.get("hasNextPage"):
            variables = {"id": node["id"], "first": ORDER_LINE_ITEMS, "after": page.get("endCursor")}
            data = self.client.execute(documents.load("orders"), "OrderLineItems", variables)
            connection = (data.get("order") or {}).get("lineItems")
            if connection is None:
                raise NotFound(f"order {node.get('id')} disappeared while its line items were read")
            items.extend(mapping.connection_nodes(connection, "order line items"))
            page = connection.get("pageInfo") or {}
        return mapping.order_from_graphql(node, line_items=items)

    def _subscribed(self, address: str) -> set[str]:
        topics: set[str] = set()
        after = None
        while True:
            data = self.client.execute(documents.load("webhooks"), "WebhookSubscriptions",
                                       {"first": SUBSCRIPTIONS_PAGE, "after": after, "uri": address})
            connection = data["webhookSubscriptions"]
            topics.update(str(n.get("topic")) for n in mapping.connection_nodes(connection, "subscriptions")
                          if n.get("uri") == address)
            after = _next(connection)
            if after is None:
                return topics

    def _discount_by_code(self, code: str):
        data = self.client.execute(documents.load("discounts"), "CodeDiscountByCode", {"code": code})
        node = data.get("codeDiscountNodeByCode")
        return mapping.discount_node(node) if node else None


def _discount(spec: DiscountSpec, node: tuple) -> DiscountCode:
    platform_id, _title, code, ends_at = node
    return DiscountCode(platform_id=platform_id, code=code or spec.code, kind=spec.kind, value=spec.value,
                        ends_at=ends_at or spec.ends_at)


def _known_ids(spec: DiscountSpec) -> None:
    """Ids that cannot be Shopify's are refused before asking (Shopify would refuse them too)."""
    if spec.customer_platform_id is not None and not str(spec.customer_platform_id).strip().isdigit():
        raise DiscountRefused.because(DiscountRefused.CUSTOMER_NOT_FOUND,
                                      f"{spec.customer_platform_id!r} is not a Shopify customer id")
    if not all(str(item).strip().isdigit() for item in (*spec.product_ids, *spec.collection_ids)):
        raise DiscountRefused.because(DiscountRefused.PRODUCT_NOT_FOUND,
                                      "a product or collection id is not a Shopify id")


def _gid(kind: str, platform_id: str) -> str:
    try:
        return mapping.gid(kind, platform_id)
    except ValueError:
        raise NotFound(f"no {kind.lower()} {platform_id!r}") from None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def _since(updated_since: datetime | None) -> str | None:
    """Shopify's search syntax for "updated at or after", whole seconds (Shopify keeps no more)."""
    if updated_since is None:
        return None
    if updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    moment = updated_since.astimezone(UTC).replace(microsecond=0)
    return f"updated_at:>='{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def _next(connection: Mapping) -> str | None:
    page = connection.get("pageInfo") or {}
    return page.get("endCursor") if page.get("hasNextPage") else None
