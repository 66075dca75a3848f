"""Guest orders (WooCommerce's customer_id 0) belong to the shop's customer with the billing email."""
from __future__ import annotations

import copy
from decimal import Decimal

from sqlalchemy import select

from adapters.woocommerce import mapping
from plugin.db import utcnow
from plugin.sync import mirror
from plugin.sync.models import Customer, Order
from tests.contract.woocommerce_kit import fixture
from tests.factories import make_customer, make_shop


def guest_order(order_id: int, email: str):
    payload = copy.deepcopy(fixture("order"))
    payload.update(id=order_id, number=str(order_id))
    payload["billing"]["email"] = email
    dto = mapping.order_from_payload(payload)
    assert dto.customer is None
    return dto


def test_a_guest_order_links_to_the_customer_with_its_billing_email_in_the_same_shop(db):
    with db.uow() as s:
        shop, other = make_shop(s, "shop.woo.test", "woocommerce"), make_shop(s, "other.woo.test", "woocommerce")
        ola = make_customer(s, shop, email="ola@example.com")
        make_customer(s, other, email="ola@example.com")  # the same person in another shop: not ours

        mirror.upsert_orders(s, shop.id, [guest_order(1, "Ola@Example.COM ")], source="webhook")
        mirror.upsert_orders(s, other.id, [guest_order(2, "nobody@example.com")], source="webhook")
        s.commit()

        mine = s.scalars(select(Order).where(Order.shop_id == shop.id)).one()
        assert mine.customer_id == ola.id
        refreshed = s.get(Customer, ola.id)
        s.refresh(refreshed)
        assert refreshed.orders_count == 1 and refreshed.total_spent == Decimal("29.35")
        assert s.scalars(select(Order.customer_id).where(Order.shop_id == other.id)).one() is None


def test_a_guest_order_with_an_unknown_or_deleted_customers_email_stays_a_guest(db):
    with db.uow() as s:
        shop = make_shop(s, "shop.woo.test", "woocommerce")
        gone = make_customer(s, shop, email="gone@example.com")
        gone.deleted_at = utcnow()
        s.flush()

        mirror.upsert_orders(s, shop.id, [guest_order(1, "gone@example.com"), guest_order(2, "new@example.com")],
                             source="backfill")
        s.commit()

        assert s.scalars(select(Order.customer_id)).all() == [None, None]
        assert [c.email for c in s.scalars(select(Customer))] == ["gone@example.com"]  # nobody invented
