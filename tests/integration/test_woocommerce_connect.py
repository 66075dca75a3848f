"""Connecting a WooCommerce store end to end, against the store simulator: the form, the WordPress
plugin's start, the key handover, the return; and every forged, replayed or expired step refused
without changing anything."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import func, select, update

from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.shops.models import PendingConnection, Shop
from plugin.shops.service import credentials
from plugin.sync.models import Order
from tests.contract.woocommerce_kit import KEY, SECRET, WooSimulator, build_store

STORE = "https://shop.woo.test"
PLUGIN_SECRET = "f" * 64


@pytest.fixture
def simulator():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock)


@pytest.fixture
def store(simulator: WooSimulator):
    store = simulator.add(build_store(STORE, seed=21, orders=30, customers=6))
    store.plugin_connection = {"storefront_secret": PLUGIN_SECRET, "plugin_version": "0.1.0"}
    return store


def csrf(client) -> str:
    with client.session_transaction() as sess:
        sess["csrf"] = "test-csrf"
    return "test-csrf"


def start(client, store_url: str = STORE):
    return client.post("/connect/woocommerce", data={"store_url": store_url, "csrf_token": csrf(client)})


def token_of(response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["user_id"][0]


def handover(token: str, **changes) -> dict:
    return {"key_id": 7, "user_id": token, "consumer_key": KEY, "consumer_secret": SECRET,
            "key_permissions": "read_write", **changes}


def count(db, model) -> int:
    with db.uow() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_form_sends_the_merchant_to_the_stores_approval_screen(client, db, store):
    response = start(client, "shop.woo.test/")

    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{STORE}/wc-auth/v1/authorize"
    query = parse_qs(target.query)
    assert query["scope"] == ["read_write"] and query["app_name"] == ["Storecare"]
    assert query["callback_url"] == ["http://localhost:5000/connect/woocommerce/callback"]
    assert query["return_url"] == ["http://localhost:5000/connect/woocommerce/return"]
    with db.uow() as session:
        row = session.scalars(select(PendingConnection)).one()
        assert row.token_hash != query["user_id"][0] and len(row.token_hash) == 64  # only a digest is kept
        assert (row.domain, row.status) == ("shop.woo.test", "pending")
        assert row.expires_at - row.created_at == timedelta(minutes=15)


def test_the_form_explains_an_unusable_address(client, db):
    page = client.get("/connect/woocommerce?store_url=shop.example.com")
    assert page.status_code == 200 and 'value="shop.example.com"' in page.text

    response = start(client, "ftp://shop.example.com")

    assert response.status_code == 400 and "must start with https://" in response.text
    assert count(db, PendingConnection) == 0
    assert client.post("/connect/woocommerce", data={"store_url": STORE}).status_code == 400  # no CSRF token


def test_a_connection_stores_verified_keys_subscribes_webhooks_backfills_and_signs_the_merchant_in(
        client, db, queue, store):
    token = token_of(start(client))

    answer = client.post("/connect/woocommerce/callback", json=handover(token))

    assert answer.status_code == 200, answer.text
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        creds = credentials(shop)
        assert (shop.platform, shop.domain, shop.status, shop.currency) == ("woocommerce", "shop.woo.test",
                                                                            "installed", "USD")
        assert KEY not in shop.credentials_encrypted and SECRET not in shop.credentials_encrypted
        assert (creds["consumer_key"], creds["consumer_secret"], creds["store_url"]) == (KEY, SECRET, STORE)
        assert creds["storefront_secret"] == PLUGIN_SECRET  # read from the plugin with the verified keys
        assert session.scalars(select(JobRun.name).where(JobRun.shop_id == shop.id)).all() == ["sync.backfill"]
    assert store.requests[0] == "GET /wp-json/wc/v3/system_status"  # verified before anything was stored
    assert sorted(h["topic"] for h in store.webhooks.values()) == sorted(
        ["order.created", "order.updated", "order.deleted", "order.restored", "customer.created",
         "customer.updated", "customer.deleted"])
    assert {(h["delivery_url"], h["secret"], h["status"]) for h in store.webhooks.values()} == {
        ("http://localhost:5000/webhooks/woocommerce", creds["webhook_secret"], "active")}

    landing = client.get(f"/connect/woocommerce/return?success=1&user_id={token}")

    assert landing.status_code == 302 and landing.headers["Location"].endswith("/admin/")
    assert client.get("/admin/", headers={"Accept": "application/json"}).status_code == 200
    queue.drain()
    assert count(db, Order) == 30


def test_the_wordpress_plugin_starts_server_to_server_and_its_link_binds_one_browser(app, db, store):
    wordpress, merchant, stranger = app.test_client(), app.test_client(), app.test_client()

    started = wordpress.post("/connect/woocommerce/start", data={"store_url": STORE + "/"})

    assert started.status_code == 200, started.text
    link = started.json["redirect_url"]
    assert link.startswith("http://localhost:5000/connect/woocommerce/go?user_id=")
    went = merchant.get(link.removeprefix("http://localhost:5000"))
    assert went.status_code == 302 and went.headers["Location"].startswith(f"{STORE}/wc-auth/v1/authorize?")
    assert stranger.get(link.removeprefix("http://localhost:5000")).status_code == 400
    token = token_of(went)
    assert merchant.post("/connect/woocommerce/callback", json=handover(token)).status_code == 200
    assert stranger.get(f"/connect/woocommerce/return?success=1&user_id={token}").status_code == 400
    assert merchant.get(f"/connect/woocommerce/return?success=1&user_id={token}").status_code == 302


def test_the_wordpress_start_names_a_bad_address_field(client, db):
    response = client.post("/connect/woocommerce/start", json={"store_url": "https://admin:pw@shop.example.com"})

    assert response.status_code == 400 and response.json["errors"]["store_url"]
    assert count(db, PendingConnection) == 0


@pytest.mark.parametrize(("make", "status"), [
    (lambda token: handover("forged-" + token), 401),
    (lambda token: handover(token, key_permissions="read"), 400),
    (lambda token: handover(token, consumer_key="not-a-key"), 400),
    (lambda token: {"hello": "world"}, 400),
])
def test_forged_handovers_are_refused_and_change_nothing(client, db, store, make, status):
    token = token_of(start(client))

    response = client.post("/connect/woocommerce/callback", json=make(token))

    assert response.status_code == status
    assert count(db, Shop) == 0 and store.webhooks == {}
    with db.uow() as session:
        assert session.scalars(select(PendingConnection.status)).one() == "pending"


def test_keys_that_do_not_work_are_not_stored_and_the_merchant_is_told_why(client, db, store):
    token = token_of(start(client))

    response = client.post("/connect/woocommerce/callback", json=handover(token, consumer_secret="cs_" + "9" * 40))

    # 200: WooCommerce then sends the browser back to us instead of its own generic error page
    assert response.status_code == 200 and response.json["status"] == "not_connected" and count(db, Shop) == 0
    assert store.requests == ["GET /wp-json/wc/v3/system_status"]
    landing = client.get(f"/connect/woocommerce/return?success=1&user_id={token}")
    assert landing.status_code == 400 and "did not accept the keys" in landing.text
    assert f"ending in {KEY[-7:]}" in landing.text  # the unused key WooCommerce kept, to delete
    assert client.post("/connect/woocommerce/callback", json=handover(token)).status_code == 400  # closed


def test_a_store_reporting_another_address_is_refused(client, db, store):
    store.home_url = "https://www.shop.woo.test"
    token = token_of(start(client))

    response = client.post("/connect/woocommerce/callback", json=handover(token))

    assert response.status_code == 400 and "https://www.shop.woo.test" in response.json["detail"]
    assert count(db, Shop) == 0


def test_a_replayed_or_expired_handover_is_refused(client, db, store):
    token = token_of(start(client))
    assert client.post("/connect/woocommerce/callback", json=handover(token)).status_code == 200
    with db.uow() as session:
        before = session.scalars(select(Shop)).one().credentials_encrypted

    replay = client.post("/connect/woocommerce/callback", json=handover(token, consumer_key="ck_" + "e" * 40))

    assert replay.status_code == 400
    with db.uow() as session:
        assert session.scalars(select(Shop)).one().credentials_encrypted == before

    late = token_of(start(client))
    with db.uow() as session:
        session.execute(update(PendingConnection).where(PendingConnection.status == "pending")
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert client.post("/connect/woocommerce/callback", json=handover(late)).status_code == 400


def test_the_return_signs_in_once_and_only_after_the_keys_arrived(client, db, store):
    token = token_of(start(client))
    early = client.get(f"/connect/woocommerce/return?success=1&user_id={token}")
    assert early.status_code == 400 and "has not sent us its keys" in early.text

    client.post("/connect/woocommerce/callback", json=handover(token))
    declined = client.get(f"/connect/woocommerce/return?success=0&user_id={token}")
    assert declined.status_code == 400
    assert client.get(f"/connect/woocommerce/return?success=1&user_id={token}").status_code == 302

    stranger = client.application.test_client().get(f"/connect/woocommerce/return?success=1&user_id={token}")
    assert stranger.status_code == 400 and "already used to sign in" in stranger.text


def test_reconnecting_an_uninstalled_shop_reactivates_it_with_the_same_webhook_secret(client, db, store):
    client.post("/connect/woocommerce/callback", json=handover(token_of(start(client))))
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        secret = credentials(shop)["webhook_secret"]
        shop.status = "uninstalled"
        session.commit()

    assert client.post("/connect/woocommerce/callback", json=handover(token_of(start(client)))).status_code == 200

    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        assert shop.status == "installed" and credentials(shop)["webhook_secret"] == secret
    assert len(store.webhooks) == 7  # the existing ones were given the secret again, none duplicated


def test_webhooks_from_the_connected_store_are_accepted_and_its_ping_answered(client, db, store):
    from tests.contract.woocommerce_kit import order_webhook

    client.post("/connect/woocommerce/callback", json=handover(token_of(start(client))))
    with db.uow() as session:
        secret = credentials(session.scalars(select(Shop)).one())["webhook_secret"]
    headers, body = order_webhook(store, secret, str(next(iter(store.orders))))

    assert client.post("/webhooks/woocommerce", data=body, headers=headers).json["status"] == "accepted"
    forged_headers, forged = order_webhook(store, "not-our-secret", str(next(iter(store.orders))))
    assert client.post("/webhooks/woocommerce", data=forged, headers=forged_headers).status_code == 401
    ping = client.post("/webhooks/woocommerce", data="webhook_id=12",
                       headers={"User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
                                "Content-Type": "application/x-www-form-urlencoded"})
    assert ping.status_code == 200 and ping.json["status"] == "ping"


def test_of_two_handovers_racing_on_one_token_exactly_one_connects(app, db, store):
    client, rival = app.test_client(), app.test_client()
    token = token_of(start(client))
    answers, raced = [], []

    def second_handover_arrives_meanwhile(call: str) -> None:
        if call.endswith("/system_status") and not raced:  # the first one is verifying its keys
            raced.append(True)
            answers.append(rival.post("/connect/woocommerce/callback", json=handover(token)).status_code)

    store.before_serve = second_handover_arrives_meanwhile
    answers.append(client.post("/connect/woocommerce/callback", json=handover(token)).status_code)

    assert answers == [200, 400]
    assert count(db, Shop) == 1 and len(store.webhooks) == 7


def test_a_refused_approval_closes_the_connection_so_a_late_handover_is_refused(client, db, store):
    token = token_of(start(client))
    declined = client.get(f"/connect/woocommerce/return?success=0&user_id={token}")
    assert declined.status_code == 400 and "did not approve" in declined.text

    assert client.post("/connect/woocommerce/callback", json=handover(token)).status_code == 400
    with db.uow() as session:
        assert session.scalars(select(Shop)).all() == []
        assert session.scalars(select(PendingConnection.status)).all() == ["failed"]


def test_a_polish_merchant_reads_the_address_error_and_the_refusal_in_polish(client, db, store):
    response = client.post("/connect/woocommerce?lang=pl",
                           data={"store_url": "ftp://ceramika.example", "csrf_token": csrf(client)})
    assert response.status_code == 400 and "Adres musi zaczynać się od https://" in response.text

    token = token_of(start(client))
    declined = client.get(f"/connect/woocommerce/return?success=0&user_id={token}",
                          headers={"Accept-Language": "pl"})
    assert "Sklep nie zatwierdził połączenia" in declined.text


def test_the_return_page_opened_again_by_the_browser_it_signed_in_goes_to_the_admin(client, db, store):
    token = token_of(start(client))
    client.post("/connect/woocommerce/callback", json=handover(token))
    assert client.get(f"/connect/woocommerce/return?success=1&user_id={token}").status_code == 302

    again = client.get(f"/connect/woocommerce/return?success=1&user_id={token}")  # reload, or back

    assert again.status_code == 302 and again.headers["Location"].endswith("/admin/")
    assert client.get("/admin/", headers={"Accept": "application/json"}).status_code == 200
