"""Installing Storecare on Shopify, on SQLite and PostgreSQL: the authorization-code grant end to end,
every way a forged, stale or replayed step is refused without changing anything, and re-installs.
Shopify (token endpoint, Admin GraphQL) is played with ``responses``."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import func, select, text, update

from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.shops import service as shops
from plugin.shops.models import OAuthState, Shop
from plugin.shops.shopify_views import STATE_COOKIE
from tests.shopify_auth_support import (
    APP_URL,
    CLIENT_ID,
    OTHER_SHOP,
    SHOP,
    FakeAdminApi,
    epoch,
    granted,
    shopify_app,
    signed_query,
    token_url,
)

INSTALL, CALLBACK = "/auth/shopify/install", "/auth/shopify/callback"
HTML = {"Accept": "text/html"}


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shopify():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        api = FakeAdminApi()
        api.install(mock, SHOP)
        api.install(mock, OTHER_SHOP)
        mock.api = api
        yield mock


def token_calls(mock, shop=SHOP) -> list:
    return [c for c in mock.calls if c.request.url == token_url(shop)]


def start(client, shop=SHOP) -> str:
    """GET the install URL as Shopify sends the merchant to it; the state nonce of the redirect."""
    response = client.get(f"{INSTALL}?{signed_query(shop=shop, host='aG9zdA')}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def finish(client, state, shop=SHOP, code="code-1", **changes):
    return client.get(f"{CALLBACK}?{signed_query(shop=shop, code=code, state=state, host='aG9zdA', **changes)}",
                      headers=HTML)


def snapshot(db) -> dict:
    """Everything an install step may change, to compare before and after a refused one."""
    with db.uow() as session:
        return {
            "shops": [tuple(row) for row in session.execute(select(Shop.__table__).order_by(Shop.id)).all()],
            "states": session.scalar(select(func.count()).select_from(OAuthState)),
            "jobs": session.scalar(select(func.count()).select_from(JobRun)),
        }


def signed_in_shop(client) -> int | None:
    with client.session_transaction() as browser:
        return browser.get("shop_id")


# -- the happy path --------------------------------------------------------------------------------

def test_install_sends_the_merchant_to_the_grant_screen_with_a_state_bound_to_the_browser(client, db, app):
    response = client.get(f"{INSTALL}?{signed_query(shop=SHOP, host='aG9zdA')}")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", SHOP, "/admin/oauth/authorize")
    query = parse_qs(location.query)
    manifest = app.config["STORECARE_MANIFEST"]["shopify"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == [",".join(manifest["scopes"])]
    assert query["redirect_uri"] == [f"{APP_URL}/auth/shopify/callback"]
    with db.uow() as session:
        state = session.scalars(select(OAuthState)).one()
    assert query["state"] == [state.nonce] and len(state.nonce) >= 40
    assert state.shop_domain == SHOP
    assert timedelta(minutes=9) < state.expires_at - utcnow() <= timedelta(minutes=10)
    cookie = client.get_cookie(STATE_COOKIE, path="/auth/shopify")
    assert cookie is not None and cookie.http_only and state.nonce not in cookie.value


def test_install_happy_path_end_to_end(client, db, queue, app, shopify):
    shopify.post(token_url(), json=granted(access="shpat_secret_access", refresh="shprt_secret_refresh"))
    state = start(client)

    response = finish(client, state)

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert json.loads(token_calls(shopify)[0].request.body) == {
        "client_id": CLIENT_ID, "client_secret": app.config["STORECARE_SETTINGS"].shopify_api_secret,
        "code": "code-1", "expiring": 1}
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        raw = session.execute(text("SELECT * FROM shops")).one()
        jobs = {run.name: run for run in session.scalars(select(JobRun).where(JobRun.shop_id == shop.id))}
        assert session.scalar(select(func.count()).select_from(OAuthState)) == 0  # the state is spent
    assert (shop.platform, shop.domain, shop.status, shop.needs_reauth) == ("shopify", SHOP, "installed", False)
    assert "read_orders" in shop.scopes and "write_discounts" in shop.scopes
    stored = shops.credentials(shop)
    assert stored["access_token"] == "shpat_secret_access" and stored["refresh_token"] == "shprt_secret_refresh"
    assert stored["expires_at"] and stored["refresh_token_expires_at"]
    assert "shpat_secret_access" not in repr(tuple(raw)) and "shprt_secret_refresh" not in repr(tuple(raw))
    assert set(jobs) == {"shopify.subscribe_webhooks", "sync.backfill"}
    assert signed_in_shop(client) == shop.id
    page = client.get("/admin/", headers=HTML)
    assert page.status_code == 200
    assert f"frame-ancestors https://{SHOP} https://admin.shopify.com" in page.headers["Content-Security-Policy"]

    assert queue.run_job(jobs["shopify.subscribe_webhooks"].id) == "succeeded"
    topics = {topic for topic, _uri in shopify.api.subscriptions[SHOP]}
    assert len(topics) == len(app.config["STORECARE_MANIFEST"]["shopify"]["webhooks"])
    assert {"ORDERS_CREATE", "APP_UNINSTALLED", "APP_SCOPES_UPDATE"} <= topics
    assert {uri for _topic, uri in shopify.api.subscriptions[SHOP]} == {f"{APP_URL}/webhooks/shopify"}
    assert set(shopify.api.tokens[SHOP]) == {"shpat_secret_access"}


def test_a_second_run_of_the_subscription_job_creates_nothing(client, db, queue, shopify):
    shopify.post(token_url(), json=granted())
    finish(client, start(client))
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
    from plugin.shops.shopify import subscribe_webhooks

    first = subscribe_webhooks(db, shop.id)
    assert first and subscribe_webhooks(db, shop.id) == []


# -- refused install requests and callbacks: nothing changes --------------------------------------

@pytest.mark.parametrize("query, status", [
    (lambda: signed_query(shop=SHOP, secret="shpss_" + "0" * 32), 401),  # forged hmac
    (lambda: signed_query(shop=SHOP).replace("hmac=", "hmac=0"), 401),
    (lambda: f"shop={SHOP}&timestamp={epoch()}", 401),  # unsigned
    (lambda: signed_query(shop="evil.com"), 400),
    (lambda: signed_query(shop="a.myshopify.com.evil.com"), 400),
    (lambda: signed_query(shop=SHOP, timestamp=str(epoch() - 3600)), 401),  # stale
    (lambda: signed_query(shop=SHOP, timestamp=str(epoch() - 2 * 86400)), 401),
])
def test_forged_bad_or_stale_install_requests_are_refused(client, db, query, status):
    before = snapshot(db)
    response = client.get(f"{INSTALL}?{query()}")
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert client.get_cookie(STATE_COOKIE, path="/auth/shopify") is None
    assert snapshot(db) == before


def test_a_browser_gets_a_page_not_json_when_refused(client):
    response = client.get(f"{INSTALL}?{signed_query(shop='evil.com')}", headers=HTML)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Shopify" in response.get_data(as_text=True)


@pytest.mark.parametrize("tamper", [
    lambda state: {"secret": "shpss_" + "0" * 32},  # forged hmac
    lambda state: {"shop": "evil.com"},
    lambda state: {"shop": "a.myshopify.com.evil.com"},
    lambda state: {"timestamp": str(epoch() - 3600)},  # stale
    lambda state: {"state": "an-unknown-state"},
    lambda state: {"state": ""},
    lambda state: {"code": ""},
])
def test_refused_callbacks_change_nothing_and_never_reach_shopify(client, db, shopify, tamper):
    shopify.post(token_url(), json=granted())
    state = start(client)
    before = snapshot(db)
    changes = tamper(state)
    secret = changes.pop("secret", None)
    values = {"shop": SHOP, "code": "code-1", "state": state, **changes}
    query = signed_query(**values, **({"secret": secret} if secret else {}))
    response = client.get(f"{CALLBACK}?{query}", headers=HTML)
    assert response.status_code in (400, 401)
    assert snapshot(db) == before
    assert token_calls(shopify) == []
    assert signed_in_shop(client) is None


def test_a_replayed_callback_is_refused(client, db, shopify):
    shopify.post(token_url(), json=granted())
    state = start(client)
    query = signed_query(shop=SHOP, code="code-1", state=state)
    assert client.get(f"{CALLBACK}?{query}").status_code == 302
    with client.session_transaction() as browser:
        browser.clear()
    before = snapshot(db)

    replay = client.get(f"{CALLBACK}?{query}", headers=HTML)

    assert replay.status_code == 401
    assert snapshot(db) == before and len(token_calls(shopify)) == 1
    assert signed_in_shop(client) is None


def test_a_state_started_in_another_browser_is_refused(app, client, db, shopify):
    shopify.post(token_url(), json=granted())
    state = start(app.test_client())  # someone else's install: their state, their cookie
    before = snapshot(db)
    response = finish(client, state)
    assert response.status_code == 401
    assert snapshot(db) == before and token_calls(shopify) == []


def test_a_state_issued_for_another_shop_is_refused(client, db, shopify):
    shopify.post(token_url(OTHER_SHOP), json=granted())
    state = start(client, shop=SHOP)
    before = snapshot(db)
    response = finish(client, state, shop=OTHER_SHOP)
    assert response.status_code == 401
    assert snapshot(db) == before and token_calls(shopify, OTHER_SHOP) == []


def test_an_expired_state_is_refused(client, db, shopify):
    shopify.post(token_url(), json=granted())
    state = start(client)
    with db.uow() as session:
        session.execute(update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    before = snapshot(db)
    assert finish(client, state).status_code == 401
    assert snapshot(db) == before and token_calls(shopify) == []


def test_a_code_shopify_refuses_installs_nothing(client, db, shopify):
    shopify.post(token_url(), status=400, json={"error": "invalid_request", "error_description": "code used"})
    state = start(client)
    response = finish(client, state)
    assert response.status_code == 401
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 0
    assert signed_in_shop(client) is None


def test_a_token_endpoint_that_does_not_answer_installs_nothing(client, db, shopify):
    import requests

    shopify.post(token_url(), body=requests.ReadTimeout("no answer"))
    response = finish(client, start(client))
    assert response.status_code == 503
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 0


# -- re-install ------------------------------------------------------------------------------------

def test_reinstall_reactivates_the_shop_with_new_tokens_and_syncs_again(client, db, shopify):
    shopify.post(token_url(), json=granted(access="shpat_first"))
    finish(client, start(client))
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        session.execute(update(JobRun).values(status="succeeded"))
        shops.mark_uninstalled(session, shop)
        session.commit()
        assert shops.credentials(shop).get("access_token") is None
    shopify.replace(responses.POST, token_url(), json=granted(access="shpat_second"))

    assert finish(client, start(client), code="code-2").status_code == 302

    with db.uow() as session:
        again = session.scalars(select(Shop)).one()
        names = sorted(session.scalars(select(JobRun.name).where(JobRun.status == "queued")))
    assert again.id == shop.id and again.status == "installed" and again.uninstalled_at is None
    assert shops.credentials(again)["access_token"] == "shpat_second"
    assert names == ["shopify.subscribe_webhooks", "sync.backfill"]


def test_installing_an_installed_shop_again_only_refreshes_its_token(client, db, shopify):
    shopify.post(token_url(), json=granted(access="shpat_first"))
    finish(client, start(client))
    with db.uow() as session:
        jobs = session.scalar(select(func.count()).select_from(JobRun))
    shopify.replace(responses.POST, token_url(), json=granted(access="shpat_second"))
    finish(client, start(client), code="code-2")
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        assert session.scalar(select(func.count()).select_from(JobRun)) == jobs
    assert shops.credentials(shop)["access_token"] == "shpat_second"
