"""WooCommerceAdapter: the PlatformAdapter for one WooCommerce store, over REST v3.

Credentials (``Connection.credentials``): ``consumer_key`` and ``consumer_secret`` (from the
/wc-auth key handover), ``store_url`` (the address the keys were verified at; default
``https://<shop_domain>``) and optionally ``query_string_auth`` ("1": keys in the query string, for
https hosts that strip the Authorization header). Webhook and storefront secrets live beside them
but are the app's business. ``transport`` is the app's StoreTransport (which addresses may be called,
which CAs are trusted); without one, a strict transport of our own: public addresses only.

Listings are ordered by id and paged by number (see pages.py). Customers are the users with the
``customer`` role (the endpoint's default): ``role=all`` would list the administrator and the shop
managers too. WooCommerce's customers endpoint has no ``modified_after``, so
``list_customers(updated_since=...)`` filters the pages itself, reading on
until a page has a match so that no page before the last is empty. ``updated_since`` on orders is
sent as ``modified_after`` (GMT), one second earlier because WooCommerce's bound is exclusive and
its times whole seconds: "updated at or after" exactly.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

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
    Refund,
    StoreCredit,
    StoreCreditSpec,
    WebhookAction,
    WebhookCheck,
    WebhookEnvelope,
    WebhookHeaders,
    WebhookState,
    supports,
)
from adapters.errors import Deleted, DiscountRefused, InvalidPayload, NotFound, Unsupported
from adapters.woocommerce import mapping, webhooks
from adapters.woocommerce.client import TIMEOUT, Answer, StoreRefused, WooClient
from adapters.woocommerce.pages import (
    MAX_PER_PAGE,
    Fetched,
    Position,
    encode_cursor,
    fetch_in_order,
    start_position,
)
from adapters.woocommerce.transport import StoreTransport

_ORDERS, _CUSTOMERS, _ORDER_IDS = "orders", "customers", "order_ids"
TRASH = "trash"  # an order's status in WooCommerce's trash
PLUGIN_NAMESPACE = "wc-storecare/v1"  # our WordPress plugin's routes; "wc-" lets WooCommerce's key auth in
WEBHOOK_NAME = "Storecare"


@dataclass(frozen=True)
class StoreInfo:
    """What the store says about itself once our keys work (GET /system_status)."""

    home_url: str | None
    currency: str | None
    woocommerce_version: str | None


@dataclass(frozen=True)
class WebhookReconciliation:
    created: list[str] = field(default_factory=list)
    reenabled: list[str] = field(default_factory=list)  # were paused or disabled (5 failed deliveries)
    updated: list[str] = field(default_factory=list)  # active, given our current secret again
    checks: list[WebhookCheck] = field(default_factory=list)  # every topic: found, and done


class WooCommerceAdapter:
    platform = Platform.WOOCOMMERCE
    # WooCommerce core has no store credit (extensions sell it) and no price cap on free shipping;
    # collections are its product categories.
    capabilities = frozenset({Capability.COLLECTION_RESTRICTIONS, Capability.EMAIL_RESTRICTED_CODES})

    def __init__(self, connection: Connection, *, timeout: float | tuple[float, float] = TIMEOUT,
                 query_string_auth: bool | None = None, transport: StoreTransport | None = None):
        self.connection = connection
        creds = connection.credentials
        store_url = creds.get("store_url") or f"https://{connection.shop_domain}"
        if query_string_auth is None:
            query_string_auth = creds.get("query_string_auth") == "1"
        self._client = WooClient(store_url, creds.get("consumer_key", ""), creds.get("consumer_secret", ""),
                                 timeout=timeout, query_string_auth=query_string_auth, transport=transport)

    def __repr__(self) -> str:
        return f"WooCommerceAdapter({self._client.store_url!r})"

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
        return mapping.order_from_payload(payload)

    @classmethod
    def customer_from_payload(cls, payload: Mapping) -> Customer:
        return mapping.customer_from_payload(payload)

    @classmethod
    def is_customer(cls, payload: Mapping) -> bool:
        """Whether a customer.* body is a customer: WooCommerce sends them for every WordPress user (an
        administrator's profile edit too), and only the ``customer`` role is one."""
        return mapping.is_customer(payload)

    # -- reading
    def list_orders(self, cursor: str | None = None, limit: int = 100,
                    updated_since: datetime | None = None) -> Page[Order]:
        position = start_position(_ORDERS, cursor, limit, updated_since)
        fetched = self._order_page(position, position.page)
        return Page(items=fetched.items, next_cursor=_next_cursor(position, fetched))

    def iter_orders(self, cursor: str | None = None, updated_since: datetime | None = None, *,
                    pages_in_flight: int = 4, per_page: int = MAX_PER_PAGE,
                    clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep) -> Iterator[Page[Order]]:
        """Every page of orders from ``cursor`` (or the start), in order, with several requests in flight.

        Each page's ``next_cursor`` resumes after it, so a caller that commits it with the page loses at
        most the pages in flight on a crash. 429/503 pause every request for the store's Retry-After."""
        position = start_position(_ORDERS, cursor, per_page, updated_since)
        pages = fetch_in_order(lambda number: self._order_page(position, number), position.page, pages_in_flight,
                               clock=clock, sleep=sleep)
        for fetched in pages:
            yield Page(items=fetched.items, next_cursor=_next_cursor(position, fetched))

    def list_customers(self, cursor: str | None = None, limit: int = 100,
                       updated_since: datetime | None = None) -> Page[Customer]:
        position = start_position(_CUSTOMERS, cursor, limit, updated_since)
        number = position.page
        while True:
            answer = self._client.get("customers", {"page": number, "per_page": position.per_page,
                                                    "orderby": "id", "order": "asc"})  # role=customer
            fetched = Fetched(number, [mapping.customer_from_payload(c) for c in _rows(answer, "customers")],
                              _total_pages(answer, number))
            items = [c for c in fetched.items if _updated_since(c, position.since)]
            if items or number >= fetched.total_pages:
                return Page(items=items, next_cursor=_next_cursor(position, fetched))
            number += 1

    def get_order(self, platform_id: str) -> Order:
        """The order. One in the trash raises Deleted: WooCommerce still returns it (status ``trash``),
        but no listing or count includes it, so for us it is deleted, at its ``date_modified`` (trashing
        an order sets it)."""
        payload = _object(self._client.get(f"orders/{_numeric_id(platform_id, 'order')}"), "order")
        if payload.get("status") == TRASH:
            raise Deleted(f"order {platform_id!r} is in the trash", mapping.modified_at(payload))
        return mapping.order_from_payload(payload)

    def list_order_ids(self, cursor: str | None = None, limit: int = 100) -> Page[str]:
        """Order ids only (``_fields=id``), by id, 100 a page. The default ``status=any`` leaves the
        trash out, as the count (X-WP-Total) does."""
        position = start_position(_ORDER_IDS, cursor, limit, None)
        answer = self._client.get("orders", {"page": position.page, "per_page": position.per_page,
                                             "orderby": "id", "order": "asc", "_fields": "id"})
        ids = [_listed_id(row) for row in _rows(answer, "orders")]
        fetched = Fetched(position.page, ids, _total_pages(answer, position.page))
        return Page(items=ids, next_cursor=_next_cursor(position, fetched))

    def get_customer(self, platform_id: str) -> Customer:
        answer = self._client.get(f"customers/{_numeric_id(platform_id, 'customer')}")
        return mapping.customer_from_payload(_object(answer, "customer"))

    def list_refunds(self, order_id: str) -> list[Refund]:
        """An order's refunds with their own dates (the order JSON lists them undated; see mapping.py)."""
        order = self.get_order(order_id)
        answer = self._client.get(f"orders/{_numeric_id(order_id, 'order')}/refunds", {"per_page": MAX_PER_PAGE})
        return [mapping.refund_from_payload(r, order.updated_at) for r in _rows(answer, "refunds")]

    def count_orders(self, updated_since: datetime | None = None) -> int:
        answer = self._client.get("orders", {"per_page": 1, **_since_params(updated_since)})
        total = answer.header_int("X-WP-Total")
        if total is None:
            raise InvalidPayload("the store did not say how many orders it has (X-WP-Total)")
        return total

    def store_info(self) -> StoreInfo:
        """GET /system_status: proves the keys work (and may manage the store), and describes the store."""
        data = _object(self._client.get("system_status"), "system status")
        environment = data.get("environment") if isinstance(data.get("environment"), Mapping) else {}
        settings = data.get("settings") if isinstance(data.get("settings"), Mapping) else {}
        return StoreInfo(home_url=_text_or_none(environment.get("home_url")),
                         currency=_text_or_none(settings.get("currency")),
                         woocommerce_version=_text_or_none(environment.get("version")))

    def plugin_connection(self) -> Mapping[str, Any] | None:
        """What our WordPress plugin tells the keys' holder (its storefront secret), or None without it."""
        try:
            return _object(self._client.get("connection", version=PLUGIN_NAMESPACE), "plugin connection")
        except NotFound:
            return None

    def revoke_key(self, key_id: str) -> str:
        """Ask our WordPress plugin to delete a Storecare API key (WooCommerce's REST API has no way to):
        "revoked", "absent" (no such key any more), "refused" (not a Storecare key, or not one these keys'
        user may revoke) or "failed" (WordPress's database did not delete it). NotFound when the plugin
        (or this route of it, an older plugin) is not installed."""
        answer = _object(self._client.post("keys/revoke", {"key_id": _numeric_id(key_id, "API key")},
                                           version=PLUGIN_NAMESPACE), "key revocation")
        status = answer.get("status")
        if status not in ("revoked", "absent", "refused", "failed"):
            raise InvalidPayload("the plugin's key revocation answered no known status")
        return status

    # -- writing
    def subscribe_webhooks(self, address: str, topics: Sequence[str], secret: str | None = None) -> list[str]:
        """Create the missing webhooks and re-enable paused or disabled ones; return the topics created."""
        return self.reconcile_webhooks(address, topics, secret).created

    def reconcile_webhooks(self, address: str, topics: Sequence[str], secret: str | None,
                           *, reset_secret: bool = False) -> WebhookReconciliation:
        """Bring ``topics`` at ``address`` to active with ``secret``. WooCommerce disables a webhook after
        five failed deliveries and never retries: this is what turns it back on. ``reset_secret`` also
        gives active webhooks our secret (WooCommerce never shows it back): use it on (re)connection."""
        if not secret:
            raise ValueError("WooCommerce webhooks are signed with a secret we choose: pass one")
        existing = {(w.get("topic"), w.get("delivery_url")): w for w in self._webhooks()}
        result = WebhookReconciliation()
        for topic in topics:
            woo = webhooks.woo_topic(topic)
            hook = existing.get((woo, address))
            found = _webhook_state(hook)
            action = WebhookAction.NONE
            if hook is None:
                self._client.post("webhooks", {"name": f"{WEBHOOK_NAME} {woo}", "topic": woo, "delivery_url": address,
                                               "secret": secret, "status": "active"})
                result.created.append(topic)
                action = WebhookAction.CREATED
            elif found is not WebhookState.ACTIVE:
                self._client.put(f"webhooks/{_numeric_id(str(hook.get('id')), 'webhook')}",
                                 {"status": "active", "secret": secret})
                result.reenabled.append(topic)
                action = WebhookAction.RE_ENABLED
            elif reset_secret:
                self._client.put(f"webhooks/{_numeric_id(str(hook.get('id')), 'webhook')}", {"secret": secret})
                result.updated.append(topic)
                action = WebhookAction.SECRET_RESET
            result.checks.append(WebhookCheck(topic, found, action))
        return result

    def ensure_webhooks(self, address: str, topics: Sequence[str],
                        secret: str | None = None) -> list[WebhookCheck]:
        return self.reconcile_webhooks(address, topics, secret).checks

    def supports(self, capability: str) -> bool:
        return supports(self.capabilities, capability)

    def create_discount_code(self, spec: DiscountSpec) -> DiscountCode:
        """POST /coupons (see mapping.coupon_payload for what each kind becomes). A customer restriction
        becomes the customer's email, a guest's (``customer_email``) that email: WooCommerce checks the
        coupon's ``email_restrictions`` against the order's billing email. The products must exist. A
        retried create finds the same coupon and returns it; a code held by another coupon, or a coupon
        the store refuses, raises DiscountRefused."""
        if spec.shipping_cap is not None:
            raise Unsupported(Capability.FREE_SHIPPING_CAP)
        email = self._customer_email(spec.customer_platform_id) or spec.customer_email
        for product in spec.product_ids:
            try:
                self._client.get(f"products/{_numeric_id(product, 'product')}", {"_fields": "id"})
            except NotFound:
                raise DiscountRefused.because(DiscountRefused.PRODUCT_NOT_FOUND,
                                              f"the store has no product {product!r}") from None
        try:
            answer = self._client.post("coupons", mapping.coupon_payload(spec, email))
        except StoreRefused as exc:
            if exc.code != "woocommerce_rest_coupon_code_already_exists":
                raise DiscountRefused.because(DiscountRefused.INVALID, exc.message) from exc
            found = _rows(self._client.get("coupons", {"code": spec.code}), "coupons")
            same = [c for c in found if mapping.same_coupon(c, spec, email)]
            if not same:
                raise DiscountRefused.because(DiscountRefused.CODE_TAKEN, exc.message) from exc
            return mapping.discount_from_coupon(same[0], spec)
        return mapping.discount_from_coupon(_object(answer, "coupon"), spec)

    def issue_store_credit(self, spec: StoreCreditSpec) -> StoreCredit:
        """WooCommerce core has no store credit: Unsupported (check ``supports`` first)."""
        raise Unsupported(Capability.STORE_CREDIT)

    def publish_customer_loyalty(self, customer_platform_id: str, tier: str | None,
                                 balance: Decimal | int) -> CustomerLoyalty:
        """The tier and balance as customer meta (``storecare_loyalty_tier``, ``storecare_loyalty_balance``),
        written with PUT /customers/{id} only when they changed (a write sends customer.updated)."""
        wanted = CustomerLoyalty(tier=tier, balance=balance)
        path = f"customers/{_numeric_id(customer_platform_id, 'customer')}"
        held = mapping.loyalty_from_customer(_object(self._client.get(path), "customer"))
        if held == wanted:
            return held
        answer = self._client.put(path, {"meta_data": mapping.loyalty_meta(wanted)})
        return mapping.loyalty_from_customer(_object(answer, "customer"))

    def customer_loyalty(self, customer_platform_id: str) -> CustomerLoyalty:
        answer = self._client.get(f"customers/{_numeric_id(customer_platform_id, 'customer')}")
        return mapping.loyalty_from_customer(_object(answer, "customer"))

    def _customer_email(self, customer_platform_id: str | None) -> str | None:
        if customer_platform_id is None:
            return None
        try:
            email = self.get_customer(customer_platform_id).email
        except NotFound:
            email = None
        if not email:
            raise DiscountRefused.because(DiscountRefused.CUSTOMER_NOT_FOUND,
                                          f"the store has no customer {customer_platform_id!r} with an email")
        return email

    # -- internals
    def _order_page(self, position: Position, number: int) -> Fetched[Order]:
        params = {"page": number, "per_page": position.per_page, "orderby": "id", "order": "asc",
                  **_since_params(position.since)}
        try:
            answer = self._client.get("orders", params)
        except StoreRefused as exc:
            if number > 1 and exc.code.endswith("invalid_page_number"):  # fewer pages than when we started
                return Fetched(number, [], number - 1)
            raise
        return Fetched(number, [mapping.order_from_payload(o) for o in _rows(answer, "orders")],
                       _total_pages(answer, number))

    def _webhooks(self) -> list[Mapping]:
        hooks, number = [], 1
        while True:
            answer = self._client.get("webhooks", {"page": number, "per_page": MAX_PER_PAGE})
            hooks += [h for h in _rows(answer, "webhooks") if isinstance(h, Mapping)]
            if number >= _total_pages(answer, number):
                return hooks
            number += 1


def _webhook_state(hook: Mapping | None) -> WebhookState:
    """A webhook's status as a state; one WooCommerce does not know (a plugin's) does not deliver."""
    if hook is None:
        return WebhookState.MISSING
    try:
        return WebhookState(str(hook.get("status")))
    except ValueError:
        return WebhookState.DISABLED


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _since_params(since: datetime | None) -> dict[str, str]:
    if since is None:
        return {}
    bound = since.replace(microsecond=0) - timedelta(seconds=1)
    return {"modified_after": mapping.gmt_text(bound), "dates_are_gmt": "true"}


def _updated_since(customer: Customer, since: datetime | None) -> bool:
    return since is None or (customer.updated_at is not None and customer.updated_at >= since)


def _next_cursor(position: Position, fetched: Fetched) -> str | None:
    if fetched.page >= fetched.total_pages or not fetched.items:
        return None
    return encode_cursor(Position(position.kind, fetched.page + 1, position.per_page, position.since))


def _total_pages(answer: Answer, number: int) -> int:
    """X-WP-TotalPages; a store (or proxy) that drops it pages on while pages come back full."""
    total = answer.header_int("X-WP-TotalPages")
    if total is not None:
        return max(total, 0)
    return number + 1 if isinstance(answer.data, list) and answer.data else number


def _rows(answer: Answer, what: str) -> list:
    if not isinstance(answer.data, list):
        raise InvalidPayload(f"the store's {what} listing is not a JSON list")
    return answer.data


def _object(answer: Answer, what: str) -> Mapping:
    if not isinstance(answer.data, Mapping):
        raise InvalidPayload(f"the store's {what} is not a JSON object")
    return answer.data


def _listed_id(row: object) -> str:
    value = row.get("id") if isinstance(row, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidPayload("an order in the store's listing has no id")
    return str(value)


def _numeric_id(platform_id: str, what: str) -> int:
    """Ids go into URL paths: only positive integers, anything else is simply not there."""
    text = str(platform_id).strip()
    if not text.isdigit() or int(text) == 0 or len(text) > 20:
        raise NotFound(f"no {what} {platform_id!r}")
    return int(text)
