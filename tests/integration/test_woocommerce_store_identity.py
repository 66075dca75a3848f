"""A WooCommerce store is its whole base URL: two sites on one host (a multisite in sub-folders) are two
shops, and a connection lands in a shop that is already someone's only with a proof that it comes from
the same store. Against the store simulator, with the app's real routes."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import func, select

from adapters.woocommerce import webhooks as woo_webhooks
from plugin.jobs.models import JobRun
from plugin.security import sign_wordpress_sign_in
from plugin.shops import woocommerce_identity
from plugin.shops.models import PendingConnection, Shop
from plugin.shops.service import credentials, store_credentials
from plugin.storefront.identity import TOKEN_HEADER, TokenClaims, encode_token
from plugin.sync.models import WebhookDelivery
from tests.contract.woocommerce_kit import OTHER_KEY, OTHER_SECRET, WooSimulator, build_store, order_webhook
from tests.factories import make_order
from tests.woocommerce_support import approve, token_of
from tests.woocommerce_support import connect_store as connect
from tests.woocommerce_support import start as start_connection

HOST = "multi.woo.test"
STORE_A, STORE_B = f"https://{HOST}/storeA", f"https://{HOST}/storeB"
KEY_A, KEY_B = f"{HOST}/storea", f"{HOST}/storeb"
SECRET_A, SECRET_B = "a" * 64, "b" * 64


@pytest.fixture
def simulator():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock)


@pytest.fixture
def store_a(simulator):
    store = simulator.add(build_store(STORE_A, seed=31, orders=5, customers=2))
    store.plugin_connection = {"storefront_secret": SECRET_A, "plugin_version": "0.2.0"}
    return store


@pytest.fixture
def store_b(simulator):
    """Another merchant's site on the same host: its own data and keys."""
    store = simulator.add(build_store(STORE_B, seed=32, orders=3, customers=1, first_id=700000,
                                      consumer_key=OTHER_KEY, consumer_secret=OTHER_SECRET))
    store.plugin_connection = {"storefront_secret": SECRET_B, "plugin_version": "0.2.0"}
    return store


def start(client, store_url: str) -> str:
    return token_of(start_connection(client, store_url))


def shop_of(db, key: str) -> Shop:
    with db.uow() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == key)).one()
        session.expunge(shop)
        return shop


def signed_in_to(client) -> int | None:
    with client.session_transaction() as sess:
        return sess.get("shop_id")


def delivered_to(db, headers: dict[str, str]) -> int:
    """The shop the delivery sent with ``headers`` was stored for (its inbox key starts with its delivery id)."""
    prefix = headers[woo_webhooks.DELIVERY_HEADER] + ":"
    with db.uow() as session:
        return session.scalars(select(WebhookDelivery.shop_id).where(WebhookDelivery.delivery_id.startswith(prefix))).one()


def snapshot(db) -> list[tuple]:
    with db.uow() as session:
        return [(s.id, s.domain, s.status, s.credentials_encrypted) for s in session.scalars(
            select(Shop).order_by(Shop.id))]


# -- the attack: two sites of one host, two unrelated merchants --------------------------------------

def test_two_unrelated_browsers_connecting_two_sites_of_one_host_get_two_shops(app, db, store_a, store_b):
    browser_a, browser_b = app.test_client(), app.test_client()

    answer_a, landing_a, key_a = connect(browser_a, store_a)
    answer_b, landing_b, key_b = connect(browser_b, store_b)

    assert (answer_a.json["status"], answer_b.json["status"]) == ("connected", "connected")
    assert landing_a.status_code == landing_b.status_code == 302
    a, b = shop_of(db, KEY_A), shop_of(db, KEY_B)
    assert a.id != b.id
    held_a, held_b = credentials(a), credentials(b)
    assert (held_a["store_url"], held_a["consumer_key"], held_a["storefront_secret"]) == (
        STORE_A, key_a.consumer_key, SECRET_A)
    assert (held_b["store_url"], held_b["consumer_key"], held_b["storefront_secret"]) == (
        STORE_B, key_b.consumer_key, SECRET_B)
    assert held_a["webhook_secret"] != held_b["webhook_secret"]
    assert (signed_in_to(browser_a), signed_in_to(browser_b)) == (a.id, b.id)  # B never signed in to A

    for store, held, shop, webhook_id in ((store_a, held_a, a, 201), (store_b, held_b, b, 202)):
        headers, body = order_webhook(store, held["webhook_secret"], str(next(iter(store.orders))),
                                      webhook_id=webhook_id)
        assert headers["X-WC-Webhook-Source"] == f"{store.base_url}/"
        assert browser_a.post("/webhooks/woocommerce", data=body, headers=headers).json["status"] == "accepted"
        assert delivered_to(db, headers) == shop.id
    forged_headers, forged = order_webhook(store_a, held_b["webhook_secret"], str(next(iter(store_a.orders))),
                                           webhook_id=203)
    assert browser_a.post("/webhooks/woocommerce", data=forged, headers=forged_headers).status_code == 401


def test_the_wordpress_plugins_link_and_tokens_of_a_sub_folder_site_name_its_own_shop(app, db, store_a, store_b):
    connect(app.test_client(), store_a)
    connect(app.test_client(), store_b)
    b = shop_of(db, KEY_B)
    merchant, ts = app.test_client(), str(int(time.time()))

    link = merchant.get(f"/admin/auth/woocommerce?shop={KEY_B}&ts={ts}&sig={sign_wordpress_sign_in(SECRET_B, KEY_B, ts)}")
    assert link.status_code == 302 and signed_in_to(merchant) == b.id
    claims = TokenClaims(KEY_B, None, datetime.now(UTC) + timedelta(minutes=5))
    me = app.test_client().get("/storefront/api/v1/me", headers={TOKEN_HEADER: encode_token(SECRET_B, claims),
                                                                 "Origin": f"https://{HOST}"})
    assert me.status_code == 200 and me.headers["Access-Control-Allow-Origin"] == f"https://{HOST}"
    elsewhere = app.test_client().get("/storefront/api/v1/me", headers={
        TOKEN_HEADER: encode_token(SECRET_B, claims), "Origin": f"https://{HOST}.evil.example"})
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    assert app.test_client().get(  # store A's secret does not sign for store B
        f"/admin/auth/woocommerce?shop={KEY_B}&ts={ts}&sig={sign_wordpress_sign_in(SECRET_A, KEY_B, ts)}",
        headers={"Accept": "application/json"}).status_code == 401


# -- reconnecting: with a proof it lands, without one nothing changes -------------------------------------

def test_a_reconnect_started_from_the_signed_in_admin_lands_in_its_shop(app, db, store_a):
    store_a.plugin_connection = None  # no plugin: the admin session is the proof
    merchant = app.test_client()
    _answer, _landing, first = connect(merchant, store_a)
    store_a.delete_key(first.key_id)  # the key was deleted in WooCommerce: the previous keys prove nothing
    shop_id = shop_of(db, KEY_A).id
    assert f'href="/connect/woocommerce?store_url={STORE_A}"' in merchant.get("/admin/connection").text

    answer, landing, second = connect(merchant, store_a)

    assert answer.json["status"] == "connected" and landing.status_code == 302
    shop = shop_of(db, KEY_A)
    assert shop.id == shop_id and credentials(shop)["consumer_key"] == second.consumer_key
    assert signed_in_to(merchant) == shop_id


def test_a_reconnect_from_the_wordpress_plugin_proves_itself_with_the_plugins_secret(app, db, store_a):
    _answer, _landing, first = connect(app.test_client(), store_a)
    store_a.delete_key(first.key_id)
    wordpress, merchant = app.test_client(), app.test_client()  # a browser never signed in to Storecare
    link = wordpress.post("/connect/woocommerce/start", data={"store_url": STORE_A + "/"}).json["redirect_url"]
    went = merchant.get(link.removeprefix("http://localhost:5000"))
    token = parse_qs(urlsplit(went.headers["Location"]).query)["user_id"][0]

    answer, second = approve(merchant, store_a, token)

    assert answer.json["status"] == "connected"
    assert credentials(shop_of(db, KEY_A))["consumer_key"] == second.consumer_key
    assert merchant.get(f"/connect/woocommerce/return?success=1&user_id={token}").status_code == 302


def test_a_reconnect_whose_previous_keys_still_work_is_the_same_store(app, db, store_a):
    store_a.plugin_connection = None
    connect(app.test_client(), store_a)

    answer, landing, second = connect(app.test_client(), store_a)  # another browser, not signed in

    assert answer.json["status"] == "connected" and landing.status_code == 302
    assert credentials(shop_of(db, KEY_A))["consumer_key"] == second.consumer_key


def test_a_reconnect_without_proof_is_refused_and_changes_nothing(app, db, queue, store_a):
    store_a.plugin_connection = None
    owner = app.test_client()
    _answer, _landing, first = connect(owner, store_a)
    store_a.delete_key(first.key_id)
    before, hooks, calls = snapshot(db), {k: dict(v) for k, v in store_a.webhooks.items()}, len(store_a.requests)
    with db.uow() as session:
        jobs = session.scalar(select(func.count()).select_from(JobRun))
    stranger = app.test_client()

    token = start(stranger, STORE_A)
    answer, unused = approve(stranger, store_a, token)

    assert answer.status_code == 200 and answer.json["status"] == "refused"  # WooCommerce sends the browser back
    assert snapshot(db) == before and store_a.webhooks == hooks
    assert not any("webhooks" in call for call in store_a.requests[calls:])
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == jobs
        assert session.scalars(select(PendingConnection.status).where(
            PendingConnection.shop_id.is_(None))).all() == ["failed"]
    landing = stranger.get(f"/connect/woocommerce/return?success=1&user_id={token}")
    assert landing.status_code == 400
    assert "already connected to Storecare" in landing.text and "sign in to Storecare first" in landing.text
    assert unused.truncated_key in landing.text  # no plugin to delete it: the merchant is told which key
    assert unused.key_id in store_a.key_ids()
    assert signed_in_to(stranger) is None
    assert stranger.get("/admin/", headers={"Accept": "application/json"}).status_code == 401


def test_a_refused_connections_key_is_deleted_through_the_plugin(app, db, store_a):
    connect(app.test_client(), store_a)
    store_a.plugin_connection = {"storefront_secret": "c" * 64, "plugin_version": "0.2.0"}  # not the same secret
    store_a.delete_key(1)
    store_a.delete_key(max(store_a.key_ids()))  # our key is gone: the previous keys prove nothing either
    stranger = app.test_client()

    token = start(stranger, STORE_A)
    answer, unused = approve(stranger, store_a, token)

    assert answer.json["status"] == "refused" and unused.key_id not in store_a.key_ids()
    landing = stranger.get(f"/connect/woocommerce/return?success=1&user_id={token}")
    assert "already connected to Storecare" in landing.text and "WooCommerce created an API key" not in landing.text


def test_an_uninstalled_shop_that_still_holds_data_is_not_handed_to_an_unproven_store(app, db, store_a):
    store_a.plugin_connection = None
    with db.uow() as session:
        shop = Shop(platform="woocommerce", domain=KEY_A, name="Ceramika", status="uninstalled")
        session.add(shop)
        session.flush()
        store_credentials(shop, {"webhook_secret": "kept"})
        make_order(session, shop)
        session.commit()
    before = snapshot(db)

    answer, landing, _key = connect(app.test_client(), store_a)

    assert answer.json["status"] == "refused" and snapshot(db) == before
    assert "its data is still kept" in landing.text


def test_an_uninstalled_shop_with_data_comes_back_to_its_own_store_proven_by_the_plugin(app, db, store_a):
    from plugin.shops.service import mark_uninstalled

    connect(app.test_client(), store_a)
    with db.uow() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == KEY_A)).one()
        make_order(session, shop)
        mark_uninstalled(session, shop)
        session.commit()
        shop_id = shop.id

    answer, landing, key = connect(app.test_client(), store_a)

    assert answer.json["status"] == "connected" and landing.status_code == 302
    shop = shop_of(db, KEY_A)
    assert (shop.id, shop.status, credentials(shop)["consumer_key"]) == (shop_id, "installed", key.consumer_key)


def test_an_uninstalled_empty_shop_is_taken_over_with_fresh_secrets(app, db, store_a):
    store_a.plugin_connection = None
    with db.uow() as session:
        shop = Shop(platform="woocommerce", domain=KEY_A, name="Old", status="uninstalled")
        session.add(shop)
        session.flush()
        store_credentials(shop, {"webhook_secret": "old-secret", "storefront_secret": "s" * 64})
        session.commit()
        shop_id = shop.id

    answer, _landing, key = connect(app.test_client(), store_a)

    assert answer.json["status"] == "connected"
    held = credentials(shop_of(db, KEY_A))
    assert shop_of(db, KEY_A).id == shop_id and held["consumer_key"] == key.consumer_key
    assert held["webhook_secret"] != "old-secret" and held["storefront_secret"] != "s" * 64


# -- shops connected before store keys had paths ---------------------------------------------------------

@pytest.fixture
def legacy(db, store_a):
    """Store A connected before keys had paths: its shop is keyed by the bare host."""
    with db.uow() as session:
        shop = Shop(platform="woocommerce", domain=HOST, name=HOST, currency="USD")
        session.add(shop)
        session.flush()
        store_credentials(shop, {"store_url": STORE_A, "consumer_key": store_a.consumer_key,
                                 "consumer_secret": store_a.consumer_secret, "key_id": "1",
                                 "webhook_secret": "legacy-secret", "storefront_secret": SECRET_A})
        session.commit()
        return shop.id


def test_a_store_keyed_by_its_host_before_keeps_receiving_its_webhooks_and_is_rekeyed(app, db, store_a, legacy):
    client = app.test_client()
    headers, body = order_webhook(store_a, "legacy-secret", str(next(iter(store_a.orders))), webhook_id=301)

    assert client.post("/webhooks/woocommerce", data=body, headers=headers).json["status"] == "accepted"
    assert delivered_to(db, headers) == legacy
    forged_headers, forged = order_webhook(store_a, "not-the-secret", str(next(iter(store_a.orders))),
                                           webhook_id=302)
    assert client.post("/webhooks/woocommerce", data=forged, headers=forged_headers).status_code == 401

    with db.uow() as session:
        assert woocommerce_identity.rekey_every_legacy_shop(session) == 1
        session.commit()
    assert shop_of(db, KEY_A).id == legacy
    headers, body = order_webhook(store_a, "legacy-secret", str(next(iter(store_a.orders))), webhook_id=303)
    assert client.post("/webhooks/woocommerce", data=body, headers=headers).json["status"] == "accepted"
    assert delivered_to(db, headers) == legacy


def test_an_older_plugin_signing_with_the_bare_host_still_reaches_its_own_shop(app, db, store_a, legacy):
    with db.uow() as session:
        woocommerce_identity.rekey_every_legacy_shop(session)
        session.commit()
    merchant, ts = app.test_client(), str(int(time.time()))

    response = merchant.get(f"/admin/auth/woocommerce?shop={HOST}&ts={ts}&sig={sign_wordpress_sign_in(SECRET_A, HOST, ts)}")

    assert response.status_code == 302 and signed_in_to(merchant) == legacy
    token = encode_token(SECRET_A, TokenClaims(HOST, None, datetime.now(UTC) + timedelta(minutes=5)))
    assert app.test_client().get("/storefront/api/v1/me", headers={TOKEN_HEADER: token}).status_code == 200
    forged = encode_token(SECRET_B, TokenClaims(HOST, None, datetime.now(UTC) + timedelta(minutes=5)))
    assert app.test_client().get("/storefront/api/v1/me", headers={TOKEN_HEADER: forged}).status_code == 401


def test_a_root_store_on_that_host_gets_its_own_shop_not_the_legacy_one(app, db, simulator, store_a, legacy):
    root = simulator.add(build_store(f"https://{HOST}", seed=33, orders=2, customers=1, first_id=800000))
    root.plugin_connection = None

    answer, _landing, _key = connect(app.test_client(), root)

    assert answer.json["status"] == "connected"
    assert shop_of(db, KEY_A).id == legacy and shop_of(db, HOST).id != legacy
    assert credentials(shop_of(db, KEY_A))["consumer_key"] == store_a.consumer_key


def test_the_operators_login_link_finds_a_sub_folder_store_by_its_address_or_key(app, db, store_a, store_b):
    from plugin.admin.cli import admin_cli

    connect(app.test_client(), store_a)
    connect(app.test_client(), store_b)
    b = shop_of(db, KEY_B)

    for name in (STORE_B + "/", f"{HOST}/storeB", KEY_B):
        result = app.test_cli_runner().invoke(admin_cli, ["login-link", name])
        assert result.exit_code == 0, result.output
        merchant = app.test_client()
        assert merchant.get(result.output.strip().removeprefix("http://localhost:5000")).status_code == 302
        assert signed_in_to(merchant) == b.id
    assert app.test_cli_runner().invoke(admin_cli, ["login-link", HOST]).exit_code != 0  # no shop has the bare host
