"""The backfill of a WooCommerce store (the contract suite's ``responses`` simulator), on SQLite and
PostgreSQL: pages of 100 with several in flight, guests matched by billing email, refunds from the
order's array, and a run that breaks mid-way resumes from its last committed page."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from plugin.sync import backfill
from plugin.sync.models import Customer, Order, Refund, SyncState
from tests.contract.woocommerce_kit import build_store, install_shop, make_order, woo_simulator  # noqa: F401 (fixture)

BASE_URL = "https://ceramika.example"
ORDERS = 250  # three pages of 100



@pytest.fixture
def woo(woo_simulator, db):
    store = woo_simulator.add(build_store(BASE_URL, seed=8, orders=ORDERS, customers=30))
    return store, install_shop(db, store)


def order_list_requests(store) -> int:
    return sum(1 for r in store.requests if r.endswith("/wc/v3/orders"))


def count(db, model, shop_id) -> int:
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(model).where(model.shop_id == shop_id))


def orders_state(db, shop_id) -> SyncState:
    with db.uow() as s:
        return s.scalars(select(SyncState).where(SyncState.shop_id == shop_id,
                                                 SyncState.resource == "orders")).one()


def test_the_backfill_job_mirrors_every_order_in_pages_of_a_hundred(db, queue, woo):
    store, shop_id = woo
    guest_email = store.customers[105]["email"]  # a guest checkout by a registered shopper
    store.add_order(make_order(9001, customer=None, email=guest_email))
    with db.uow() as s:
        backfill.request_backfill(s, shop_id)
        s.commit()
    queue.drain()

    assert count(db, Order, shop_id) == ORDERS + 1
    assert count(db, Customer, shop_id) == 30
    assert order_list_requests(store) == 3  # 251 orders: pages of 100, never the client's default 10
    state = orders_state(db, shop_id)
    assert (state.status, state.processed, state.cursor) == ("done", ORDERS + 1, None)
    with db.uow() as s:
        expected = sum(Decimal(r["amount"]) for rows in store.refunds.values() for r in rows)
        assert s.scalar(select(func.sum(Refund.amount)).where(Refund.shop_id == shop_id)) == expected
        guest = s.scalars(select(Order).where(Order.shop_id == shop_id, Order.platform_id == "9001")).one()
        owner = s.scalars(select(Customer).where(Customer.shop_id == shop_id, Customer.platform_id == "105")).one()
        assert guest.customer_id == owner.id


def test_a_backfill_broken_mid_way_resumes_after_its_last_committed_page(db, woo):
    store, shop_id = woo
    seen = []

    def break_on_the_second_page_request(request: str) -> None:
        if request.endswith("/wc/v3/orders"):
            seen.append(request)
            if len(seen) == 2:
                raise RuntimeError("the worker died")

    store.before_serve = break_on_the_second_page_request
    with pytest.raises(RuntimeError):
        backfill.run_backfill(db, shop_id)
    broken = orders_state(db, shop_id)
    assert broken.status == "running" and 100 <= broken.processed < ORDERS and broken.cursor
    assert "the worker died" in broken.last_error

    store.before_serve, before = None, order_list_requests(store)
    backfill.run_backfill(db, shop_id)

    assert order_list_requests(store) - before <= 2  # page 1 is never asked for again
    assert count(db, Order, shop_id) == ORDERS
    assert (orders_state(db, shop_id).status, orders_state(db, shop_id).processed) == ("done", ORDERS)


def test_the_backfill_imports_only_customers_not_the_stores_staff(db, queue, woo):
    store, shop_id = woo
    staff = {str(user_id) for user_id in store.users}  # the administrator and a shop manager
    assert {u["role"] for u in store.users.values()} == {"administrator", "shop_manager"}
    with db.uow() as s:
        backfill.request_backfill(s, shop_id)
        s.commit()
    queue.drain()

    with db.uow() as s:
        held = set(s.scalars(select(Customer.platform_id).where(Customer.shop_id == shop_id)))
    assert held == {str(customer_id) for customer_id in store.customers} and not held & staff
