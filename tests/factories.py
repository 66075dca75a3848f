"""Small factories that write rows straight into the mirror, for tests of what reads it."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from plugin.sync.models import Customer, LineItem, Order, Refund, WebhookDelivery

_ids = itertools.count(1000)
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def make_shop(session, domain: str = "demo.sandbox.test", platform: str = "sandbox", **kw) -> Shop:
    kw.setdefault("name", "Demo Shop")
    kw.setdefault("currency", "PLN")
    kw.setdefault("locale", "en")
    shop = Shop(platform=platform, domain=domain, **kw)
    session.add(shop)
    session.flush()
    return shop


def make_customer(session, shop: Shop, email: str | None = None, **kw) -> Customer:
    n = next(_ids)
    kw.setdefault("first_name", "Anna")
    kw.setdefault("last_name", f"Nowak{n}")
    customer = Customer(shop_id=shop.id, platform_id=str(n), email=email or f"anna{n}@example.com", **kw)
    session.add(customer)
    session.flush()
    return customer


def make_order(session, shop: Shop, customer: Customer | None = None, total: str = "100.00",
               created_at: datetime = T0, items: int = 1, refunded: str | None = None, **kw) -> Order:
    n = next(_ids)
    kw.setdefault("financial_status", "paid")
    kw.setdefault("fulfillment_status", "unfulfilled")
    order = Order(shop_id=shop.id, platform_id=str(n), number=f"#{n}", customer_id=customer.id if customer else None,
                  email=customer.email if customer else "guest@example.com", currency=shop.currency,
                  subtotal=Decimal(total), total=Decimal(total), created_at=created_at,
                  paid_at=created_at if kw["financial_status"] == "paid" else None,
                  platform_updated_at=created_at, **kw)
    session.add(order)
    session.flush()
    price = Decimal(total) / items
    for i in range(items):
        session.add(LineItem(shop_id=shop.id, order_id=order.id, platform_id=f"{n}-{i}", title=f"Product {i + 1}",
                             quantity=1, unit_price=price, total=price, sku=f"SKU-{i + 1}"))
    if refunded:
        session.add(Refund(shop_id=shop.id, order_id=order.id, platform_id=f"r{n}", amount=Decimal(refunded),
                           reason="damaged", created_at=created_at + timedelta(days=3)))
        order.total_refunded = Decimal(refunded)
    session.flush()
    return order


def make_failed_job(session, shop: Shop, name: str = "sync.process_delivery", error: str = "Transient: boom") -> JobRun:
    run = JobRun(shop_id=shop.id, name=name, args={"delivery_id": 1}, status="failed", attempts=5, max_attempts=5,
                 last_error=error)
    session.add(run)
    session.flush()
    return run


def make_delivery(session, shop: Shop, topic: str = "orders/create", status: str = "processed", **kw) -> WebhookDelivery:
    delivery = WebhookDelivery(platform=shop.platform, shop_id=shop.id, topic=topic, delivery_id=f"d{next(_ids)}",
                               payload=kw.pop("payload", {}), status=status, **kw)
    session.add(delivery)
    session.flush()
    return delivery
