"""Shopify's three compliance webhooks at /webhooks/shopify, with Shopify's own example bodies, signed with the
app's client secret: 401 on a bad HMAC, 200 otherwise, the work done by the worker."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plugin.admin.auth import login_url
from plugin.privacy.models import DataExport, PrivacyAudit
from plugin.security import sign_base64
from plugin.shops.models import Shop
from plugin.sync.models import Customer, Order, WebhookDelivery
from tests.factories import make_order, make_shop
from tests.shopify_auth_support import SECRET, shopify_app

DOMAIN = "anna-ceramika.myshopify.com"
EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "shopify" / "compliance"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shop(db):
    """John (Shopify customer 191167) with two of the example's orders, and another customer."""
    with db.uow() as s:
        shop = make_shop(s, domain=DOMAIN, platform="shopify", name="Ceramika")
        john = Customer(shop_id=shop.id, platform_id="191167", email="john@example.com", first_name="John",
                        last_name="Smith")
        jane = Customer(shop_id=shop.id, platform_id="5005", email="jane@example.com", first_name="Jane")
        s.add_all([john, jane])
        s.flush()
        for platform_id in ("299938", "280263"):
            make_order(s, shop, john, total="40.00").platform_id = platform_id
        make_order(s, shop, jane, total="15.00")
        s.commit()
        return shop.id


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_text(encoding="utf-8").replace("{shop}.myshopify.com", DOMAIN).encode("utf-8")


def send(client, topic: str, body: bytes, webhook_id: str, secret: str = SECRET, prefix: str = "X-Shopify-"):
    return client.post("/webhooks/shopify", data=body, headers={
        "Content-Type": "application/json", f"{prefix}Topic": topic, f"{prefix}Shop-Domain": DOMAIN,
        f"{prefix}Webhook-Id": webhook_id, f"{prefix}Triggered-At": "2026-11-20T10:00:00Z",
        f"{prefix}Hmac-Sha256": sign_base64(secret, body), f"{prefix}Api-Version": "2026-10"})


def test_a_forged_compliance_webhook_gets_401_and_changes_nothing(client, db, queue, shop):
    for topic, name in (("customers/data_request", "customers-data_request.json"),
                        ("customers/redact", "customers-redact.json"), ("shop/redact", "shop-redact.json")):
        assert send(client, topic, example(name), f"forged-{topic}", secret="not-the-secret").status_code == 401
    queue.drain()
    with db.uow() as s:
        assert s.scalar(select(func.count(WebhookDelivery.id))) == 0
        assert s.scalar(select(func.count(PrivacyAudit.id))) == 0
        assert s.get(Shop, shop) is not None


def test_the_data_request_becomes_an_export_the_merchant_downloads(client, db, queue, shop):
    response = send(client, "customers/data_request", example("customers-data_request.json"), "wh-dr")
    assert response.status_code == 200
    queue.drain()

    with db.uow() as s:
        export = s.scalars(select(DataExport)).one()
        assert (export.customer_platform_id, export.orders_count) == ("191167", 2)
    assert client.get(login_url(shop)).status_code == 302
    document = client.get(f"/admin/privacy/exports/{export.id}").get_json()
    assert document["request"]["data_request_id"] == "9999"
    assert sorted(o["platform_id"] for o in document["orders"]) == ["280263", "299938"]
    assert "jane@example.com" not in json.dumps(document)


def test_the_redact_anonymises_john_and_keeps_his_totals(client, db, queue, shop):
    # the newer "Shopify-" header spelling is read the same way
    assert send(client, "customers/redact", example("customers-redact.json"), "wh-r", prefix="Shopify-"
                ).status_code == 200
    queue.drain()

    with db.uow() as s:
        john = s.scalars(select(Customer).where(Customer.platform_id == "191167")).one()
        assert (john.email, john.first_name, john.last_name) == (None, None, None)
        orders = s.scalars(select(Order).where(Order.customer_id == john.id)).all()
        assert [(o.email, str(o.total)) for o in orders] == [(None, "40.0000")] * 2
        assert s.scalars(select(Customer.email).where(Customer.platform_id == "5005")).one() == "jane@example.com"
        audit = s.scalars(select(PrivacyAudit)).one()
        assert (audit.topic, audit.subject["customer_id"], audit.counts["orders"]) == ("customers/redact", "191167", 2)
        assert "john@example.com" not in json.dumps([audit.subject, audit.counts, audit.shop_domain])
        assert s.scalars(select(WebhookDelivery.payload)).one()["redacted"] is True


def test_the_shop_redact_erases_the_shop(client, db, queue, shop):
    assert send(client, "shop/redact", example("shop-redact.json"), "wh-sr").status_code == 200
    queue.drain()

    with db.uow() as s:
        assert s.get(Shop, shop) is None
        assert s.scalar(select(func.count(Order.id))) == 0 and s.scalar(select(func.count(Customer.id))) == 0
        audit = s.scalars(select(PrivacyAudit)).one()
        assert (audit.platform, audit.shop_domain, audit.subject) == ("shopify", DOMAIN, {"shop_id": "954889"})
    # Shopify may repeat it: the shop is unknown now, and the app's signature still earns a 200
    assert send(client, "shop/redact", example("shop-redact.json"), "wh-sr-2").status_code == 200
