"""The one interface every platform adapter implements, and the neutral DTOs it speaks.

Adapters never import ``plugin``. Only ``adapters/<platform>/mapping.py`` knows platform JSON;
everything here is platform-neutral. Money is always ``Decimal``; times are timezone-aware UTC.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, Protocol, TypeVar, runtime_checkable

import orjson

from adapters.errors import InvalidPayload

T = TypeVar("T")


class Platform(enum.StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    SANDBOX = "sandbox"


class FinancialStatus(enum.StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"


class FulfillmentStatus(enum.StrEnum):
    UNFULFILLED = "unfulfilled"
    PARTIAL = "partial"
    FULFILLED = "fulfilled"


@dataclass(frozen=True)
class Customer:
    platform_id: str
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    birthday: date | None = None
    accepts_marketing: bool = False
    locale: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class LineItem:
    platform_id: str
    title: str
    quantity: int
    unit_price: Decimal
    sku: str | None = None
    product_id: str | None = None
    total: Decimal | None = None  # after line discounts; defaults to unit_price * quantity

    @property
    def line_total(self) -> Decimal:
        return self.total if self.total is not None else self.unit_price * self.quantity


@dataclass(frozen=True)
class Refund:
    platform_id: str
    amount: Decimal
    created_at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Order:
    platform_id: str
    number: str
    currency: str
    total: Decimal
    subtotal: Decimal
    created_at: datetime
    updated_at: datetime
    financial_status: FinancialStatus
    fulfillment_status: FulfillmentStatus
    customer: Customer | None = None  # None for a guest checkout without customer record
    email: str | None = None
    total_discounts: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    fulfilled_at: datetime | None = None
    discount_codes: tuple[str, ...] = ()
    line_items: tuple[LineItem, ...] = ()
    refunds: tuple[Refund, ...] = ()

    @property
    def total_refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0"))


class DiscountKind(enum.StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"
    FREE_SHIPPING = "free_shipping"


@dataclass(frozen=True)
class DiscountSpec:
    """What we ask a platform to create: one single-use code for one customer."""

    code: str
    kind: DiscountKind
    value: Decimal
    title: str
    customer_platform_id: str | None = None
    ends_at: datetime | None = None
    minimum_subtotal: Decimal | None = None
    usage_limit: int = 1


@dataclass(frozen=True)
class DiscountCode:
    platform_id: str
    code: str
    kind: DiscountKind
    value: Decimal
    ends_at: datetime | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None  # None on the last page

    @property
    def is_last(self) -> bool:
        return self.next_cursor is None


class WebhookState(enum.StrEnum):
    """A topic's subscription as a reconciliation finds it. Paused (by the merchant) and disabled (by
    WooCommerce, after five failed deliveries in a row) exist on WooCommerce only."""

    ACTIVE = "active"
    PAUSED = "paused"
    DISABLED = "disabled"
    MISSING = "missing"


class WebhookAction(enum.StrEnum):
    """What a reconciliation did about a topic's subscription."""

    NONE = "none"
    CREATED = "created"
    RE_ENABLED = "re_enabled"
    SECRET_RESET = "secret_reset"  # it was active, and given our current secret


@dataclass(frozen=True)
class WebhookCheck:
    """One topic's subscription at our address: the state found, and the action taken."""

    topic: str
    found: WebhookState
    action: WebhookAction


@dataclass(frozen=True)
class WebhookEnvelope:
    """What every platform's webhook tells us before we look at the body."""

    platform: Platform
    shop_domain: str
    topic: str  # neutral topic, e.g. "orders/create", "customers/update", "app/uninstalled"
    delivery_id: str
    triggered_at: datetime | None
    payload: Mapping


@dataclass(frozen=True)
class Connection:
    """One shop's address and credentials, passed per call: adapters keep no global session."""

    shop_domain: str
    credentials: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookHeaders:
    """What a webhook's headers say, read before the signature is checked (nothing here is trusted yet)."""

    shop_domain: str
    signature: str
    topic: str
    delivery_id: str
    triggered_at: datetime | None = None


class LoweredHeaders(dict):
    """Request headers with names in lower case and values stripped, as ``lowered_headers`` makes them.
    The web layer builds one per webhook, and each reader takes it as it is."""


def lowered_headers(headers: Mapping[str, str]) -> LoweredHeaders:
    """Headers to look up case-insensitively: names in lower case, values stripped."""
    if isinstance(headers, LoweredHeaders):
        return headers
    return LoweredHeaders((str(name).lower(), str(value).strip()) for name, value in headers.items())


def webhook_envelope(platform: Platform, read: WebhookHeaders, body: bytes, label: str) -> WebhookEnvelope:
    """A webhook's envelope from its headers as read and its body, which must be a JSON object in UTF-8
    (as RFC 8259 requires between systems; every platform sends UTF-8). orjson reads it: an order
    webhook is parsed on the request's clock, and a Shopify order of 10 to 20 kB takes the standard
    library several times longer."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidPayload(f"{label} webhook body is not JSON in UTF-8") from None
    if not isinstance(payload, dict):
        raise InvalidPayload(f"{label} webhook body must be a JSON object")
    return WebhookEnvelope(platform=platform, shop_domain=read.shop_domain, topic=read.topic,
                           delivery_id=read.delivery_id, triggered_at=read.triggered_at, payload=payload)


@runtime_checkable
class PlatformAdapter(Protocol):
    """One shop on one platform. Instances are cheap and bound to a single ``Connection``.

    The two webhook readers are classmethods: the shop is not known until the headers are read.
    Signature checks live in plugin/security.py, never in an adapter.
    """

    platform: Platform

    @classmethod
    def read_webhook_headers(cls, headers: Mapping[str, str]) -> WebhookHeaders:
        """Raise InvalidPayload when a header we need is missing or malformed."""

    @classmethod
    def read_webhook(cls, headers: Mapping[str, str], body: bytes,
                     read: WebhookHeaders | None = None) -> WebhookEnvelope:
        """Headers + JSON body as an envelope (neutral topic); InvalidPayload when unreadable. ``read`` is
        what read_webhook_headers returned for these headers, when the caller has it already."""

    @classmethod
    def order_from_payload(cls, payload: Mapping) -> Order: ...

    @classmethod
    def customer_from_payload(cls, payload: Mapping) -> Customer: ...

    # -- reading (through this shop's connection)
    def list_orders(self, cursor: str | None = None, limit: int = 100,
                    updated_since: datetime | None = None) -> Page[Order]: ...

    def list_customers(self, cursor: str | None = None, limit: int = 100,
                       updated_since: datetime | None = None) -> Page[Customer]: ...

    def get_order(self, platform_id: str) -> Order: ...

    def get_customer(self, platform_id: str) -> Customer: ...

    def count_orders(self, updated_since: datetime | None = None) -> int: ...

    def list_order_ids(self, cursor: str | None = None, limit: int = 100) -> Page[str]:
        """The ids of every order the platform lists, a page at a time (ids only: cheap enough to read a
        whole store). Deleted orders, and WooCommerce's trashed ones, are neither listed here nor counted
        by count_orders nor found by get_order: reconciliation compares these ids with the mirror."""

    # -- writing
    def subscribe_webhooks(self, address: str, topics: Sequence[str], secret: str | None = None) -> list[str]:
        """Create the missing subscriptions for ``topics`` at ``address``; return the topics created."""

    def ensure_webhooks(self, address: str, topics: Sequence[str],
                        secret: str | None = None) -> list[WebhookCheck]:
        """Bring each topic's subscription at ``address`` to active (create what is missing, turn on what
        is paused or disabled), as subscribe_webhooks does; one check per topic, in the order given: what
        was found and what was done."""

    def create_discount_code(self, spec: DiscountSpec) -> DiscountCode: ...
