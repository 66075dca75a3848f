"""Who a privacy request is about, and whether a stored JSON document mentions them.

Pure functions, no database: the privacy service uses them to find a customer in webhook payloads and
domain-event payloads we stored, whatever platform wrote them.

The three compliance payloads are defined by Shopify (``{shop_domain, customer: {id, email, phone},
orders_requested | orders_to_redact, data_request: {id}}``); the sandbox sends the same shape, and a
platform without such webhooks never routes these topics here.

A document mentions the subject when it holds
- one of their email addresses or phone numbers, anywhere (compared case-insensitively);
- their customer id as the ``id`` of an object under a key naming a customer, or as a
  ``customer_id``-like value; on a ``customers/*`` topic, also as the payload's own ``id``;
- one of their order ids as an ``order_id``-like value, or as the payload's ``id`` on an order topic.
Ids compare by their last path segment, so ``gid://shopify/Customer/7`` and ``7`` are one customer.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REDACTED = "redacted"
REDACTED_IN_TEXT = "[redacted]"
_CUSTOMER_ID_KEYS = ("customer_id", "customer_platform_id", "customerid")
_ORDER_ID_KEYS = ("order_id", "order_platform_id", "orderid")


class PrivacyRequestError(ValueError):
    """The payload does not say whom the request is about."""


def plain_id(value: Any) -> str:
    """An id as text, a global id reduced to its last segment: ``gid://shopify/Order/5`` -> ``5``."""
    text = str(value).strip()
    return text.rsplit("/", 1)[-1] if "/" in text else text


def _ids(values: Any) -> tuple[str, ...]:
    if not isinstance(values, (list, tuple)):
        return ()
    return tuple(dict.fromkeys(plain_id(v) for v in values if v is not None and str(v).strip()))


@dataclass(frozen=True)
class PrivacyRequest:
    """A customer privacy request as the platform sent it (customers/data_request, customers/redact)."""

    customer_id: str
    email: str | None = None
    phone: str | None = None
    order_ids: tuple[str, ...] = ()
    request_id: str | None = None  # the platform's data-request id, when it gives one

    @classmethod
    def from_payload(cls, payload: Mapping) -> PrivacyRequest:
        customer = payload.get("customer")
        if not isinstance(customer, Mapping) or customer.get("id") in (None, ""):
            raise PrivacyRequestError("the privacy request names no customer id")
        email = customer.get("email")
        phone = customer.get("phone")
        request = payload.get("data_request")
        request_id = request.get("id") if isinstance(request, Mapping) else None
        orders = payload.get("orders_requested", payload.get("orders_to_redact"))
        return cls(customer_id=plain_id(customer["id"]),
                   email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
                   phone=phone.strip() if isinstance(phone, str) and phone.strip() else None,
                   order_ids=_ids(orders),
                   request_id=None if request_id in (None, "") else str(request_id))


@dataclass(frozen=True)
class Subject:
    """Everything that identifies one customer in stored documents."""

    customer_ids: frozenset[str]
    order_ids: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    names: frozenset[str] = field(default_factory=frozenset)  # only scrubbed, never used to match

    def mentioned_in(self, document: Any, topic: str = "") -> bool:
        resource = topic.split("/", 1)[0]
        if isinstance(document, Mapping) and "id" in document:
            own_id = plain_id(document["id"])
            if resource == "customers" and own_id in self.customer_ids:
                return True
            if resource in ("orders", "refunds") and own_id in self.order_ids:
                return True
        return self._walk(document, None)

    def _walk(self, value: Any, key: str | None) -> bool:
        if isinstance(value, Mapping):
            if key and "customer" in key and "id" in value and plain_id(value["id"]) in self.customer_ids:
                return True
            return any(self._walk(v, str(k).lower()) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(self._walk(v, key) for v in value)
        if isinstance(value, bool) or value is None:
            return False
        if key in _CUSTOMER_ID_KEYS and plain_id(value) in self.customer_ids:
            return True
        if key in _ORDER_ID_KEYS and plain_id(value) in self.order_ids:
            return True
        if isinstance(value, str):
            text = value.strip().lower()
            return text in self.emails or value.strip() in self.phones
        return False

    def scrubbed(self, value: Any) -> Any:
        """A copy with every email, phone and name of the subject replaced by ``"redacted"``."""
        if isinstance(value, Mapping):
            return {k: self.scrubbed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrubbed(v) for v in value]
        if isinstance(value, str):
            text = value.strip()
            if text.lower() in self.emails or text in self.phones or text in self.names:
                return REDACTED
            for email in self.emails:  # "Anna <anna@example.com>" loses the address too
                if email in text.lower():
                    return REDACTED
        return value

    def redacted_text(self, text: str) -> str:
        """Free text (an error message) with every email, phone and name of the subject replaced by
        ``[redacted]``, the rest kept readable. Emails and names compare case-insensitively; a name
        only as a whole word, so that "Ann" leaves "Annex" alone. Ids stay: the mirror keeps them."""
        for email in sorted(self.emails, key=len, reverse=True):
            text = re.sub(re.escape(email), REDACTED_IN_TEXT, text, flags=re.IGNORECASE)
        for phone in sorted(self.phones, key=len, reverse=True):
            text = text.replace(phone, REDACTED_IN_TEXT)
        for name in sorted(self.names, key=len, reverse=True):
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", REDACTED_IN_TEXT, text, flags=re.IGNORECASE)
        return text

    @property
    def text_terms(self) -> frozenset[str]:
        """What ``redacted_text`` looks for, in lower case: to find candidate rows in SQL first."""
        return frozenset(t.lower() for t in self.emails | self.phones | self.names if t)
