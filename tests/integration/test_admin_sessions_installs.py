"""Every way a Shopify or WooCommerce shop is (re)installed ends the admin sessions of that shop, and
signs in the browser that did it; the embedded admin keeps no session (each request brings an ID token).
Shopify is played with ``responses``, WooCommerce with the store simulator."""
from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from plugin.admin.auth import login_url
from plugin.admin.models import AdminSession
from plugin.shops.models import Shop
from tests.contract.woocommerce_kit import WooSimulator, build_store
from tests.integration.test_shopify_install import finish, start
from tests.integration.test_woocommerce_connect import handover, token_of
from tests.integration.test_woocommerce_connect import start as start_woocommerce
from tests.shopify_auth_support import SHOP, FakeAdminApi, granted, session_token, shopify_app, token_url

HTML = {"Accept": "text/html"}
STORE = "https://shop.woo.test"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shopify():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeAdminApi().install(mock, SHOP)
        yield mock


def shop_id(db, domain: str) -> int:
    with db.uow() as session:
        return session.scalars(select(Shop.id).where(Shop.domain == domain)).one()


def live_sessions(db, shop: int) -> int:
    with db.uow() as session:
        return len(session.scalars(select(AdminSession).where(AdminSession.shop_id == shop)).all())


def admin_page(client) -> int:
    return client.get("/admin/", headers=HTML).status_code


def open_embedded(client, **claims):
    return client.get(f"/admin/shopify?shop={SHOP}&host=aG9zdA&id_token={session_token(**claims)}", headers=HTML)


def test_a_shopify_install_through_the_grant_ends_the_sessions_from_before(app, client, db, shopify):
    shopify.post(token_url(), json=granted(access="shpat_first"))
    finish(client, start(client))
    earlier = app.test_client()
    assert earlier.get(login_url(shop_id(db, SHOP))).status_code == 302
    shopify.replace(responses.POST, token_url(), json=granted(access="shpat_again"))
    installer = app.test_client()

    assert finish(installer, start(installer), code="code-2").status_code == 302

    assert admin_page(earlier) == 401 and admin_page(client) == 401
    assert admin_page(installer) == 200 and live_sessions(db, shop_id(db, SHOP)) == 1


def test_the_embedded_admin_keeps_no_cookie_session_and_a_new_token_exchange_ends_the_others(
        app, client, db, shopify):
    shopify.post(token_url(), json=granted(access="shpat_first"))
    assert open_embedded(client).status_code == 302
    with client.session_transaction() as browser:
        assert "admin_session" not in browser  # inside Shopify every request brings its own ID token
    colleague = app.test_client()
    assert colleague.get(login_url(shop_id(db, SHOP))).status_code == 302
    with db.uow() as session:  # Shopify refused our token: the next load exchanges a new one
        session.scalars(select(Shop)).one().needs_reauth = True
        session.commit()
    shopify.replace(responses.POST, token_url(), json=granted(access="shpat_again"))

    assert open_embedded(client, jti="after-reauth").status_code == 302

    assert admin_page(colleague) == 401 and admin_page(client) == 401  # no cookie signs anyone in
    embedded = client.get("/admin/", headers={**HTML, "Authorization": f"Bearer {session_token(jti='next')}"})
    assert embedded.status_code == 200
    assert live_sessions(db, shop_id(db, SHOP)) == 0


@pytest.fixture
def woo_store():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator = WooSimulator(mock)
        store = simulator.add(build_store(STORE, seed=21, orders=3, customers=2))
        store.plugin_connection = {"storefront_secret": "f" * 64, "plugin_version": "0.1.0"}
        yield store


def connect_woocommerce(client) -> None:
    token = token_of(start_woocommerce(client))
    assert client.post("/connect/woocommerce/callback", json=handover(token)).status_code == 200
    assert client.get(f"/connect/woocommerce/return?success=1&user_id={token}").status_code == 302


def test_reconnecting_a_woocommerce_store_ends_the_sessions_from_before(app, client, db, woo_store):
    connect_woocommerce(client)
    assert admin_page(client) == 200
    merchant = app.test_client()

    connect_woocommerce(merchant)

    assert admin_page(client) == 401
    assert admin_page(merchant) == 200 and live_sessions(db, shop_id(db, "shop.woo.test")) == 1
