"""The sandbox generator: a believable, reproducible shop history."""
from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import Connection, FinancialStatus, FulfillmentStatus
from adapters.sandbox import SandboxAdapter, SandboxStore, ShopExistsError, seed_shop

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOP = "gen.sandbox.test"
TABLES = ("shops", "products", "customers", "orders", "line_items", "refunds", "fulfillments",
          "discount_codes")
STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("generator") / "sandbox.db"
    summary = seed_shop(SandboxStore(path), SHOP, seed=42, customers=60, orders=600, now=NOW)
    return path, summary


@pytest.fixture(scope="module")
def orders(seeded) -> list:
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(seeded[0]))
    items, cursor = [], None
    while True:
        page = adapter.list_orders(cursor=cursor, limit=250)
        items += page.items
        if page.is_last:
            return items
        cursor = page.next_cursor


def dump(path: Path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}
    finally:
        conn.close()


def test_writes_the_requested_numbers_of_records(seeded):
    path, summary = seeded
    counts = {table: len(rows) for table, rows in dump(path).items()}

    assert (summary.customers, summary.orders, summary.products) == (60, 600, 30)
    assert counts["customers"] == 60 and counts["orders"] == 600 and counts["products"] == 30
    assert counts["refunds"] == summary.refunds and counts["fulfillments"] == summary.fulfillments


def test_the_same_seed_and_now_give_the_same_shop(tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    seed_shop(SandboxStore(first), SHOP, seed=5, customers=20, orders=80, now=NOW)
    seed_shop(SandboxStore(second), SHOP, seed=5, customers=20, orders=80, now=NOW)

    assert dump(first) == dump(second)


def test_another_seed_gives_another_shop(tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    seed_shop(SandboxStore(first), SHOP, seed=5, customers=20, orders=80, now=NOW)
    seed_shop(SandboxStore(second), SHOP, seed=6, customers=20, orders=80, now=NOW)

    assert dump(first)["orders"] != dump(second)["orders"]


def test_reseeding_a_shop_is_refused_and_leaves_it_untouched(seeded):
    path, _ = seeded
    before = dump(path)

    with pytest.raises(ShopExistsError):
        seed_shop(SandboxStore(path), SHOP, seed=1, customers=5, orders=5, now=NOW)

    assert dump(path) == before


def test_has_one_time_buyers_repeat_buyers_and_guests(orders):
    per_customer = Counter(o.customer.platform_id for o in orders if o.customer)
    guests = [o for o in orders if o.customer is None]

    assert sum(1 for n in per_customer.values() if n == 1) >= 10
    assert max(per_customer.values()) >= 10
    assert 0.01 * len(orders) <= len(guests) <= 0.12 * len(orders)
    assert all(o.email for o in guests)


def test_has_refunds_partial_and_full_cancellations_and_fulfilments(orders):
    statuses = Counter(o.financial_status for o in orders)
    refunded = [o for o in orders if o.refunds]

    assert statuses[FinancialStatus.PARTIALLY_REFUNDED] > 0 and statuses[FinancialStatus.REFUNDED] > 0
    assert 0.02 * len(orders) <= len(refunded) <= 0.15 * len(orders)
    assert 0 < sum(1 for o in orders if o.cancelled_at) <= 0.08 * len(orders)
    paid = [o for o in orders if o.financial_status is FinancialStatus.PAID]
    assert sum(1 for o in paid if o.fulfillment_status is FulfillmentStatus.FULFILLED) > 0.8 * len(paid)
    assert any(o.discount_codes for o in orders)


def test_totals_are_lines_minus_discounts_in_decimal_money(orders):
    for order in orders:
        lines = sum((line.line_total for line in order.line_items), Decimal(0))
        assert order.line_items
        assert order.subtotal == lines
        assert order.total == order.subtotal - order.total_discounts
        assert Decimal(0) <= order.total_tax < order.total
        assert (order.total_discounts > 0) == bool(order.discount_codes)
        for amount in (order.total, order.subtotal, order.total_tax, *(r.amount for r in order.refunds)):
            assert isinstance(amount, Decimal) and amount == amount.quantize(Decimal("0.01"))


def test_nothing_happens_after_now_or_before_the_order_was_placed(orders):
    for order in orders:
        assert order.created_at <= order.updated_at <= NOW
        for moment in (order.cancelled_at, order.fulfilled_at, *(r.created_at for r in order.refunds)):
            assert moment is None or order.created_at <= moment <= NOW
        if order.customer:
            assert order.customer.created_at <= order.created_at


def test_order_numbers_follow_the_order_of_time(orders):
    by_number = sorted(orders, key=lambda o: int(o.number))

    assert [int(o.number) for o in by_number] == list(range(1001, 1001 + len(orders)))
    assert [o.created_at for o in by_number] == sorted(o.created_at for o in orders)


def test_customers_look_real_in_english_and_polish(seeded):
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(seeded[0]))
    customers = adapter.list_customers(limit=250).items

    emails = [c.email for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(email.isascii() and "@example." in email for email in emails)
    assert {c.locale for c in customers} == {"en", "pl"}
    assert any(c.birthday for c in customers) and any(not c.birthday for c in customers)
    assert any(c.accepts_marketing for c in customers) and any(not c.accepts_marketing for c in customers)
    assert any(not c.last_name.isascii() for c in customers)  # Polish names keep their letters


def test_prices_follow_the_shop_currency(tmp_path):
    store = SandboxStore(tmp_path / "sandbox.db")
    seed_shop(store, "usd.sandbox.test", customers=3, orders=5, now=NOW, currency="USD")
    seed_shop(store, "pln.sandbox.test", customers=3, orders=5, now=NOW, currency="PLN")

    usd = {p.sku: p.price_cents for p in store.products("usd.sandbox.test")}
    pln = {p.sku: p.price_cents for p in store.products("pln.sandbox.test")}
    assert usd["KIT-MUG-04"] == 1800 and pln["KIT-MUG-04"] == 7199
    assert store.shop("usd.sandbox.test").currency == "USD"


@pytest.mark.parametrize("options", [{"currency": "XYZ"}, {"orders": -1}, {"years": 0},
                                     {"now": datetime(2026, 1, 1)}])
def test_refuses_impossible_requests(tmp_path, options):
    with pytest.raises(ValueError):
        seed_shop(SandboxStore(tmp_path / "sandbox.db"), SHOP, **{"now": NOW, **options})


def test_every_time_is_stored_in_one_sortable_utc_format(seeded):
    conn = sqlite3.connect(seeded[0])
    try:
        stamps = [row[0] for table in TABLES
                  for column in ("created_at", "updated_at")
                  for row in conn.execute(f"SELECT {column} FROM {table}")]
    finally:
        conn.close()

    assert stamps and all(STORED_TIME.fullmatch(stamp) for stamp in stamps)
