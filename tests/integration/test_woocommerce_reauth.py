"""A WooCommerce key deleted in the store: the job that meets the refusal marks the shop, later jobs stop
without calling the store, every admin page asks the merchant to reconnect, and a reconnect clears it.
Against the store simulator (WooCommerce answers a deleted key with 401)."""
from __future__ import annotations

from decimal import Decimal

import pytest
import responses
from sqlalchemy import select

from adapters.base import DiscountKind, DiscountSpec
from adapters.errors import AuthRevoked
from plugin.jobs.models import JobRun
from plugin.shops import service as shops
from plugin.shops.models import Shop
from plugin.sync.backfill import request_backfill
from plugin.sync.reconcile import request_reconcile, request_reconcile_everywhere
from tests.contract.woocommerce_kit import WooSimulator, build_store
from tests.woocommerce_support import connect_store

STORE = "https://ceramika.woo.test/sklep"
KEY = "ceramika.woo.test/sklep"
HTML = {"Accept": "text/html"}


@pytest.fixture
def store():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock).add(build_store(STORE, seed=41, orders=8, customers=3))


def connect(client, store):
    """Our form, the store's approval (a new key), the return: the merchant is signed in."""
    answer, landing, key = connect_store(client, store)
    assert answer.json["status"] == "connected", answer.text
    assert landing.status_code == 302
    return key


@pytest.fixture
def connected(client, db, queue, store):
    key = connect(client, store)
    queue.drain()  # the first backfill
    with db.uow() as session:
        return session.scalars(select(Shop.id).where(Shop.domain == KEY)).one(), key


def shop(db, shop_id: int) -> Shop:
    with db.uow() as session:
        found = session.get(Shop, shop_id)
        session.expunge(found)
        return found


def last_run(db, name: str) -> JobRun:
    with db.uow() as session:
        run = session.scalars(select(JobRun).where(JobRun.name == name).order_by(JobRun.id.desc())).first()
        session.expunge(run)
        return run


def test_a_deleted_key_fails_the_reconcile_marks_the_shop_and_the_admin_asks_to_reconnect(
        client, db, queue, store, connected):
    shop_id, key = connected
    assert 'data-banner="reauth"' not in client.get("/admin/", headers=HTML).text
    store.delete_key(key.key_id)  # the merchant deletes Storecare's key in WooCommerce

    with db.uow() as session:
        request_reconcile(session, shop_id)
        session.commit()
    queue.drain()

    run = last_run(db, "sync.reconcile")
    assert run.status == "failed" and "refused our API keys" in run.last_error
    assert shop(db, shop_id).needs_reauth is True
    for page in ("/admin/", "/admin/orders", "/admin/connection"):
        html = client.get(page, headers=HTML).text
        assert 'data-banner="reauth"' in html and "no longer accepts Storecare's API keys" in html
        assert 'href="/connect/woocommerce?store_url=https://ceramika.woo.test/sklep" data-action="reauth"' in html
    polish = client.get("/admin/?lang=pl", headers=HTML).text
    assert "nie akceptuje już kluczy API Storecare" in polish and ">Połącz ponownie</a>" in polish

    calls = len(store.requests)
    with db.uow() as session:
        request_backfill(session, shop_id)
        session.commit()
    queue.drain()
    assert last_run(db, "sync.backfill").status == "failed" and len(store.requests) == calls  # no dead-key calls
    assert request_reconcile_everywhere(db) == 0  # nothing queued for a shop that can only fail

    connect(client, store)  # Reconnect, from the signed-in admin

    assert shop(db, shop_id).needs_reauth is False
    assert 'data-banner="reauth"' not in client.get("/admin/", headers=HTML).text
    assert last_run(db, "sync.backfill").status == "queued"  # syncing resumes


def test_a_route_refused_while_the_keys_still_work_does_not_mark_the_shop(db, store, connected):
    shop_id, key = connected
    store.forbidden.add("wc/v3/coupons")  # a security plugin answers 403 on this route alone
    spec = DiscountSpec(code="THANKS10", kind=DiscountKind.PERCENTAGE, value=Decimal(10), title="Thanks")

    with db.uow() as session:
        adapter = shops.adapter_for(session.get(Shop, shop_id))
    with pytest.raises(AuthRevoked):
        adapter.create_discount_code(spec)
    assert shop(db, shop_id).needs_reauth is False

    store.delete_key(key.key_id)
    with pytest.raises(AuthRevoked):
        adapter.create_discount_code(spec)
    assert shop(db, shop_id).needs_reauth is True


def test_a_key_deleted_while_pages_are_read_marks_the_shop(db, store, connected):
    shop_id, key = connected
    with db.uow() as session:
        pages = shops.adapter_for(session.get(Shop, shop_id)).iter_orders(per_page=2, pages_in_flight=1)
    next(pages)
    store.delete_key(key.key_id)

    with pytest.raises(AuthRevoked):
        list(pages)
    assert shop(db, shop_id).needs_reauth is True


def test_a_shopify_shop_is_asked_to_open_the_app_from_its_shopify_admin(client, db):
    from plugin.admin.auth import login_url
    from tests.factories import make_shop

    with db.uow() as session:
        shopify_shop = make_shop(session, domain="anna.myshopify.com", platform="shopify", needs_reauth=True)
        session.commit()
        shop_id = shopify_shop.id
    client.get(login_url(shop_id))

    html = client.get("/admin/orders", headers=HTML).text

    assert 'data-banner="reauth"' in html and "Open Storecare from your Shopify admin" in html
    assert "API keys" not in html
