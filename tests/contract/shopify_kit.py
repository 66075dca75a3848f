"""The Shopify kit of the adapter contract: ShopifyAdapter over the GraphQL simulator (``responses``).

Three shops: the kit's shop (40 orders, some guests, refunds, fulfilments, one order with more line
items than a page carries), another shop whose records must stay invisible, and one whose API always
answers 503. A token the simulator does not know stands for a revoked one (401). Webhooks are the
REST resources of the same records, signed like Shopify signs them.
"""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import responses

from adapters.base import Connection
from adapters.shopify.adapter import ShopifyAdapter
from plugin.http import make_session
from tests.contract.conftest import WEBHOOK_SECRET, AdapterKit
from tests.contract.shopify_simulator import FakeTime, ShopifySimulator, shopify_webhook
from tests.contract.shopify_store import build_shop, rest_order

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOP = "contract-shop.myshopify.com"
OTHER_SHOP = "other-contract-shop.myshopify.com"
FAILING_SHOP = "failing-shop.myshopify.com"
TOKEN, OTHER_TOKEN = "shpat_contract_token", "shpat_other_token"


@pytest.fixture
def shopify_simulator():
    simulator = ShopifySimulator()
    simulator.add_shop(build_shop(SHOP, TOKEN, seed=11, orders=40, customers=12, id_base=0, now=NOW))
    simulator.add_shop(build_shop(OTHER_SHOP, OTHER_TOKEN, seed=12, orders=5, customers=3, id_base=500,
                                  now=NOW, currency="EUR"))
    simulator.failing.add(FAILING_SHOP)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        yield simulator


@pytest.fixture
def shopify_kit(shopify_simulator) -> AdapterKit:
    http = make_session()
    time = FakeTime()

    def adapter(domain: str = SHOP, token: str = TOKEN) -> ShopifyAdapter:
        return ShopifyAdapter(Connection(shop_domain=domain, credentials={"access_token": token}), http,
                              sleep=time.sleep, clock=time.clock)

    shop, other = shopify_simulator.shops[SHOP], shopify_simulator.shops[OTHER_SHOP]

    def order_webhook(order_id: str) -> tuple[dict[str, str], bytes]:
        return shopify_webhook(SHOP, "orders/updated", rest_order(shop.orders[int(order_id)], shop.currency),
                               secret=WEBHOOK_SECRET)

    def order_with_code(code: str, customer_id: str) -> str:
        template = shop.orders[min(shop.orders)]
        order = dataclasses.replace(template, id=max(shop.orders) + 1, number=template.number + 900,
                                    customer=shop.customers[int(customer_id)], discount_codes=[code],
                                    refunds=[], fulfillments=[])
        shop.orders[order.id] = order
        return str(order.id)

    return AdapterKit(
        adapter=adapter(),
        shop_domain=SHOP,
        other_shop_order_id=str(min(other.orders)),
        other_shop_customer_id=str(min(other.customers)),
        order_webhook=order_webhook,
        failing_adapter=lambda: adapter(FAILING_SHOP),
        revoked_adapter=lambda: adapter(token="shpat_revoked_token"),
        delete_order=lambda order_id: shop.orders.pop(int(order_id)) and None,
        webhook_topics=("orders/create", "orders/updated", "refunds/create"),
        product_id=str(min(shop.products)),
        currency=shop.currency,
        order_with_code=order_with_code,
    )
