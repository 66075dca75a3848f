"""What a Shopify webhook's headers say, and topic names both ways.

Shopify sends ``X-Shopify-Topic``, ``X-Shopify-Shop-Domain``, ``X-Shopify-Webhook-Id``,
``X-Shopify-Triggered-At`` and ``X-Shopify-Hmac-Sha256``; its newer Events deliveries send the same
names without the ``X-`` prefix. Both spellings are read, in any letter case. The dedupe key is the
webhook id (one per delivery, the same on each retry of it); the event id (shared by the deliveries of
one merchant action) stands in only when a delivery has no webhook id. The neutral topic is
Shopify's own topic string ("orders/create"). Nothing here is trusted until plugin/security.py has
checked the HMAC over the raw body.
"""
from __future__ import annotations

from collections.abc import Mapping

from adapters.base import Platform, WebhookEnvelope, WebhookHeaders, lowered_headers, webhook_envelope
from adapters.errors import InvalidPayload
from adapters.readers import parse_time

_PREFIXES = ("x-shopify-", "shopify-")
TOPIC, SHOP, WEBHOOK_ID, EVENT_ID, TRIGGERED_AT, HMAC = (
    "topic", "shop-domain", "webhook-id", "event-id", "triggered-at", "hmac-sha256")


def _header(lowered: Mapping[str, str], name: str) -> str | None:
    for prefix in _PREFIXES:
        value = lowered.get(prefix + name)
        if value:
            return value
    return None


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    lowered = lowered_headers(headers)
    names = (TOPIC, SHOP, WEBHOOK_ID, EVENT_ID, TRIGGERED_AT, HMAC)
    values = {name: _header(lowered, name) for name in names}
    delivery_id = values[WEBHOOK_ID] or values[EVENT_ID]
    missing = [f"X-Shopify-{name.title()}" for name in (TOPIC, SHOP, HMAC) if not values[name]]
    if not delivery_id:
        missing.append("X-Shopify-Webhook-Id")
    if missing:
        raise InvalidPayload(f"Shopify webhook is missing the header(s) {', '.join(missing)}")
    triggered = values[TRIGGERED_AT]
    return WebhookHeaders(
        shop_domain=values[SHOP].lower(),
        signature=values[HMAC],
        topic=values[TOPIC].lower(),
        delivery_id=delivery_id,
        triggered_at=parse_time(triggered, "X-Shopify-Triggered-At") if triggered else None,
    )


def read_envelope(headers: Mapping[str, str], body: bytes,
                  read: WebhookHeaders | None = None) -> WebhookEnvelope:
    return webhook_envelope(Platform.SHOPIFY, read or read_headers(headers), body, "Shopify")


def topic_enum(topic: str) -> str:
    """Shopify's WebhookSubscriptionTopic value for a topic string: "orders/create" -> "ORDERS_CREATE"."""
    text = topic.strip()
    if text.count("/") != 1 or not all(part for part in text.split("/")):
        raise ValueError(f"{topic!r} is not a Shopify webhook topic (expected e.g. 'orders/create')")
    return text.upper().replace("/", "_")
