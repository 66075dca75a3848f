"""WooCommerce webhooks: the headers and body of what arrives, and the signature a store computes.

A delivery carries ``X-WC-Webhook-Source`` (the site's ``home_url('/')``: its store key is our shop
domain), ``-Topic`` (``order.updated``), ``-Signature`` (base64 HMAC-SHA256 of the raw body with the
secret we set), ``-Delivery-ID`` and ``-ID`` (the webhook). WooCommerce sends no event time.

When a webhook is created, WooCommerce posts a ping first: a form body ``webhook_id=<id>``, a
``WooCommerce/... Hookshot`` user agent and none of the headers above. It must be answered 200 or
the merchant sees an error, so it raises WebhookPing (the inbox answers 200 and stores nothing).
Anyone can send such a request; it is harmless because it stores nothing.

The Delivery-ID is ``wp_hash(webhook id . current second)``: two events of one webhook delivered in
the same second share it, and WooCommerce's background queue delivers in bursts, so that is the
usual case (two orders created in one second, a bulk status change). What identifies an event is
that id together with the body, so the envelope's ``delivery_id`` (the inbox's dedupe key) is
``<Delivery-ID>:<SHA-256 of the body, hex>``: the same delivery sent twice is stored once, two events
in one second are two. The key fits the inbox's 128 characters (the id part is cut to 63; WooCommerce's
is 32). WooCommerce never retries a delivery, so a key per body loses no retry semantics.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace

from adapters.base import Platform, WebhookEnvelope, WebhookHeaders, lowered_headers, webhook_envelope
from adapters.errors import InvalidPayload, WebhookPing
from adapters.woocommerce.auth import store_key

SOURCE_HEADER = "X-WC-Webhook-Source"
TOPIC_HEADER = "X-WC-Webhook-Topic"
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
DELIVERY_HEADER = "X-WC-Webhook-Delivery-ID"
WEBHOOK_ID_HEADER = "X-WC-Webhook-ID"
REQUIRED_HEADERS = (SOURCE_HEADER, TOPIC_HEADER, SIGNATURE_HEADER, DELIVERY_HEADER)
DELIVERY_ID_PART = 63  # of the header's id in the dedupe key: 63 + ":" + 64 hex = the inbox's 128

# WooCommerce topic -> neutral topic (what plugin/sync/inbox.py dispatches on).
TOPICS: dict[str, str] = {
    "order.created": "orders/create",
    "order.updated": "orders/updated",
    "order.restored": "orders/updated",  # back from the trash: the body is the whole order
    "order.deleted": "orders/delete",
    "customer.created": "customers/create",
    "customer.updated": "customers/update",
    "customer.deleted": "customers/delete",
}
WOO_TOPICS: dict[str, str] = {neutral: woo for woo, neutral in TOPICS.items() if woo != "order.restored"}


def woo_topic(topic: str) -> str:
    """A topic as WooCommerce names it; neutral names (``orders/create``) are translated."""
    return WOO_TOPICS.get(topic, topic)


def sign(secret: str, body: bytes) -> str:
    """What WooCommerce puts in X-WC-Webhook-Signature (for simulators; the app verifies in security.py)."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    lowered = lowered_headers(headers)
    if _is_ping(lowered):
        raise WebhookPing("WooCommerce webhook ping")
    missing = [name for name in REQUIRED_HEADERS if not lowered.get(name.lower())]
    if missing:
        raise InvalidPayload(f"WooCommerce webhook is missing the header(s) {', '.join(missing)}")
    domain = store_key(lowered[SOURCE_HEADER.lower()])
    if not domain:
        raise InvalidPayload(f"{SOURCE_HEADER} is not a URL")
    raw_topic = lowered[TOPIC_HEADER.lower()]
    return WebhookHeaders(
        shop_domain=domain,
        signature=lowered[SIGNATURE_HEADER.lower()],
        topic=TOPICS.get(raw_topic, raw_topic),
        delivery_id=lowered[DELIVERY_HEADER.lower()][:200],
        triggered_at=None,
    )


def read_envelope(headers: Mapping[str, str], body: bytes,
                  read: WebhookHeaders | None = None) -> WebhookEnvelope:
    """The envelope, whose ``delivery_id`` is the dedupe key: the header's id and the body's digest."""
    read = read or read_headers(headers)
    envelope = webhook_envelope(Platform.WOOCOMMERCE, read, body, "WooCommerce")
    return replace(envelope, delivery_id=dedupe_key(read.delivery_id, body))


def dedupe_key(delivery_id: str, body: bytes) -> str:
    """What identifies one WooCommerce event: its Delivery-ID (shared by a webhook's deliveries within a
    second) and a SHA-256 of the exact body."""
    return f"{delivery_id[:DELIVERY_ID_PART]}:{hashlib.sha256(body).hexdigest()}"


def _is_ping(lowered: Mapping[str, str]) -> bool:
    if lowered.get(SIGNATURE_HEADER.lower()) or lowered.get(TOPIC_HEADER.lower()):
        return False
    agent = lowered.get("user-agent", "")
    return agent.startswith("WooCommerce/") and "Hookshot" in agent
