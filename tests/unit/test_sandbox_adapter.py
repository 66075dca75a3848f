"""What the sandbox adapter promises beyond the shared contract: stable paging under writes, failure
injection, shop isolation, discount-code duplicates and refusing caller mistakes."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters import get_adapter
from adapters.base import Connection, DiscountKind, DiscountSpec, FinancialStatus, Platform, StoreCreditSpec
from adapters.errors import AuthRevoked, DiscountRefused, NotFound, Transient
from adapters.sandbox import (
    Delivery,
    DiscountCodeTakenError,
    SandboxAdapter,
    SandboxError,
    SandboxStore,
    operations,
    seed_shop,
)
from adapters.sandbox.schema import DDL, INSERT_CUSTOMER, INSERT_SHOP, SCHEMA_VERSION, SchemaMismatch

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOP = "adapter.sandbox.test"
QUIET = Delivery(send=lambda url, body, headers: 200, retry_delays=())


@pytest.fixture
def store(tmp_path) -> SandboxStore:
    store = SandboxStore(tmp_path / "sandbox.db")
    seed_shop(store, SHOP, customers=10, orders=40, now=NOW)
    return store


@pytest.fixture
def adapter(store) -> SandboxAdapter:
    return SandboxAdapter(Connection(shop_domain=SHOP), str(store.path))


def spec(**changes) -> DiscountSpec:
    values = {"code": "THANKS-5", "kind": DiscountKind.FIXED_AMOUNT, "value": Decimal("5.00"),
              "title": "Thanks"}
    return DiscountSpec(**{**values, **changes})


def test_the_registry_builds_a_sandbox_adapter_from_a_path(store):
    adapter = get_adapter(Platform.SANDBOX, Connection(shop_domain=SHOP), path=str(store.path))

    assert isinstance(adapter, SandboxAdapter) and adapter.count_orders() == 40


def test_orders_placed_while_paging_appear_once_at_the_end_and_nothing_is_skipped(store, adapter):
    first = adapter.list_orders(limit=15)
    placed = [operations.create_order(store, SHOP, items=1, delivery=QUIET).subject.platform_id
              for _ in range(3)]

    seen, cursor = list(first.items), first.next_cursor
    while cursor:
        page = adapter.list_orders(cursor=cursor, limit=15)
        seen += page.items
        cursor = page.next_cursor

    ids = [order.platform_id for order in seen]
    assert len(ids) == len(set(ids)) == 43
    assert ids[-3:] == placed


def test_an_order_changed_while_paging_by_updated_since_is_not_lost(store, adapter):
    since = NOW - timedelta(days=800)
    before = {o.platform_id for o in adapter.list_orders(limit=250, updated_since=since).items}
    first = adapter.list_orders(limit=10, updated_since=since)
    early = next(order for order in first.items if order.financial_status is FinancialStatus.PAID)
    operations.create_refund(store, SHOP, int(early.number), amount=Decimal("0.01"), delivery=QUIET)

    seen, cursor = list(first.items), first.next_cursor
    while cursor:
        page = adapter.list_orders(cursor=cursor, limit=10)
        seen += page.items
        cursor = page.next_cursor

    assert {o.platform_id for o in seen} == before
    newest = [o for o in seen if o.platform_id == early.platform_id][-1]
    assert newest.updated_at > early.updated_at  # the changed order comes round again, newer


def test_an_instance_can_be_told_to_fail_its_next_calls(store):
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(store.path), fail_next=2)

    with pytest.raises(Transient):
        adapter.count_orders()
    with pytest.raises(Transient):
        adapter.get_order("1")
    assert adapter.count_orders() == 40


def test_the_store_can_make_every_adapter_of_a_shop_fail_its_next_calls(store, adapter):
    store.inject_failures(SHOP, 1)

    with pytest.raises(Transient):
        SandboxAdapter(Connection(shop_domain=SHOP), str(store.path)).list_customers()
    assert adapter.count_orders() == 40


def test_every_call_for_an_unknown_shop_is_auth_revoked(store):
    adapter = SandboxAdapter(Connection(shop_domain="gone.sandbox.test"), str(store.path))
    calls = [adapter.list_orders, adapter.list_customers, adapter.count_orders,
             lambda: adapter.get_order("1"), lambda: adapter.get_customer("1"),
             lambda: adapter.create_discount_code(spec()),
             lambda: adapter.subscribe_webhooks("http://a.test/h", ["orders/create"], "s")]

    for call in calls:
        with pytest.raises(AuthRevoked, match="unknown shop"):
            call()


def test_a_shop_never_sees_another_shops_records(store, adapter):
    seed_shop(store, "neighbour.sandbox.test", customers=3, orders=5, now=NOW)
    neighbour = SandboxAdapter(Connection(shop_domain="Neighbour.Sandbox.Test"), str(store.path))
    ours = adapter.list_orders(limit=1).items[0]

    assert neighbour.count_orders() == 5 and adapter.count_orders() == 40
    for order in neighbour.list_orders().items:
        with pytest.raises(NotFound):
            adapter.get_order(order.platform_id)
    with pytest.raises(NotFound):
        neighbour.get_order(ours.platform_id)


def test_an_order_id_is_not_a_customer_id(adapter):
    order = adapter.list_orders(limit=1).items[0]

    with pytest.raises(NotFound):
        adapter.get_customer(order.platform_id)


def test_creating_the_same_code_again_returns_it_and_a_different_definition_is_refused(adapter):
    created = adapter.create_discount_code(spec())

    assert adapter.create_discount_code(spec()) == created
    with pytest.raises(DiscountCodeTakenError):
        adapter.create_discount_code(spec(code="thanks-5", value=Decimal("6.00")))


def test_a_code_for_a_customer_needs_a_customer_of_this_shop(adapter):
    customer = adapter.list_customers(limit=1).items[0]

    bound = adapter.create_discount_code(spec(customer_platform_id=customer.platform_id,
                                              ends_at=NOW + timedelta(days=30)))
    assert bound.ends_at == NOW + timedelta(days=30)
    with pytest.raises(DiscountRefused) as refused:
        adapter.create_discount_code(spec(code="OTHER-1", customer_platform_id="42"))
    assert refused.value.reason == DiscountRefused.CUSTOMER_NOT_FOUND


@pytest.mark.parametrize("changes", [{"code": "HAS SPACE"}, {"code": ""},
                                     {"kind": DiscountKind.PERCENTAGE, "value": Decimal(120)},
                                     {"value": Decimal(0)}, {"usage_limit": 0}])
def test_an_impossible_discount_is_refused(adapter, changes):
    with pytest.raises(SandboxError):
        adapter.create_discount_code(spec(**changes))


def test_caller_mistakes_in_paging_are_value_errors(adapter):
    customers_cursor = adapter.list_customers(limit=2).next_cursor
    since_cursor = adapter.list_orders(limit=2, updated_since=NOW - timedelta(days=30)).next_cursor
    mistakes = [lambda: adapter.list_orders(limit=0), lambda: adapter.list_orders(limit=251),
                lambda: adapter.list_orders(cursor="garbage!"),
                lambda: adapter.list_orders(cursor=customers_cursor),
                lambda: adapter.list_orders(updated_since=datetime(2026, 1, 1)),
                lambda: adapter.list_orders(cursor=since_cursor, updated_since=NOW)]

    for mistake in mistakes:
        with pytest.raises(ValueError):
            mistake()


def test_a_cursor_carries_its_filter(adapter):
    since = NOW - timedelta(days=60)
    expected = adapter.count_orders(updated_since=since)
    first = adapter.list_orders(limit=2, updated_since=since)

    rest = adapter.list_orders(cursor=first.next_cursor, limit=250)

    assert len(first.items) + len(rest.items) == expected and rest.is_last


def test_a_store_written_by_another_schema_version_is_refused(store):
    conn = sqlite3.connect(store.path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()

    with pytest.raises(SchemaMismatch):
        store.has_shop(SHOP)


def test_a_store_of_the_first_schema_version_is_upgraded_and_keeps_its_data(tmp_path):
    path, stamp = tmp_path / "old.db", "2026-01-01T00:00:00.000000+00:00"
    conn = sqlite3.connect(path)
    conn.executescript(f"BEGIN; {DDL} PRAGMA user_version = 1; COMMIT;")  # what version 1 created
    conn.execute(INSERT_SHOP, (SHOP, "Old shop", "PLN", 2300, 1, stamp, stamp))
    conn.execute(INSERT_CUSTOMER, (2_000_000_001, SHOP, "ada@example.com", "Ada", None, None, 0, "pl", stamp, stamp))
    conn.commit()
    conn.close()

    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(path))

    assert adapter.get_customer("2000000001").email == "ada@example.com"
    assert adapter.publish_customer_loyalty("2000000001", "Gold", 10).tier == "Gold"
    assert adapter.issue_store_credit(StoreCreditSpec(key="k", customer_platform_id="2000000001",
                                                      amount=Decimal(5), currency="PLN")).balance == Decimal(5)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
