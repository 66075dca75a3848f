"""Both ends of the sandbox's webhook wire: signing and delivering, and reading what arrives.

The sandbox mimics Shopify: ``X-Sandbox-*`` headers and ``base64(HMAC-SHA256(secret, raw body))``.
The signature is computed here, not with plugin/security.py, because adapters never import the app;
the app verifies with security.verify_base64_hmac, and the tests check that the two agree.

Delivery is a real HTTP POST through ``requests`` (10 s timeout) unless the caller passes ``send``,
e.g. one that posts to a Flask test client. Every attempt is written to the store's delivery log.
Network errors, 5xx and 429 are retried after 0.2 s and 1 s (three attempts in all); other 4xx
answers are final, since repeating a request the receiver rejected cannot change its mind.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import requests

from adapters.base import Platform, WebhookEnvelope, WebhookHeaders, lowered_headers, webhook_envelope
from adapters.errors import InvalidPayload
from adapters.retries import retry_call
from adapters.sandbox.records import DeliveryRecord, SubscriptionRecord
from adapters.sandbox.store import SandboxStore

TOPIC_HEADER = "X-Sandbox-Topic"
SHOP_HEADER = "X-Sandbox-Shop-Domain"
WEBHOOK_ID_HEADER = "X-Sandbox-Webhook-Id"
TRIGGERED_AT_HEADER = "X-Sandbox-Triggered-At"
HMAC_HEADER = "X-Sandbox-Hmac-Sha256"
REQUIRED_HEADERS = (TOPIC_HEADER, SHOP_HEADER, WEBHOOK_ID_HEADER, HMAC_HEADER)

SEND_TIMEOUT = 10.0
RETRY_DELAYS: tuple[float, ...] = (0.2, 1.0)

Send = Callable[[str, bytes, Mapping[str, str]], int]
"""Posts one webhook: (url, raw body, headers) -> HTTP status. Raise requests.RequestException or
OSError for a network failure (recorded and retried); any other exception propagates."""


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def encode_body(payload: Mapping) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def webhook_request(domain: str, topic: str, body: bytes, secret: str, webhook_id: str,
                    triggered_at: datetime) -> dict[str, str]:
    """The headers the sandbox sends with ``body``; the same webhook id on every retry of one event."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Storecare-Sandbox/1",
        TOPIC_HEADER: topic,
        SHOP_HEADER: domain,
        WEBHOOK_ID_HEADER: webhook_id,
        TRIGGERED_AT_HEADER: triggered_at.astimezone(UTC).isoformat(),
        HMAC_HEADER: sign(secret, body),
    }


def read_headers(headers: Mapping[str, str]) -> WebhookHeaders:
    """The sandbox headers of an incoming webhook, looked up case-insensitively; nothing is trusted yet."""
    lowered = lowered_headers(headers)
    missing = [name for name in REQUIRED_HEADERS if not lowered.get(name.lower())]
    if missing:
        raise InvalidPayload(f"sandbox webhook is missing the header(s) {', '.join(missing)}")
    return WebhookHeaders(
        shop_domain=lowered[SHOP_HEADER.lower()].lower(),
        signature=lowered[HMAC_HEADER.lower()],
        topic=lowered[TOPIC_HEADER.lower()],
        delivery_id=lowered[WEBHOOK_ID_HEADER.lower()],
        triggered_at=_triggered_at(lowered.get(TRIGGERED_AT_HEADER.lower())),
    )


def read_envelope(headers: Mapping[str, str], body: bytes,
                  read: WebhookHeaders | None = None) -> WebhookEnvelope:
    return webhook_envelope(Platform.SANDBOX, read or read_headers(headers), body, "sandbox")


def _triggered_at(value: str | None) -> datetime | None:
    """Optional (the app can live without it), but a value that is present must be a zoned ISO time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPayload(f"{TRIGGERED_AT_HEADER} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidPayload(f"{TRIGGERED_AT_HEADER} has no timezone")
    return parsed.astimezone(UTC)


def post_with_requests(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """The default ``Send``: one real POST, no redirects followed (a webhook endpoint answers itself)."""
    response = requests.post(url, data=body, headers=dict(headers), timeout=SEND_TIMEOUT,
                             allow_redirects=False)
    response.close()
    return response.status_code


def deliver(store: SandboxStore, domain: str, topic: str, payload: Mapping, *, send: Send | None = None,
            retry_delays: Sequence[float] = RETRY_DELAYS,
            now: datetime | None = None) -> list[DeliveryRecord]:
    """Post ``payload`` to every subscription of ``topic`` in ``domain``; return every attempt made."""
    body = encode_body(payload)
    triggered_at = now or datetime.now(UTC)
    attempts: list[DeliveryRecord] = []
    for subscription in store.subscriptions(domain, topic):
        attempts += _deliver_one(store, domain, subscription, body, triggered_at, send or post_with_requests,
                                 retry_delays)
    return attempts


def _deliver_one(store: SandboxStore, domain: str, subscription: SubscriptionRecord, body: bytes,
                 triggered_at: datetime, send: Send, retry_delays: Sequence[float]) -> list[DeliveryRecord]:
    webhook_id = str(uuid.uuid4())
    headers = webhook_request(domain, subscription.topic, body, subscription.secret, webhook_id, triggered_at)
    attempts: list[DeliveryRecord] = []

    def once() -> None:
        status, error = _attempt(send, subscription.address, body, headers)
        record = store.record_delivery(domain, subscription, webhook_id=webhook_id, attempt=len(attempts) + 1,
                                       status_code=status, error=error, at=datetime.now(UTC))
        attempts.append(record)
        if not record.succeeded and _worth_retrying(status):
            raise _TryAgain(status)

    try:
        retry_call(once, retry_on=_TryAgain, limits={"all": len(retry_delays)},
                   wait=lambda _exc, failures: retry_delays[failures - 1], sleep=time.sleep)
    except _TryAgain:
        pass  # every attempt failed, and the delivery log says so
    return attempts


class _TryAgain(Exception):
    """A delivery attempt failed in a way worth another (no answer, 5xx, 429)."""


def _attempt(send: Send, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str | None]:
    try:
        return int(send(url, body, headers)), None
    except (requests.RequestException, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]


def _worth_retrying(status: int | None) -> bool:
    return status is None or status >= 500 or status == 429
