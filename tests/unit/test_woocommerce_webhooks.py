"""Reading WooCommerce webhook deliveries: headers, topics, the creation ping, the signature."""
from __future__ import annotations

import hashlib
import json

import pytest

from adapters.errors import InvalidPayload, WebhookPing
from adapters.woocommerce import webhooks
from adapters.woocommerce.adapter import WooCommerceAdapter
from plugin.security import InvalidSignature, verify_base64_hmac
from tests.contract.woocommerce_kit import build_store, order_webhook

SECRET = "our-webhook-secret"


@pytest.fixture
def delivery():
    store = build_store("https://Shop.Example.com:443", seed=1, orders=2, customers=1)
    return order_webhook(store, SECRET, str(next(iter(store.orders))))


@pytest.mark.parametrize(("woo", "neutral"), [
    ("order.created", "orders/create"), ("order.updated", "orders/updated"), ("order.deleted", "orders/delete"),
    ("order.restored", "orders/updated"), ("customer.created", "customers/create"),
    ("customer.updated", "customers/update"), ("customer.deleted", "customers/delete"),
    ("coupon.created", "coupon.created"),
])
def test_topics_become_neutral(delivery, woo, neutral):
    headers, _ = delivery

    assert webhooks.read_headers({**headers, webhooks.TOPIC_HEADER: woo}).topic == neutral


def test_the_shop_is_the_sources_store_key_without_its_default_port(delivery):
    headers, _ = delivery

    assert webhooks.read_headers(headers).shop_domain == "shop.example.com"
    assert webhooks.read_headers({**headers, webhooks.SOURCE_HEADER: "http://127.0.0.1:8080/"}).shop_domain == \
        "127.0.0.1:8080"
    assert webhooks.read_headers({**headers, webhooks.SOURCE_HEADER: "https://multi.example.com/storeB/"}
                                 ).shop_domain == "multi.example.com/storeb"  # a site in a sub-folder


def test_headers_are_read_case_insensitively_and_carry_the_delivery_id(delivery):
    headers, _ = delivery

    read = webhooks.read_headers({name.lower(): value for name, value in headers.items()})

    assert read.delivery_id == headers[webhooks.DELIVERY_HEADER] and read.triggered_at is None


def test_the_signature_a_store_computes_is_what_the_app_verifies(delivery):
    headers, body = delivery

    verify_base64_hmac(SECRET, body, webhooks.read_headers(headers).signature)
    with pytest.raises(InvalidSignature):
        verify_base64_hmac("another-secret", body, webhooks.read_headers(headers).signature)


def test_the_unsigned_creation_ping_is_a_ping():
    ping = {"User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
            "Content-Type": "application/x-www-form-urlencoded"}

    with pytest.raises(WebhookPing):
        WooCommerceAdapter.read_webhook_headers(ping)


@pytest.mark.parametrize("missing", webhooks.REQUIRED_HEADERS)
def test_a_delivery_missing_a_header_is_invalid_not_a_ping(delivery, missing):
    headers, _ = delivery

    with pytest.raises(InvalidPayload, match=missing):
        webhooks.read_headers({k: v for k, v in headers.items() if k != missing})


def test_a_deleted_customer_arrives_as_its_id(delivery):
    headers, _ = delivery
    headers = {**headers, webhooks.TOPIC_HEADER: "customer.deleted"}

    envelope = WooCommerceAdapter.read_webhook(headers, json.dumps({"id": 25}).encode())

    assert (envelope.topic, envelope.payload) == ("customers/delete", {"id": 25})


def test_the_dedupe_key_is_the_delivery_id_with_the_bodys_digest(delivery):
    headers, body = delivery
    other_body = body.replace(b'"status"', b'"status" ', 1)

    envelope = WooCommerceAdapter.read_webhook(headers, body)

    assert envelope.delivery_id == f"{headers[webhooks.DELIVERY_HEADER]}:{hashlib.sha256(body).hexdigest()}"
    assert WooCommerceAdapter.read_webhook(headers, other_body).delivery_id != envelope.delivery_id


def test_the_dedupe_key_fits_the_inbox_column_whatever_the_header_holds(delivery):
    headers, body = delivery

    envelope = WooCommerceAdapter.read_webhook({**headers, webhooks.DELIVERY_HEADER: "x" * 500}, body)

    assert len(envelope.delivery_id) == 128 and envelope.delivery_id.startswith("x" * 63 + ":")
