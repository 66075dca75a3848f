"""The Shopify install started outside the Shopify admin, in a real browser: the signed install link,
Shopify's grant screen (a page.route), our callback, then our admin at its public URL (APP_URL, forwarded
to the live server). Shopify's servers are played with ``responses`` and the contract simulator."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from html import escape
from types import SimpleNamespace
from urllib.parse import parse_qs, parse_qsl, urljoin, urlsplit

import pytest
import requests
import responses
from playwright.sync_api import expect
from sqlalchemy import func, select, text

from plugin.jobs.models import JobRun
from plugin.shops import service as shops
from plugin.shops.models import OAuthState, Shop
from plugin.shops.shopify_views import STATE_COOKIE
from plugin.sync.models import Order
from tests.contract.shopify_simulator import ShopifySimulator
from tests.contract.shopify_store import build_shop
from tests.shopify_auth_support import APP_URL, CLIENT_ID, SECRET, SHOP, granted, shopify_app, signed_query, token_url

pytestmark = pytest.mark.browser

INSTALL, CALLBACK = "/auth/shopify/install", "/auth/shopify/callback"
ACCESS, REFRESH = "shpat_e2e_install_access", "shprt_e2e_install_refresh"
HOST = base64.urlsafe_b64encode(b"admin.shopify.com/store/demo-shop").decode().rstrip("=")
ORDERS = 30


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shopify(live_server):
    """Shopify's servers: the token endpoint grants ACCESS, the simulator serves the shop to it."""
    simulator = ShopifySimulator(bulk_polls=0)  # the bulk export is ready at its first poll: no waiting
    store = simulator.add_shop(build_shop(SHOP, ACCESS, seed=11, orders=ORDERS, customers=6, id_base=0,
                                          now=datetime(2026, 1, 15, 12, 0, tzinfo=UTC)))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(live_server)  # the browser's requests, forwarded to our server, go through
        mock.post(token_url(), json=granted(access=ACCESS, refresh=REFRESH))
        simulator.install(mock)
        yield SimpleNamespace(simulator=simulator, store=store,
                              token_calls=lambda: [c for c in mock.calls if c.request.url == token_url()])


@pytest.fixture
def our_server(page, live_server, shopify):
    """The merchant's browser: APP_URL answered by the live server, the shop's host by a grant screen."""
    server = PublicUrl(live_server)
    page.route("**/*", lambda route: route.abort())  # nothing else leaves the browser
    page.route(f"{APP_URL}/**", server)
    page.route(f"https://{SHOP}/**", grant_screen)
    yield server
    # The page outlives the live server (it was set up first): a late request (the favicon, say) must
    # not be forwarded to a server that has stopped.
    server.closed = True


class PublicUrl:
    """A route handler answering requests to APP_URL from the live server, as the reverse proxy in front of
    it would; ``answers`` keeps (url, status, Location) of each. Playwright never routes the target of a
    redirect (it would go to the real network), so a redirect reaches the browser as a page that goes to
    its Location at once; its cookies are set as usual."""

    def __init__(self, live_server: str):
        self.live_server, self.answers, self.closed = live_server, [], False

    def __call__(self, route) -> None:
        request = route.request
        if self.closed:
            route.abort()
            return
        headers = {**request.all_headers(), "host": urlsplit(APP_URL).netloc}
        try:
            answer = requests.request(request.method, self.live_server + request.url[len(APP_URL):],
                                      headers=headers, data=request.post_data_buffer, allow_redirects=False,
                                      timeout=10)
        except requests.ConnectionError:
            if self.closed:  # a late request on its way when the live server stopped
                route.abort()
                return
            raise
        location = answer.headers.get("Location")
        self.answers.append((request.url, answer.status_code, location))
        passed = {name: value for name, value in answer.headers.items() if name.lower() not in
                  ("set-cookie", "content-type", "content-length", "connection", "transfer-encoding")}
        if cookies := answer.raw.headers.getlist("Set-Cookie"):
            passed["set-cookie"] = "\n".join(cookies)  # Playwright's way to fulfill several cookies
        if answer.is_redirect:
            refresh = f'<meta http-equiv="refresh" content="0;url={escape(urljoin(request.url, location))}">'
            route.fulfill(status=200, headers=passed, content_type="text/html", body=refresh)
        else:
            route.fulfill(status=answer.status_code, headers=passed,
                          content_type=answer.headers.get("Content-Type"), body=answer.content)

    def answered(self, path: str) -> list[tuple[int, str | None]]:
        return [(status, location) for url, status, location in self.answers if urlsplit(url).path == path]

    def requested(self, path: str) -> list[str]:
        return [url for url, _status, _location in self.answers if urlsplit(url).path == path]


def grant_screen(route) -> None:
    """Shopify's grant screen: "Install app" sends the browser to the redirect_uri with a code, the state,
    and an hmac over the sorted query, signed with the app's client secret."""
    url = urlsplit(route.request.url)
    query = parse_qs(url.query)
    if url.path != "/admin/oauth/authorize" or query.get("client_id") != [CLIENT_ID] \
            or query.get("redirect_uri") != [APP_URL + CALLBACK]:  # Shopify only redirects to the app's URLs
        route.fulfill(status=400, content_type="text/html", body="<h1>Oauth error invalid_request</h1>")
        return
    callback = signed_query(code="shopify-code-1", host=HOST, shop=SHOP, state=query["state"][0])
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in parse_qsl(callback))
    route.fulfill(content_type="text/html", body=(
        f'<!doctype html><title>Install Storecare</title><h1>Install Storecare</h1>'
        f'<p>Storecare will be able to: {escape(query["scope"][0])}</p>'
        f'<form method="get" action="{escape(query["redirect_uri"][0])}">{fields}'
        f'<button type="submit">Install app</button></form>'))


def stored(db) -> dict:
    """Everything an install step may change."""
    with db.uow() as session:
        return {"shops": [tuple(row) for row in session.execute(text("SELECT * FROM shops ORDER BY id"))],
                "states": session.scalar(select(func.count()).select_from(OAuthState)),
                "jobs": session.scalar(select(func.count()).select_from(JobRun))}


def test_the_merchant_installs_the_app_and_lands_in_the_admin_with_the_shop_synced(
        page, our_server, app, db, queue, shopify):
    page.goto(f"{APP_URL}{INSTALL}?{signed_query(shop=SHOP, host=HOST)}")

    expect(page.get_by_role("heading", name="Install Storecare")).to_be_visible()  # Shopify's grant screen
    authorize = urlsplit(page.url)
    assert (authorize.netloc, authorize.path) == (SHOP, "/admin/oauth/authorize")
    manifest = app.config["STORECARE_MANIFEST"]["shopify"]
    expect(page.get_by_text(f"Storecare will be able to: {','.join(manifest['scopes'])}")).to_be_visible()
    state = parse_qs(authorize.query)["state"][0]
    assert [c["name"] for c in page.context.cookies()] == [STATE_COOKIE]

    page.get_by_role("button", name="Install app").click()

    expect(page).to_have_url(f"{APP_URL}/admin/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.locator(".topbar__shop")).to_have_text("demo-shop")
    assert [status for status, _location in our_server.answered(INSTALL)] == [302]
    assert our_server.answered(CALLBACK) == [(302, "/admin/")]
    assert STATE_COOKIE not in {c["name"] for c in page.context.cookies()}

    (exchange,) = shopify.token_calls()
    assert json.loads(exchange.request.body) == {"client_id": CLIENT_ID, "client_secret": SECRET,
                                                 "code": "shopify-code-1", "expiring": 1}
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        assert session.scalar(select(OAuthState).where(OAuthState.nonce == state)) is None  # spent
    assert (shop.platform, shop.domain, shop.status) == ("shopify", SHOP, "installed")
    assert not shop.needs_reauth
    assert set(manifest["scopes"]) <= set(shop.scopes)
    credentials = shops.credentials(shop)
    assert (credentials["access_token"], credentials["refresh_token"]) == (ACCESS, REFRESH)
    raw = repr(stored(db)["shops"])
    assert ACCESS not in raw and REFRESH not in raw  # only the encrypted form is in the database

    queue.drain()

    subscriptions = shopify.store.subscriptions
    assert sorted(s["topic"] for s in subscriptions) == \
        sorted(topic.upper().replace("/", "_") for topic in manifest["webhooks"])
    assert {s["uri"] for s in subscriptions} == {f"{APP_URL}/webhooks/shopify"}
    assert len(shopify.simulator.bulk_runs) == 1 and shopify.simulator.downloads == 1  # the bulk export
    with db.uow() as session:
        mirrored = set(session.scalars(select(Order.platform_id).where(Order.shop_id == shop.id)))
        unfinished = session.scalars(select(JobRun.name).where(JobRun.status != "succeeded")).all()
    assert mirrored == {str(order_id) for order_id in shopify.store.orders}
    assert unfinished == []

    page.reload()
    expect(page.locator('[data-stat="orders"] .stat__value')).to_have_text(str(ORDERS))
    expect(page.locator('tr[data-sync="orders"]')).to_contain_text("Done")


def test_a_replayed_callback_is_refused_and_changes_nothing(page, our_server, db, shopify):
    page.goto(f"{APP_URL}{INSTALL}?{signed_query(shop=SHOP, host=HOST)}")
    expect(page.get_by_role("heading", name="Install Storecare")).to_be_visible()
    state_cookie = [c for c in page.context.cookies() if c["name"] == STATE_COOKIE]
    page.get_by_role("button", name="Install app").click()
    expect(page).to_have_url(f"{APP_URL}/admin/")
    (callback,) = our_server.requested(CALLBACK)
    before = stored(db)
    assert len(before["shops"]) == 1 and len(shopify.token_calls()) == 1

    replay = page.goto(callback)  # the state cookie went with the first use

    assert replay.status == 401
    expect(page.get_by_role("heading", level=1)).to_have_text("Open Storecare from your store's admin")
    expect(page.get_by_text("This install link was not started in this browser.")).to_be_visible()

    page.context.add_cookies(state_cookie)  # with it back, the state itself is spent
    replay = page.goto(callback)

    assert replay.status == 401
    expect(page.get_by_text("This install link has expired or was already used.")).to_be_visible()
    assert stored(db) == before
    assert len(shopify.token_calls()) == 1
    with db.uow() as session:
        assert shops.credentials(session.scalars(select(Shop)).one())["access_token"] == ACCESS
