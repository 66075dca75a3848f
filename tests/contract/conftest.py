"""Adapter kits for the contract suite: one fixture per platform, all answering the same questions.

To put another platform under contract, write a ``<platform>_kit`` fixture returning an AdapterKit
(for Shopify and WooCommerce: adapters over ``responses``-mocked HTTP serving tests/fixtures files) and
add the platform's name to KITS. Nothing in test_adapter_contract.py names a platform.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.base import Connection, PlatformAdapter
from adapters.sandbox import SandboxAdapter, SandboxStore, operations, seed_shop
from adapters.sandbox import mapping as sandbox_mapping
from adapters.sandbox import webhooks as sandbox_webhooks

KITS = ["sandbox", "woocommerce", "woocommerce_http", "shopify"]

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SANDBOX_SHOP = "contract.sandbox.test"
SANDBOX_OTHER_SHOP = "other.sandbox.test"
WEBHOOK_SECRET = "contract-webhook-secret"


@dataclass(frozen=True)
class AdapterKit:
    """One platform, ready for the contract: an adapter on a shop with several pages of data, and hooks
    for what only the platform's fixtures know."""

    adapter: PlatformAdapter
    shop_domain: str
    other_shop_order_id: str  # an order that exists, but in another shop
    other_shop_customer_id: str
    order_webhook: Callable[[str], tuple[dict[str, str], bytes]]  # the signed webhook for an order id
    failing_adapter: Callable[[], PlatformAdapter]  # its next call fails transiently
    revoked_adapter: Callable[[], PlatformAdapter]  # its credentials no longer work
    delete_order: Callable[[str], None]  # the merchant deletes (WooCommerce: trashes) the order
    webhook_topics: tuple[str, ...]
    product_id: str  # a product the shop sells
    currency: str  # the shop's currency
    order_with_code: Callable[[str, str], str]  # (code, customer id) -> an order of that customer using the code
    webhook_address: str = "https://storecare.example.com/webhooks/contract"
    webhook_secret: str = WEBHOOK_SECRET


@pytest.fixture(params=KITS)
def kit(request) -> AdapterKit:
    return request.getfixturevalue(f"{request.param}_kit")


@pytest.fixture(scope="session")
def sandbox_template(tmp_path_factory) -> Path:
    """Two seeded shops, built once per session; each test works on its own copy."""
    path = tmp_path_factory.mktemp("sandbox-template") / "sandbox.db"
    store = SandboxStore(path)
    seed_shop(store, SANDBOX_SHOP, seed=7, customers=30, orders=200, now=NOW)
    seed_shop(store, SANDBOX_OTHER_SHOP, seed=8, customers=8, orders=20, now=NOW, currency="USD")
    return path


@pytest.fixture
def sandbox_path(sandbox_template, tmp_path) -> Path:
    path = tmp_path / "sandbox.db"
    shutil.copyfile(sandbox_template, path)
    return path


@pytest.fixture
def sandbox_kit(sandbox_path) -> AdapterKit:
    store = SandboxStore(sandbox_path)

    def adapter(domain: str = SANDBOX_SHOP, **options) -> SandboxAdapter:
        return SandboxAdapter(Connection(shop_domain=domain), str(sandbox_path), **options)

    def order_webhook(order_id: str) -> tuple[dict[str, str], bytes]:
        payload = sandbox_mapping.order_payload(store.order(SANDBOX_SHOP, int(order_id)))
        body = sandbox_webhooks.encode_body(payload)
        headers = sandbox_webhooks.webhook_request(SANDBOX_SHOP, "orders/updated", body, WEBHOOK_SECRET,
                                                   "3b0e4f8e-0c1d-4d59-9a3e-2f5d1c7a9b10", NOW)
        return headers, body

    def delete_order(order_id: str) -> None:
        operations.delete_order(store, SANDBOX_SHOP, store.order(SANDBOX_SHOP, int(order_id)).number, now=NOW)

    def order_with_code(code: str, customer_id: str) -> str:
        email = store.customer(SANDBOX_SHOP, int(customer_id)).email
        return operations.create_order(store, SANDBOX_SHOP, customer_email=email, discount_code=code,
                                       delivery=operations.Delivery(send=lambda *args: 200), now=NOW).subject.platform_id

    other = store.order_page(SANDBOX_OTHER_SHOP, None, 1, None)[0][0]
    return AdapterKit(
        adapter=adapter(),
        shop_domain=SANDBOX_SHOP,
        other_shop_order_id=str(other.id),
        other_shop_customer_id=str(store.customer_page(SANDBOX_OTHER_SHOP, None, 1, None)[0][0].id),
        order_webhook=order_webhook,
        failing_adapter=lambda: adapter(fail_next=1),
        revoked_adapter=lambda: adapter("uninstalled.sandbox.test"),
        delete_order=delete_order,
        webhook_topics=("orders/create", "orders/updated", "refunds/create"),
        product_id=str(store.products(SANDBOX_SHOP)[0].id),
        currency=store.shop(SANDBOX_SHOP).currency,
        order_with_code=order_with_code,
    )


# Kits defined in their own modules (imported last: they use AdapterKit from above).
from tests.contract.shopify_kit import shopify_kit, shopify_simulator  # noqa: E402,F401
from tests.contract.woocommerce_kit import woo_simulator, woocommerce_http_kit, woocommerce_kit  # noqa: E402,F401
