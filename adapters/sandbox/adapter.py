"""SandboxAdapter: the PlatformAdapter for the local sandbox store, complete like the real ones.

It reads the store through the same JSON a platform would return (records -> payload -> DTO, both
steps in mapping.py), so the app's sandbox path exercises payload mapping just as Shopify's does.

Errors follow the adapter contract: an unknown shop is AuthRevoked, a missing (or another shop's)
object is NotFound, a busy store file is Transient. Caller mistakes (a cursor from elsewhere, a page
size out of range, a naive datetime) are ValueError: no retry or re-authorisation can fix them.

Failure injection, for testing retries without patching: ``SandboxAdapter(..., fail_next=N)`` makes
this instance's next N calls raise Transient; ``SandboxStore.inject_failures(domain, N)`` does the
same for every adapter of that shop, in any process (e.g. the app's worker).
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from adapters.base import (
    Capability,
    Connection,
    Customer,
    CustomerLoyalty,
    DiscountCode,
    DiscountKind,
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
from adapters.errors import NotFound, Transient
from adapters.sandbox import customer_attributes, discounts, mapping, store_credit, webhooks
from adapters.sandbox.schema import from_cents
from adapters.sandbox.store import MAX_PAGE, OrderKey, SandboxStore, normalise_domain, shop_in

_ORDERS, _CUSTOMERS, _ORDER_IDS = "orders", "customers", "order_ids"


class SandboxAdapter:
    """One sandbox shop (``connection.shop_domain``) in the store file at ``path``."""

    platform = Platform.SANDBOX
    # No collections in the sandbox's catalogue; no shipping is charged, so a shipping cap is only kept.
    capabilities = frozenset({Capability.STORE_CREDIT, Capability.FREE_SHIPPING_CAP, Capability.EMAIL_RESTRICTED_CODES})

    def __init__(self, connection: Connection, path: str | os.PathLike[str], fail_next: int = 0):
        if fail_next < 0:
            raise ValueError("fail_next must not be negative")
        self.connection = connection
        self._domain = normalise_domain(connection.shop_domain)
        self._store = SandboxStore(path)
        self._fail_next = fail_next

    def __repr__(self) -> str:
        return f"SandboxAdapter({self._domain!r}, {str(self._store.path)!r})"

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

    # -- reading
    def list_orders(self, cursor: str | None = None, limit: int = 100,
                    updated_since: datetime | None = None) -> Page[Order]:
        after, since = _start(_ORDERS, cursor, limit, updated_since)
        with self._platform_call():
            records, last = self._store.order_page(self._domain, after, limit, since)
        items = [mapping.order_from_payload(mapping.order_payload(r)) for r in records]
        return Page(items=items, next_cursor=_cursor(_ORDERS, last, since))

    def list_customers(self, cursor: str | None = None, limit: int = 100,
                       updated_since: datetime | None = None) -> Page[Customer]:
        after, since = _start(_CUSTOMERS, cursor, limit, updated_since)
        with self._platform_call():
            records, last = self._store.customer_page(self._domain, after, limit, since)
        items = [mapping.customer_from_payload(mapping.customer_payload(r)) for r in records]
        return Page(items=items, next_cursor=_cursor(_CUSTOMERS, last, since))

    def get_order(self, platform_id: str) -> Order:
        with self._platform_call():
            record = self._store.order(self._domain, _numeric_id(platform_id, "order"))
        return mapping.order_from_payload(mapping.order_payload(record))

    def get_customer(self, platform_id: str) -> Customer:
        with self._platform_call():
            record = self._store.customer(self._domain, _numeric_id(platform_id, "customer"))
        return mapping.customer_from_payload(mapping.customer_payload(record))

    def count_orders(self, updated_since: datetime | None = None) -> int:
        _check_aware(updated_since)
        with self._platform_call():
            return self._store.count_orders(self._domain, updated_since)

    def list_order_ids(self, cursor: str | None = None, limit: int = 100) -> Page[str]:
        """Order ids by id; a deleted order is gone from the store file."""
        after, _ = _start(_ORDER_IDS, cursor, limit, None)
        with self._platform_call():
            ids, last = self._store.order_id_page(self._domain, after, limit)
        return Page(items=[str(i) for i in ids], next_cursor=_cursor(_ORDER_IDS, last, None))

    # -- writing
    def subscribe_webhooks(self, address: str, topics: Sequence[str], secret: str | None = None) -> list[str]:
        """Create the missing subscriptions; return the topics created. ``secret`` is required here:
        the sandbox signs every webhook with it (an existing subscription takes the new secret)."""
        return [c.topic for c in self.ensure_webhooks(address, topics, secret) if c.action is WebhookAction.CREATED]

    def ensure_webhooks(self, address: str, topics: Sequence[str],
                        secret: str | None = None) -> list[WebhookCheck]:
        """A sandbox subscription exists or not: active, or missing and created; an active one with
        another secret takes ours."""
        with self._platform_call():
            done = self._store.ensure_subscriptions(self._domain, address, list(topics), secret, datetime.now(UTC))
        return [WebhookCheck(topic, WebhookState.MISSING if action == "created" else WebhookState.ACTIVE,
                             WebhookAction(action)) for topic, action in done]

    def supports(self, capability: str) -> bool:
        return supports(self.capabilities, capability)

    def create_discount_code(self, spec: DiscountSpec) -> DiscountCode:
        """Store the code. The same code with an identical spec returns the stored code (a retried
        request is harmless); with a different spec it raises DiscountCodeTakenError (a DiscountRefused)."""
        with self._platform_call(), self._store.writing() as conn:
            shop_in(conn, self._domain)
            record = discounts.create_code(conn, self._domain, spec, datetime.now(UTC))
        return DiscountCode(platform_id=str(record.id), code=record.code, kind=DiscountKind(record.kind),
                            value=record.value, ends_at=record.ends_at)

    def issue_store_credit(self, spec: StoreCreditSpec) -> StoreCredit:
        """Credit the customer's account in the shop's currency, once per ``spec.key``."""
        with self._platform_call(), self._store.writing() as conn:
            record, balance = store_credit.issue(conn, self._domain, spec, datetime.now(UTC))
        return StoreCredit(platform_id=str(record.id), key=record.key, customer_platform_id=str(record.customer_id),
                           amount=from_cents(record.amount_cents), currency=record.currency,
                           balance=from_cents(balance), expires_at=record.expires_at)

    def publish_customer_loyalty(self, customer_platform_id: str, tier: str | None,
                                 balance: Decimal | int) -> CustomerLoyalty:
        wanted = CustomerLoyalty(tier=tier, balance=balance)
        customer_id = _numeric_id(customer_platform_id, "customer")
        with self._platform_call(), self._store.writing() as conn:
            customer_attributes.publish(conn, self._domain, customer_id, wanted, datetime.now(UTC))
            return customer_attributes.loyalty(conn, self._domain, customer_id)

    def customer_loyalty(self, customer_platform_id: str) -> CustomerLoyalty:
        customer_id = _numeric_id(customer_platform_id, "customer")
        with self._platform_call(), self._store.reading() as conn:
            return customer_attributes.loyalty(conn, self._domain, customer_id)

    def customer_tags(self, customer_platform_id: str) -> list[str]:
        """The customer's tags (the sandbox's own reader, for tests and the CLI)."""
        customer_id = _numeric_id(customer_platform_id, "customer")
        with self._platform_call(), self._store.reading() as conn:
            return customer_attributes.tags(conn, self._domain, customer_id)

    @contextmanager
    def _platform_call(self) -> Iterator[None]:
        """Where a real adapter would make a network call: injected failures and a missing shop show here."""
        if self._fail_next:
            self._fail_next -= 1
            raise Transient("sandbox: injected transient failure")
        try:
            self._store.begin_call(self._domain)
            yield
        except sqlite3.OperationalError as exc:
            raise Transient(f"sandbox store is unavailable: {exc}") from exc


def _numeric_id(platform_id: str, what: str) -> int:
    text = str(platform_id).strip()
    if not text.isdigit():
        raise NotFound(f"no {what} {platform_id!r}")
    return int(text)


def _check_aware(value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")


def _start(kind: str, cursor: str | None, limit: int,
           updated_since: datetime | None) -> tuple[OrderKey | None, datetime | None]:
    """Where a page starts: from the cursor (which carries its own filter) or from the beginning."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    _check_aware(updated_since)
    if cursor is None:
        return None, updated_since
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        after = (str(data["a"][0]), int(data["a"][1]))
        since = datetime.fromisoformat(data["s"]) if data["s"] else None
        issued_for = data["k"]
    except (binascii.Error, ValueError, KeyError, TypeError, IndexError, UnicodeError):
        raise ValueError("this is not a cursor issued by the sandbox adapter") from None
    if issued_for != kind:
        raise ValueError(f"this cursor pages {issued_for}, not {kind}")
    if updated_since is not None and updated_since != since:
        raise ValueError("this cursor was issued for another updated_since")
    return after, since


def _cursor(kind: str, last: OrderKey | None, since: datetime | None) -> str | None:
    """An opaque cursor: the last key seen and the filter, so later pages need nothing else."""
    if last is None:
        return None
    data = {"k": kind, "a": list(last), "s": since.astimezone(UTC).isoformat() if since else None}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode("ascii")).decode("ascii")
