"""Reading Shopify webhooks: both header spellings, the dedupe key, topics, and the payload readers."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters import get_adapter_class
from adapters.base import Platform
from adapters.errors import InvalidPayload
from adapters.shopify.adapter import ShopifyAdapter
from adapters.shopify.webhooks import topic_enum
from tests.contract.shopify_simulator import shopify_webhook

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify" / "webhooks"
SHOP = "storecare-demo.myshopify.com"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_the_registry_names_the_shopify_adapter():
    assert get_adapter_class("shopify") is ShopifyAdapter


def test_x_shopify_headers_are_read():
    headers, _ = shopify_webhook(SHOP, "orders/create", fixture("orders-create"))

    read = ShopifyAdapter.read_webhook_headers(headers)

    assert (read.shop_domain, read.topic, read.delivery_id) == (SHOP, "orders/create",
                                                                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert read.signature == headers["X-Shopify-Hmac-Sha256"]
    # Shopify sends nanoseconds: cut to microseconds
    assert read.triggered_at == datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)


def test_the_newer_shopify_headers_without_the_x_prefix_are_read_in_any_case():
    headers = {"shopify-topic": "Orders/Updated", "SHOPIFY-SHOP-DOMAIN": "Storecare-Demo.myshopify.com",
               "Shopify-Webhook-Id": "d1", "Shopify-Hmac-Sha256": "c2ln",
               "Shopify-Triggered-At": "2026-03-09T15:02:10Z"}

    read = ShopifyAdapter.read_webhook_headers(headers)

    assert (read.shop_domain, read.topic) == (SHOP, "orders/updated")
    assert (read.delivery_id, read.signature) == ("d1", "c2ln")
    assert read.triggered_at == datetime(2026, 3, 9, 15, 2, 10, tzinfo=UTC)


def test_the_event_id_stands_in_only_when_there_is_no_webhook_id():
    headers, _ = shopify_webhook(SHOP, "orders/create", {})
    del headers["X-Shopify-Webhook-Id"]

    assert ShopifyAdapter.read_webhook_headers(headers).delivery_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"


@pytest.mark.parametrize("missing", ["X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Hmac-Sha256"])
def test_a_webhook_missing_a_header_it_needs_is_invalid(missing):
    headers, _ = shopify_webhook(SHOP, "orders/create", {})
    del headers[missing]

    with pytest.raises(InvalidPayload, match=missing):
        ShopifyAdapter.read_webhook_headers(headers)


def test_a_webhook_without_any_delivery_id_is_invalid():
    headers, _ = shopify_webhook(SHOP, "orders/create", {})
    del headers["X-Shopify-Webhook-Id"], headers["X-Shopify-Event-Id"]

    with pytest.raises(InvalidPayload, match="Webhook-Id"):
        ShopifyAdapter.read_webhook_headers(headers)


def test_a_triggered_at_that_is_not_a_time_is_invalid():
    headers, _ = shopify_webhook(SHOP, "orders/create", {})
    headers["X-Shopify-Triggered-At"] = "yesterday"

    with pytest.raises(InvalidPayload, match="Triggered-At"):
        ShopifyAdapter.read_webhook_headers(headers)


def test_an_envelope_carries_the_body_and_the_platform():
    headers, body = shopify_webhook(SHOP, "app/uninstalled", fixture("app-uninstalled"))

    envelope = ShopifyAdapter.read_webhook(headers, body)

    assert (envelope.platform, envelope.topic) == (Platform.SHOPIFY, "app/uninstalled")
    assert envelope.shop_domain == SHOP
    assert envelope.payload["myshopify_domain"] == SHOP


def test_the_payload_readers_of_each_topic():
    assert ShopifyAdapter.order_from_payload(fixture("orders-create")).number == "1042"
    assert ShopifyAdapter.customer_from_payload(fixture("customers-create")).first_name == "Ewa"
    assert ShopifyAdapter.refund_order_id(fixture("refunds-create")) == "6143519162681"
    operation = ShopifyAdapter.bulk_operation_id(fixture("bulk_operations-finish"))
    assert operation == "gid://shopify/BulkOperation/4418876539193"


def test_a_refund_payload_is_not_an_order():
    with pytest.raises(InvalidPayload):
        ShopifyAdapter.order_from_payload(fixture("refunds-create"))


def test_a_bulk_finish_payload_without_an_operation_id_is_invalid():
    with pytest.raises(InvalidPayload):
        ShopifyAdapter.bulk_operation_id({"status": "completed"})


@pytest.mark.parametrize(("topic", "enum"), [
    ("orders/create", "ORDERS_CREATE"), ("app/scopes_update", "APP_SCOPES_UPDATE"),
    ("bulk_operations/finish", "BULK_OPERATIONS_FINISH"), ("fulfillments/update", "FULFILLMENTS_UPDATE"),
])
def test_topics_become_shopifys_enum_values(topic, enum):
    assert topic_enum(topic) == enum


@pytest.mark.parametrize("topic", ["orders", "orders/", "/create", "orders/create/now"])
def test_a_topic_that_is_not_resource_slash_event_is_refused(topic):
    with pytest.raises(ValueError):
        topic_enum(topic)
