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
    discount_codes: tuple[str, ...] = ()  # every code the order used, as the platform spells it
    line_items: tuple[LineItem, ...] = ()
    refunds: tuple[Refund, ...] = ()

    @property
    def total_refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0"))

    def uses_discount_code(self, code: str) -> bool:
        """Whether the order used ``code``. Codes are compared without regard to case, as every platform
        does at checkout: WooCommerce lowercases the codes it stores, so an order carries ``loyal-7q2``
        for the code we created as ``LOYAL-7Q2``."""
        wanted = code.strip().casefold()
        return any(used.strip().casefold() == wanted for used in self.discount_codes)


class Capability(enum.StrEnum):
    """What a platform may or may not do for a feature: ``adapter.supports(Capability.STORE_CREDIT)``.
    Features offer the merchant only what the shop's platform can do; a call for something it cannot
    do raises ``Unsupported``."""

    STORE_CREDIT = "store_credit"  # credit a customer's store-credit account (issue_store_credit)
    FREE_SHIPPING_CAP = "free_shipping_cap"  # free shipping only on rates up to DiscountSpec.shipping_cap
    COLLECTION_RESTRICTIONS = "collection_restrictions"  # a code limited to DiscountSpec.collection_ids
    EMAIL_RESTRICTED_CODES = "email_restricted_codes"  # a code for whoever checks out with DiscountSpec.customer_email


def supports(capabilities: frozenset[Capability], capability: str) -> bool:
    """Whether ``capability`` is among ``capabilities``; a name that is no Capability is a caller's
    mistake (ValueError), not a "no"."""
    return Capability(capability) in capabilities


class DiscountKind(enum.StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"
    FREE_SHIPPING = "free_shipping"
    FREE_PRODUCT = "free_product"  # one unit of one product (DiscountSpec.product_ids) for free


class DiscountClass(enum.StrEnum):
    """The kinds of discount a code may be combined with at checkout (Shopify's discount classes)."""

    ORDER = "order"
    PRODUCT = "product"
    SHIPPING = "shipping"


@dataclass(frozen=True)
class DiscountSpec:
    """What we ask a platform to create: one single-use code for one customer.

    ``value`` is the percentage (10 = 10 %) or the amount in the shop's currency; free shipping and a
    free product take no value (0). ``product_ids`` limit a percentage or an amount to those products,
    and name the product a FREE_PRODUCT code gives (exactly one); ``collection_ids`` limit it to
    collections (Capability.COLLECTION_RESTRICTIONS). ``shipping_cap``: free shipping covers only
    rates up to this price (Capability.FREE_SHIPPING_CAP). ``combines_with``: the kinds of other
    discount the code may be used with (none by default: the code is used alone).

    ``customer_email`` restricts the code of someone with no customer account (a guest) to orders
    placed with that email address (Capability.EMAIL_RESTRICTED_CODES); with ``customer_platform_id``
    it is not needed: the customer is who may use the code.
    """

    code: str
    kind: DiscountKind
    value: Decimal
    title: str
    customer_platform_id: str | None = None
    ends_at: datetime | None = None
    minimum_subtotal: Decimal | None = None
    usage_limit: int = 1
    product_ids: tuple[str, ...] = ()
    collection_ids: tuple[str, ...] = ()
    shipping_cap: Decimal | None = None
    combines_with: frozenset[DiscountClass] = frozenset()
    customer_email: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.product_ids, str) or isinstance(self.collection_ids, str):
            raise ValueError("product_ids and collection_ids are tuples of ids, not one string")
        if self.kind is DiscountKind.FREE_PRODUCT and (len(self.product_ids) != 1 or self.collection_ids):
            raise ValueError("a free-product code names exactly one product (product_ids) and no collection")
        if self.product_ids and self.collection_ids:
            raise ValueError("a code is limited to products or to collections, not both")
        if self.kind is DiscountKind.FREE_SHIPPING and (self.product_ids or self.collection_ids):
            raise ValueError("a free-shipping code is for the whole order: it takes no products or collections")
        if self.shipping_cap is not None and self.kind is not DiscountKind.FREE_SHIPPING:
            raise ValueError("shipping_cap belongs to a free-shipping code only")
        if self.shipping_cap is not None and self.shipping_cap <= 0:
            raise ValueError("shipping_cap must be a positive amount")
        if not all(isinstance(item, DiscountClass) for item in self.combines_with):
            raise ValueError("combines_with holds DiscountClass members")
        if self.customer_email is not None and (self.customer_platform_id is not None
                                                or "@" not in self.customer_email.strip()):
            raise ValueError("customer_email is an email address, for a code of someone with no customer id")


@dataclass(frozen=True)
class DiscountCode:
    platform_id: str
    code: str
    kind: DiscountKind
    value: Decimal
    ends_at: datetime | None = None


@dataclass(frozen=True)
class StoreCreditSpec:
    """Money we ask a platform to add to a customer's store credit. ``key`` makes it happen once: the
    same key again returns the first credit instead of crediting twice."""

    key: str
    customer_platform_id: str
    amount: Decimal
    currency: str  # the shop's currency: store-credit accounts are per currency
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.key.strip() or len(self.key) > 100:
            raise ValueError("a store credit needs a key of 1 to 100 characters")
        if self.amount <= 0:
            raise ValueError("a store credit must be a positive amount")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError("currency is an ISO 4217 code such as PLN")


@dataclass(frozen=True)
class StoreCredit:
    """A credit the platform holds: its transaction, and the account's balance right after it."""

    platform_id: str
    key: str
    customer_platform_id: str
    amount: Decimal
    currency: str
    balance: Decimal
    expires_at: datetime | None = None


TIER_TAG_PREFIX = "Loyalty tier: "  # a customer's tier as a tag: "Loyalty tier: Gold"


def tier_tag(tier: str) -> str:
    """The tag a platform with customer tags (Shopify, the sandbox) carries for ``tier``."""
    return TIER_TAG_PREFIX + tier


@dataclass(frozen=True)
class CustomerLoyalty:
    """What a platform shows of a customer's loyalty: the tier (as a tag where tags exist) and the
    balance of points, for themes, Shopify Flow or WordPress to use. None: nothing published."""

    tier: str | None
    balance: Decimal | None

    def __post_init__(self) -> None:
        if self.tier is not None and (not self.tier.strip() or len(self.tier) > 100 or "," in self.tier):
            raise ValueError("a tier name is 1 to 100 characters without a comma (tags are split on commas)")
        if self.balance is not None:
            if isinstance(self.balance, (bool, float)) or not isinstance(self.balance, (int, Decimal)):
                raise ValueError("a balance is exact: an int or a Decimal, never a float")
            if not Decimal(self.balance).is_finite():
                raise ValueError("a balance must be a finite number")
            object.__setattr__(self, "balance", Decimal(self.balance))


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
    capabilities: frozenset[Capability]  # what this platform can do beyond the common methods

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

    def supports(self, capability: str) -> bool:
        """Whether the platform can do ``capability`` (a Capability); ValueError for an unknown name."""

    def create_discount_code(self, spec: DiscountSpec) -> DiscountCode:
        """Create one code. The same spec again returns the code already created (a retry is harmless);
        a code the platform refuses raises DiscountRefused (its message is for the shopper); what the
        platform cannot do raises Unsupported."""

    def issue_store_credit(self, spec: StoreCreditSpec) -> StoreCredit:
        """Credit the customer's store credit once per ``spec.key``; Unsupported where the platform has
        none (see ``supports``); StoreCreditRefused when the platform refuses."""

    def publish_customer_loyalty(self, customer_platform_id: str, tier: str | None,
                                 balance: Decimal | int) -> CustomerLoyalty:
        """Show the customer's tier and balance on the platform (Shopify: a tier tag and app-owned
        metafields; WooCommerce: customer meta; the sandbox: its customer attributes). Writes only what
        changed, so publishing the same values again calls no write; returns what the platform holds."""

    def customer_loyalty(self, customer_platform_id: str) -> CustomerLoyalty:
        """What the platform holds of the customer's loyalty (None values: nothing published)."""
