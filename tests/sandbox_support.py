"""A seeded sandbox shop installed in the app, and a `send` that delivers its webhooks to the test client."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from adapters.sandbox import Delivery, SandboxStore, seed_shop
from plugin.shops.models import Shop
from plugin.shops.service import install_sandbox_shop

DOMAIN = "shop.sandbox.test"
SEEDED_AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@dataclass
class InstalledSandbox:
    store: SandboxStore
    shop_id: int
    domain: str
    delivery: Delivery  # routes webhooks into the Flask test client, no retries
    statuses: list[int]


def install(app, db, customers: int = 40, orders: int = 300, domain: str = DOMAIN, address: str = "http://localhost",
            send=None) -> InstalledSandbox:
    settings = app.config["STORECARE_SETTINGS"]
    store = SandboxStore(settings.sandbox_path)
    seed_shop(store, domain, seed=11, customers=customers, orders=orders, now=SEEDED_AT)
    with db.uow() as session:
        shop = install_sandbox_shop(session, domain, name="Test shop", currency="PLN", webhook_address=address)
        session.commit()
        shop_id = shop.id
    statuses: list[int] = []
    client = app.test_client()

    def to_test_client(url, body, headers):
        status = client.post(urlsplit(url).path, data=body, headers=dict(headers)).status_code
        statuses.append(status)
        return status

    return InstalledSandbox(store, shop_id, domain, Delivery(send=send or to_test_client, retry_delays=()), statuses)


def shop(db, shop_id: int) -> Shop:
    with db.uow() as session:
        return session.get(Shop, shop_id)
