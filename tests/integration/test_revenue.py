"""Paid net revenue in the mirror and on the admin's pages, on SQLite and PostgreSQL.

The SQL form of the rule (plugin/sync/revenue.py) is held to the same cases as its pure twin; then a
WooCommerce store with an order in every status of WooCommerce core (the simulator), backfilled and
updated by webhook as a real store does, must show the paid net figures worked out by hand: the
overview's revenue, a customer's total spent and number of orders. A deleted order counts nowhere.
"""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import create_engine, func, select, text, update

from plugin import migrate
from plugin.admin.auth import login_url
from plugin.sync import backfill, mirror, revenue
from plugin.sync.models import Customer, Order
from tests.contract.woocommerce_kit import (
    NOW,
    WOO_STATUSES,
    build_store,
    install_shop,
    make_customer,
    make_order,
    order_webhook,
    refund_order,
    woo_simulator,  # noqa: F401 (fixture)
)
from tests.factories import T0, make_shop
from tests.factories import make_customer as make_mirror_customer
from tests.factories import make_order as make_mirror_order

# (financial status, total, refunded, cancelled, deleted) -> the paid net amount worked out by hand
CASES = [
    ("paid", "100.00", None, False, False, Decimal("100.00")),
    ("partially_refunded", "80.00", "30.00", False, False, Decimal("50.00")),
    ("refunded", "60.00", "60.00", False, False, None),
    ("pending", "40.00", None, False, False, None),
    ("authorized", "25.00", None, False, False, None),
    ("voided", "35.00", None, True, False, None),
    ("paid", "70.00", None, True, False, None),  # cancelled and never refunded: still not revenue
    ("paid", "90.00", None, False, True, None),
    ("partially_refunded", "45.00", "5.00", False, True, None),
]


def test_the_sql_rule_and_its_pure_twin_agree_with_the_figures_worked_out_by_hand(db):
    with db.uow() as s:
        shop, other = make_shop(s), make_shop(s, domain="other.sandbox.test")
        anna = make_mirror_customer(s, shop)
        expected = {}
        for status, total, refunded, cancelled, deleted, net in CASES:
            order = make_mirror_order(s, shop, anna, total=total, refunded=refunded, financial_status=status,
                                      cancelled_at=T0 if cancelled else None, deleted_at=T0 if deleted else None)
            expected[order.platform_id] = net
        make_mirror_order(s, other, make_mirror_customer(s, other), total="999.00")
        s.commit()

        rows = s.scalars(select(Order).where(Order.shop_id == shop.id)).all()
        paid_ids = set(s.scalars(select(Order.platform_id).where(Order.shop_id == shop.id, revenue.paid_order())))
        count, total = s.execute(select(func.count(Order.id), revenue.paid_net_revenue())
                                 .where(Order.shop_id == shop.id, revenue.paid_order())).one()
        nets = dict(s.execute(select(Order.platform_id, revenue.paid_net_amount())
                              .where(Order.shop_id == shop.id, revenue.paid_order())).all())

    assert paid_ids == {p for p, net in expected.items() if net is not None}
    assert {o.platform_id for o in rows if revenue.is_paid_order(o)} == paid_ids
    assert {p: revenue.as_money(v) for p, v in nets.items()} == {p: n for p, n in expected.items() if n is not None}
    assert {o.platform_id: revenue.order_paid_net(o) for o in rows} == {p: n or 0 for p, n in expected.items()}
    assert (count, revenue.as_money(total)) == (2, Decimal("150.00"))
    assert revenue.sum_paid_net(rows) == Decimal("150.00")
    with db.uow() as s:  # nothing paid at all: 0, not NULL
        empty = s.scalar(select(revenue.paid_net_revenue()).where(Order.shop_id == -1, revenue.paid_order()))
    assert revenue.as_money(empty) == Decimal("0.00")


# -- a WooCommerce store with the mix of a real one ------------------------------------------------

BASE_URL = "https://ceramika.example"
ANNA_ID, PIOTR_ID = 7, 8
# Anna's orders, one in every status of WooCommerce core, each with its own total.
ANNA_ORDERS = {"processing": "120.00", "completed": "80.50", "on-hold": "300.00", "pending": "45.00",
               "failed": "60.00", "cancelled": "75.00", "refunded": "50.00", "checkout-draft": "99.00"}
PARTLY_REFUNDED = 9100  # Anna's completed order of 200.00 with 30.00 refunded
ANNA_PAID = Decimal("120.00") + Decimal("80.50") + Decimal("170.00")  # processing, completed, 200 - 30
OTHERS_PAID = Decimal("40.00") + Decimal("10.00")  # Piotr's completed order, a guest's processing one


def signed_in(client, shop_id: int):
    assert client.get(login_url(shop_id)).status_code == 302
    return client


def stat(html: str, name: str) -> str:
    match = re.search(rf'data-stat="{name}">.*?class="stat__value[^"]*">([^<]*)<', html, re.DOTALL)
    assert match, f"no {name} stat on the page"
    return unescape(match.group(1)).strip()


def money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


@pytest.fixture
def woo(woo_simulator, db):  # noqa: F811 (the fixture imported above)
    """The store: Anna with an order in every status and one refunded in part, Piotr, a guest."""
    store = woo_simulator.add(build_store(BASE_URL, seed=3, orders=0, customers=0))
    store.currency = "USD"
    anna = store.customers[ANNA_ID] = make_customer(ANNA_ID, "anna@example.com", NOW - timedelta(days=90), None)
    piotr = store.customers[PIOTR_ID] = make_customer(PIOTR_ID, "piotr@example.com", NOW - timedelta(days=80), None)
    assert set(ANNA_ORDERS) == set(WOO_STATUSES)
    ids = {}
    for n, (status, total) in enumerate(ANNA_ORDERS.items()):
        ids[status] = 9000 + n
        refunds = ((9500 + n, total),) if status == "refunded" else ()
        store.add_order(make_order(ids[status], status=status, customer=anna, total=total, refunds=refunds,
                                   created=NOW - timedelta(days=60 - n)))
    store.add_order(make_order(PARTLY_REFUNDED, status="completed", customer=anna, total="200.00",
                               created=NOW - timedelta(days=20)))
    refund_order(store, PARTLY_REFUNDED, "30.00", NOW - timedelta(days=19))
    store.add_order(make_order(9200, status="completed", customer=piotr, total="40.00", created=NOW - timedelta(days=5)))
    store.add_order(make_order(9300, status="processing", email="guest@example.net", total="10.00",
                               created=NOW - timedelta(days=4)))
    shop_id = install_shop(db, store)
    backfill.run_backfill(db, shop_id)
    return store, shop_id, ids


def customer(db, shop_id: int, platform_id: int) -> Customer:
    with db.uow() as s:
        return s.scalars(select(Customer).where(Customer.shop_id == shop_id,
                                                Customer.platform_id == str(platform_id))).one()


def test_the_overview_and_a_customer_show_paid_revenue_net_of_refunds(client, db, woo):
    _store, shop_id, _ids = woo
    anna = customer(db, shop_id, ANNA_ID)

    assert (anna.orders_count, anna.total_spent) == (3, ANNA_PAID)  # 370.50; every order summed: 1,099.50
    assert (anna.first_order_at.date(), anna.last_order_at.date()) == ((NOW - timedelta(days=60)).date(),
                                                                       (NOW - timedelta(days=20)).date())
    signed_in(client, shop_id)
    data = client.get("/admin/api/overview").json
    assert (data["revenue"], data["paid_orders"], data["orders"]) == (str(ANNA_PAID + OTHERS_PAID), 5, 11)
    assert data["revenue_basis"] == "paid_net_of_refunds" and data["currency"] == "USD"
    page = client.get("/admin/").text
    assert stat(page, "revenue") == money(ANNA_PAID + OTHERS_PAID) == "$420.50"
    assert "Paid orders, net of refunds" in page and stat(page, "orders") == "11"
    detail = client.get(f"/admin/customers/{anna.id}").text
    assert stat(detail, "total-spent") == "$370.50" and stat(detail, "paid-orders") == "3"
    assert "Paid orders, net of refunds" in detail
    listing = unescape(client.get("/admin/customers").text)
    assert "$370.50" in listing and "Total spent: paid orders, net of refunds." in listing


def test_an_order_paid_later_counts_from_the_webhook_that_says_so(client, db, queue, woo):
    store, shop_id, ids = woo
    on_hold = store.orders[ids["on-hold"]]
    on_hold.update(status="processing", date_paid_gmt="2026-01-15T13:00:00", date_modified_gmt="2026-01-15T13:00:00")
    headers, body = order_webhook(store, "our-secret", str(ids["on-hold"]))

    assert client.post("/webhooks/woocommerce", data=body, headers=headers).json["status"] == "accepted"
    queue.drain()

    anna = customer(db, shop_id, ANNA_ID)
    assert (anna.orders_count, anna.total_spent) == (4, ANNA_PAID + Decimal("300.00"))
    assert signed_in(client, shop_id).get("/admin/api/overview").json["revenue"] == \
        str(ANNA_PAID + OTHERS_PAID + Decimal("300.00"))


def test_an_order_deleted_in_the_store_counts_nowhere_and_leaves_the_lists(client, db, woo):
    _store, shop_id, ids = woo
    with db.uow() as s:  # what applying the store's deletion does: mark it, refresh its customer
        order = s.scalars(select(Order).where(Order.shop_id == shop_id,
                                              Order.platform_id == str(ids["completed"]))).one()
        s.execute(update(Order).where(Order.id == order.id).values(deleted_at=NOW))
        mirror.refresh_customer_aggregates(s, shop_id, {order.customer_id})
        s.commit()
        order_id, number = order.id, order.number

    anna = customer(db, shop_id, ANNA_ID)
    assert (anna.orders_count, anna.total_spent) == (2, ANNA_PAID - Decimal("80.50"))
    signed_in(client, shop_id)
    data = client.get("/admin/api/overview").json
    assert (data["revenue"], data["paid_orders"], data["orders"]) == (
        str(ANNA_PAID + OTHERS_PAID - Decimal("80.50")), 4, 10)
    number_link = re.compile(rf'href="/admin/orders/{order_id}"')
    assert not number_link.search(client.get("/admin/orders").text)
    assert not number_link.search(client.get(f"/admin/customers/{anna.id}").text)
    assert "10 orders synced" in client.get("/admin/orders").text
    opened = client.get(f"/admin/orders/{order_id}")
    assert opened.status_code == 200 and f"Order {number}" in unescape(re.sub(r"</?bdi\b[^>]*>", "", opened.text))
    assert "Deleted in your store" in opened.text


def test_the_migration_recounts_every_customers_figures_from_paid_orders(database_url):
    """Customers counted by the rule before (every order not cancelled) are recounted by 0004."""
    migrate.upgrade(database_url, "0003_platform_fidelity_security")
    engine = create_engine(database_url)
    orders = [("1", "paid", "100.00", "0", None, None), ("2", "partially_refunded", "80.00", "30.00", None, None),
              ("3", "pending", "45.00", "0", None, None), ("4", "paid", "90.00", "0", None, "2026-01-02"),
              ("5", "voided", "20.00", "0", "2026-01-03", None)]
    with engine.begin() as c:
        c.execute(text("INSERT INTO shops (id, platform, domain, name, currency, timezone, locale, status, scopes, "
                       "needs_reauth, installed_at, created_at, updated_at) VALUES (1, 'woocommerce', 'a.example', "
                       "'A', 'USD', 'UTC', 'en', 'installed', '[]', false, '2026-01-01', '2026-01-01', '2026-01-01')"))
        c.execute(text("INSERT INTO customers (id, shop_id, platform_id, accepts_marketing, orders_count, total_spent, "
                       "synced_at) VALUES (1, 1, '7', false, 4, 315.00, '2026-01-01'), "
                       "(2, 1, '8', false, 0, 0, '2026-01-01')"))
        for n, (pid, status, total, refunded, cancelled, deleted) in enumerate(orders):
            c.execute(text(
                "INSERT INTO orders (shop_id, platform_id, number, customer_id, currency, subtotal, total, "
                "total_discounts, total_tax, total_refunded, financial_status, fulfillment_status, discount_codes, "
                "created_at, cancelled_at, deleted_at, platform_updated_at, synced_at) VALUES (1, :pid, :pid, 1, "
                "'USD', :total, :total, 0, 0, :refunded, :status, 'unfulfilled', '[]', :created, :cancelled, "
                ":deleted, :created, :created)"),
                {"pid": pid, "total": total, "refunded": refunded, "status": status, "cancelled": cancelled,
                 "deleted": deleted, "created": f"2026-01-0{n + 1}"})

    migrate.upgrade(database_url)

    with engine.connect() as c:
        rows = c.execute(text("SELECT id, orders_count, total_spent, first_order_at, last_order_at FROM customers "
                              "ORDER BY id")).all()
    engine.dispose()
    (_anna, count, spent, first, last), (_piotr, *nothing) = rows
    assert (count, Decimal(str(spent)).quantize(Decimal("0.01"))) == (2, Decimal("150.00"))
    assert (str(first)[:10], str(last)[:10]) == ("2026-01-01", "2026-01-02")
    assert (nothing[0], Decimal(str(nothing[1])), nothing[2], nothing[3]) == (0, 0, None, None)
