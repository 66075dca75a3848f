"""Connecting a WooCommerce store in a real browser, the way a merchant does it.

The merchant types the store's address into our form and is sent to the store's /wc-auth/v1/authorize
screen. WordPress is faked in the browser with page.route; its Approve link does what WooCommerce
does: it POSTs the new keys server to server to our callback_url (from Python, to the live server),
then sends the browser to our return_url. The store's REST API, which our app calls to verify the
keys, subscribe webhooks and backfill, is the simulator in tests/contract/woocommerce_kit.py.
"""
from __future__ import annotations

import json
from dataclasses import replace
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
import responses
from playwright.sync_api import expect
from sqlalchemy import func, select

from plugin.shops.models import PendingConnection, Shop
from plugin.shops.service import credentials
from plugin.sync.models import Order
from tests.contract.woocommerce_kit import KEY, SECRET, WooSimulator, build_store

pytestmark = pytest.mark.browser
STORE = "https://ceramika.example"
DOMAIN = "ceramika.example"
ORDERS = 12


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def app_url(app, live_server):
    """Our public address is the live server's: WooCommerce calls back to it and returns the browser there."""
    app.config["STORECARE_SETTINGS"] = replace(app.config["STORECARE_SETTINGS"], app_url=live_server)
    return live_server


@pytest.fixture
def store(app_url):
    """The store's REST API (our app's outbound calls); our own live server is reached for real."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(app_url)
        yield WooSimulator(mock).add(build_store(STORE, seed=5, orders=ORDERS, customers=4))


class FakeWordPress:
    """The store's /wc-auth/v1 screens. Approve (WC_Auth's access_granted) posts the keys to
    ``callback_url`` and, on a 200, redirects to ``return_url`` with success=1; otherwise it shows an
    error, as WooCommerce does. Deny is a plain link to ``return_url`` with success=0."""

    def __init__(self, page):
        self.authorize_queries: list[dict] = []
        self.callback_answers: list[int] = []
        self.returns: list[str] = []  # where Approve sent the browser back to
        page.route(f"{STORE}/**", self._serve)

    def _serve(self, route, request):
        url = urlsplit(request.url)
        query = dict(parse_qsl(url.query))
        if url.path == "/wc-auth/v1/authorize":
            self.authorize_queries.append(query)
            return route.fulfill(status=200, content_type="text/html", body=self._authorize_page(query))
        if url.path == "/wc-auth/v1/access_granted":
            return self._grant(route, query)
        return route.fulfill(status=404, content_type="text/plain", body="Not Found")

    @staticmethod
    def _authorize_page(query: dict) -> str:
        approve = f"{STORE}/wc-auth/v1/access_granted?{urlencode(query)}"
        deny = f"{query['return_url']}?{urlencode({'success': 0, 'user_id': query['user_id']})}"
        return f"""<!doctype html><html lang="en"><head><title>Ceramika &rsaquo; Authorize</title></head>
            <body><h1>{escape(query['app_name'])} would like to connect to your store</h1>
            <p>This will give "{escape(query['app_name'])}" Read/Write access.</p>
            <a class="button button-primary wc-auth-approve" href="{escape(approve)}">Approve</a>
            <a class="button wc-auth-deny" href="{escape(deny)}">Deny</a></body></html>"""

    def _grant(self, route, query: dict):
        keys = {"key_id": 1, "user_id": query["user_id"], "consumer_key": KEY, "consumer_secret": SECRET,
                "key_permissions": query["scope"]}
        answer = requests.post(query["callback_url"], data=json.dumps(keys), timeout=30,
                               headers={"Content-Type": "application/json;charset=UTF-8"})
        self.callback_answers.append(answer.status_code)
        if answer.status_code != 200:
            return route.fulfill(status=401, content_type="text/html", body=(
                "<h1>Error</h1><p>An error occurred in the request and at the time were unable to send "
                "the consumer data.</p>"))
        back = f"{query['return_url']}?{urlencode({'success': 1, 'user_id': query['user_id']})}"
        self.returns.append(back)
        return route.fulfill(status=302, headers={"Location": back})


@pytest.fixture
def wordpress(page, store):
    return FakeWordPress(page)


def ask_to_connect(page, app_url):
    page.goto(f"{app_url}/connect/woocommerce")
    expect(page.get_by_role("heading", name="Connect your WooCommerce store")).to_be_visible()
    page.get_by_label("Store address").fill(STORE)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", name="Storecare would like to connect to your store")).to_be_visible()


def orders_of(db, domain: str) -> int:
    with db.uow() as session:
        return session.scalar(select(func.count()).select_from(Order).join(Shop, Shop.id == Order.shop_id)
                              .where(Shop.domain == domain))


def test_the_merchant_approves_and_sees_the_store_connected_and_its_orders_mirrored(
        page, app_url, wordpress, store, db, queue):
    ask_to_connect(page, app_url)

    [asked] = wordpress.authorize_queries
    assert (asked["app_name"], asked["scope"]) == ("Storecare", "read_write")
    assert asked["callback_url"] == f"{app_url}/connect/woocommerce/callback"
    assert asked["return_url"] == f"{app_url}/connect/woocommerce/return"

    page.get_by_role("link", name="Approve").click()

    expect(page).to_have_url(f"{app_url}/admin/")  # back from the store, signed in to its admin
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator(".topbar__shop")).to_have_text(DOMAIN)
    expect(page.get_by_role("status")).to_contain_text(f"{DOMAIN} is connected")
    assert wordpress.callback_answers == [200]
    assert store.requests[0] == "GET /wp-json/wc/v3/system_status"  # the keys were verified first
    with db.uow() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == DOMAIN)).one()
        creds = credentials(shop)
        assert (shop.platform, shop.status, shop.scopes) == ("woocommerce", "installed", ["read_write"])
        assert (creds["store_url"], creds["consumer_key"], creds["consumer_secret"]) == (STORE, KEY, SECRET)
        assert SECRET not in shop.credentials_encrypted
    assert {h["delivery_url"] for h in store.webhooks.values()} == {f"{app_url}/webhooks/woocommerce"}
    assert len(store.webhooks) == 7  # app.yaml: order.created|updated|deleted|restored, customer.*

    page.get_by_role("link", name="Connection", exact=True).click()
    expect(page.locator("h1")).to_have_text("Connection")
    expect(page.locator('[data-fact="platform"]')).to_have_text("woocommerce")
    expect(page.locator('[data-fact="domain"]')).to_have_text(DOMAIN)
    expect(page.locator('[data-fact="status"]')).to_contain_text("Installed")
    expect(page.locator('[data-fact="token"]')).to_have_text("Working")
    expect(page.locator('[data-fact="scopes"]')).to_have_text("read_write")
    expect(page.locator('[data-progress="orders"]')).to_contain_text("0 of an unknown total")

    assert queue.drain() >= 1
    page.reload()

    expect(page.locator('[data-progress="orders"]')).to_contain_text(f"{ORDERS} of an unknown total")
    assert orders_of(db, DOMAIN) == ORDERS
    page.get_by_role("link", name="Overview", exact=True).click()
    expect(page.locator('[data-stat="orders"] .stat__value')).to_have_text(str(ORDERS))


def test_the_merchant_denies_and_is_told_so_and_nothing_is_stored(page, app_url, wordpress, store, db):
    ask_to_connect(page, app_url)

    page.get_by_role("link", name="Deny").click()

    expect(page.get_by_role("heading", name="We could not connect your store")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(
        "The store did not approve the connection. You can start again at any time.")
    assert page.url.startswith(f"{app_url}/connect/woocommerce/return?success=0&")
    assert wordpress.callback_answers == [] and store.requests == []  # no keys, no call to the store
    with db.uow() as session:
        assert session.scalars(select(Shop).where(Shop.domain == DOMAIN)).all() == []
        assert session.scalar(select(func.count()).select_from(Shop)) == 0
        # closed at once: a key handover still sent with this token would be refused
        assert session.scalars(select(PendingConnection.status)).all() == ["failed"]

    page.get_by_role("link", name="Start again").click()
    expect(page.get_by_role("heading", name="Connect your WooCommerce store")).to_be_visible()


def test_the_return_page_opened_again_takes_the_signed_in_merchant_to_the_admin(page, app_url, wordpress):
    ask_to_connect(page, app_url)
    page.get_by_role("link", name="Approve").click()
    expect(page).to_have_url(f"{app_url}/admin/")

    page.goto(wordpress.returns[0])  # the same link again: a reload, a bookmark, the back button

    expect(page).to_have_url(f"{app_url}/admin/")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.get_by_text("only be opened by the browser that started")).to_have_count(0)
