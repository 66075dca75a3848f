"""The admin inside Shopify's admin, in a real browser that refuses third-party cookies.

The Shopify admin is a page at https://admin.shopify.com (Playwright's routing) that frames our live
server (http://127.0.0.1, another site: our cookies there are third-party, and the browser context, like
Chrome's incognito windows, blocks them; a probe frame proves it). App Bridge's script, which tests cannot
fetch from Shopify's CDN, is served by a stand-in (tests/e2e/app_bridge_standin.js) that mints real ID
tokens with the test app's secret, reports the nav menu and title bar to the admin around the frame, and
shows toasts there. The merchant walks several pages through Shopify's navigation, searches, goes back,
switches the language and saves a settings form (bad input first) and a retry: every request after
Shopify's own load carries a fresh ID token and none carries a cookie. A merchant whose feature needs new
permissions approves them from the banner through App Bridge's scopes.request."""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode

import jwt
import pytest
import responses
from playwright.sync_api import expect
from sqlalchemy import select

from plugin.admin.models import ShopSetting
from plugin.features import install_features
from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from tests.factories import make_customer, make_failed_job, make_order
from tests.shopify_auth_support import CLIENT_ID, SECRET, SHOP, granted, session_token, shopify_app, token_url

pytestmark = pytest.mark.browser

ADMIN = "https://admin.shopify.com/store/demo-shop/apps/storecare"
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
STAND_IN = Path(__file__).with_name("app_bridge_standin.js")
SESSION = "sid-e2e"


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def app(settings_with):
    for app in shopify_app(settings_with):
        install_features(app, ("tests.example_feature",))
        # As in production: a cookie we set could only come back in Shopify's frame as a third-party one.
        app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True)
        yield app


class Recorder:
    """Every request the live server gets (method, path, Cookie and Authorization headers), and a probe
    that tries to set a SameSite=None cookie from inside the frame and sees whether it comes back."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.requests, self.probe_cookie = wsgi_app, [], "not checked"

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/probe/set":
            start_response("200 OK", [("Content-Type", "text/html"),
                                      ("Set-Cookie", "probe=1; SameSite=None; Secure; Path=/")])
            return [b'<script>location.replace("/probe/check")</script>']
        if path == "/probe/check":
            self.probe_cookie = environ.get("HTTP_COOKIE")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"checked"]
        self.requests.append(SimpleNamespace(
            method=environ["REQUEST_METHOD"], path=path, query=parse_qs(environ.get("QUERY_STRING", "")),
            cookie=environ.get("HTTP_COOKIE"), authorization=environ.get("HTTP_AUTHORIZATION")))
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def recorder(app):
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    return recorder


@pytest.fixture
def store(app, client, db):
    """The shop installed from Shopify's admin (the token exchange played by responses), with orders."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(token_url(), json=granted())
        assert client.get(f"/admin/shopify?shop={SHOP}&id_token={session_token()}").status_code == 302
    with db.uow() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
        anna = make_customer(session, shop, email="anna@example.com", first_name="Anna", last_name="Kowalska")
        jan = make_customer(session, shop, email="jan@example.com", first_name="Jan", last_name="Nowak")
        orders = [make_order(session, shop, customer, total=total)
                  for customer, total in ((anna, "120.00"), (jan, "80.00"), (anna, "45.50"))]
        job = make_failed_job(session, shop, name="sync.process_delivery")
        session.query(JobRun).filter(JobRun.status != "failed").delete()  # the install's own jobs
        session.commit()
        return {"shop": shop.id, "job": job.id, "numbers": [order.number for order in orders]}


def shopify_admin(live_server: str) -> str:
    """Shopify's admin around the app: the app's nav menu as buttons in a fixed sidebar, its title bar, its
    toasts; the frame fills the rest and loads the App URL with Shopify's query and an ID token, as
    Shopify does."""
    query = urlencode({"embedded": "1", "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtby1zaG9w", "locale": "en",
                       "shop": SHOP, "id_token": session_token(sid=SESSION)})
    return f"""<!doctype html><meta charset="utf-8"><title>Shopify admin</title>
<style>
  body {{ margin: 0; }}
  nav {{ position: fixed; top: 0; left: 0; bottom: 0; width: 200px; }}
  #title-bar {{ position: fixed; top: 0; left: 200px; right: 0; height: 40px; margin: 0; }}
  #toasts {{ position: fixed; bottom: 0; left: 0; width: 200px; margin: 0; }}
  #app-iframe {{ position: fixed; top: 40px; left: 200px; width: calc(100% - 200px); height: calc(100% - 40px);
                 border: 0; }}
</style>
<nav aria-label="App navigation"><ul id="app-nav"></ul></nav>
<p id="title-bar"></p>
<ol id="toasts" aria-label="Toasts"></ol>
<iframe id="app-iframe" title="Storecare" src="{escape(live_server)}/admin/shopify?{escape(query)}"></iframe>
<iframe id="probe" title="probe" hidden src="{escape(live_server)}/probe/set"></iframe>
<script>
var frame = document.getElementById("app-iframe");
window.addEventListener("message", function (event) {{
  var message = event.data || {{}};
  if (event.source !== frame.contentWindow) {{ return; }}
  if (message.type === "nav") {{
    var list = document.getElementById("app-nav");
    list.innerHTML = "";
    message.links.forEach(function (link) {{
      if (link.home) {{ return; }}
      var item = document.createElement("li"), button = document.createElement("button");
      button.textContent = link.label;
      button.onclick = function () {{ frame.contentWindow.postMessage({{type: "navigate", href: link.href}}, "*"); }};
      item.appendChild(button);
      list.appendChild(item);
    }});
  }} else if (message.type === "title") {{
    document.getElementById("title-bar").textContent = message.title;
  }} else if (message.type === "toast") {{
    var toast = document.createElement("li");
    toast.textContent = message.message;
    toast.dataset.error = message.error;
    document.getElementById("toasts").appendChild(toast);
  }}
}});
</script>"""


@pytest.fixture
def shopify(page, live_server, recorder):
    """The merchant's browser: Shopify's admin and App Bridge's script played by routes; nothing else of
    the internet is reachable; our live server is reached over the loopback network, without routing."""
    stand_in = (STAND_IN.read_text().replace("__SECRET__", SECRET).replace("__SHOP__", SHOP)
                .replace("__SESSION__", SESSION))
    page.route(re.compile(r"^https://"), lambda route: route.abort())
    page.route(f"{ADMIN}**", lambda route: route.fulfill(content_type="text/html",
                                                         body=shopify_admin(live_server)))
    page.route(APP_BRIDGE, lambda route: route.fulfill(content_type="text/javascript", body=stand_in))
    return SimpleNamespace(nav=lambda name: page.locator("#app-nav").get_by_role("button", name=name, exact=True),
                           title=page.locator("#title-bar"), toasts=page.locator("#toasts li"),
                           app=page.frame_locator("#app-iframe"))


def app_frame(page):
    return next(frame for frame in page.frames if frame.name == "" and "/admin/" in frame.url)


def test_the_merchant_walks_the_admin_inside_shopify_with_third_party_cookies_blocked(
        page, live_server, store, shopify, recorder, db):
    page.goto(ADMIN)
    app = shopify.app

    expect(app.locator("h1")).to_have_text("Overview")
    expect(app.locator('[data-stat="orders"] .stat__value')).to_have_text("3")
    expect(shopify.title).to_have_text("Overview")
    expect(page.locator("#app-nav button")).to_have_text(["Orders", "Customers", "Loyalty", "Example", "Messages",
                                                          "Connection", "Jobs", "API access", "Settings"])
    assert "id_token" not in app_frame(page).url  # the spent token is out of the history

    shopify.nav("Orders").click()  # Shopify's sidebar: App Bridge clicks the nav menu's link
    expect(app.locator("h1")).to_have_text("Orders")
    expect(shopify.title).to_have_text("Orders")
    expect(app.locator("table tbody tr")).to_have_count(3)
    assert app_frame(page).url == f"{live_server}/admin/orders"
    app.get_by_role("link", name=store["numbers"][0], exact=True).click()
    expect(app.locator("h1")).to_have_text(f"Order {store['numbers'][0]}")
    expect(shopify.title).to_have_text(f"Order \u2068{store['numbers'][0]}\u2069")  # shopper text, isolated

    shopify.nav("Customers").click()
    expect(app.locator("h1")).to_have_text("Customers")
    app.get_by_role("searchbox").fill("Kowalska")
    app.get_by_role("searchbox").press("Enter")  # a GET form
    expect(app.locator("table tbody tr")).to_have_count(1)
    expect(app.locator("table tbody")).to_contain_text("Anna Kowalska")
    app_frame(page).evaluate("history.back()")  # the history holds the pages: back is the list unsearched
    expect(app.locator("table tbody tr")).to_have_count(2)

    shopify.nav("Settings").click()
    expect(app.locator("h1")).to_have_text("Settings")
    app.get_by_label("Polski").check()
    app.locator("form", has=app.get_by_label("Polski")).get_by_role("button", name="Save").click()
    expect(app.locator("h1")).to_have_text("Ustawienia")
    expect(shopify.title).to_have_text("Ustawienia")
    expect(page.locator("#app-nav button").first).to_have_text("Zamówienia")

    example = app.locator("#settings-example")
    example.get_by_label("Points per order").fill("dużo")
    example.get_by_role("button", name="Zapisz").click()
    expect(app.locator("#settings-example .field__error")).to_have_text("Wpisz liczbę całkowitą.")
    expect(app.locator("#settings-example").get_by_label("Points per order")).to_have_value("dużo")
    expect(shopify.toasts).to_have_count(0)
    app.locator("#settings-example").get_by_label("Points per order").fill("25")
    app.locator("#settings-example").get_by_role("button", name="Zapisz").click()
    expect(shopify.toasts).to_have_text(["Example: zapisano."])
    expect(app.locator("#settings-example").get_by_label("Points per order")).to_have_value("25")
    with db.uow() as session:
        values = session.scalars(select(ShopSetting.values).where(ShopSetting.shop_id == store["shop"])).one()
    assert values == {"greeting": "Hello", "points_per_order": 25, "enabled": False}

    shopify.nav("Zadania").click()
    expect(app.locator("h1")).to_have_text("Zadania")
    app.locator(f'tr[data-job="{store["job"]}"]').get_by_role("button", name="Ponów").click()
    expect(shopify.toasts).to_have_text(["Example: zapisano.",
                                         "Zadanie „Wprowadzanie zmiany ze sklepu” ponownie czeka w kolejce."])
    with db.uow() as session:
        assert session.get(JobRun, store["job"]).status == "queued"

    # What the browser sent: Shopify's own load brought a token in the address; every request of ours
    # after it a fresh token in the header; none a cookie, which this browser would not have sent anyway.
    assert recorder.probe_cookie is None and page.context.cookies() == []
    admin = [r for r in recorder.requests if r.path.startswith("/admin/")]
    assert [r.path for r in admin[:2]] == ["/admin/shopify", "/admin/"]
    assert all("id_token" in r.query and r.authorization is None for r in admin[:2])
    ours = admin[2:]
    assert len(ours) >= 12 and all(r.cookie is None for r in recorder.requests)
    assert all(r.authorization and r.authorization.startswith("Bearer ") for r in ours)
    claims = [jwt.decode(r.authorization[7:], SECRET, algorithms=["HS256"], audience=CLIENT_ID) for r in ours]
    assert {c["dest"] for c in claims} == {f"https://{SHOP}"}
    posts = [i for i, r in enumerate(ours) if r.method == "POST"]
    followed = {i + 1 for i in posts if i + 1 < len(ours) and ours[i + 1].method == "GET"
                and claims[i + 1]["jti"] == claims[i]["jti"]}  # a save's redirect is fetched with its token
    fresh = [c["jti"] for i, c in enumerate(claims) if i not in followed]
    assert len(fresh) == len(set(fresh)), "a token was used for two requests"
    assert json.dumps([r.method for r in ours]).count("POST") == 4  # language, bad save, save, retry


def test_the_merchant_approves_new_permissions_from_the_banner_inside_shopify(page, store, shopify, db, app):
    from adapters.base import Capability
    from adapters.shopify.adapter import ShopifyAdapter
    from plugin.admin import shop_settings
    from tests.contract.shopify_simulator import ShopifySimulator
    from tests.contract.shopify_store import build_shop

    wanted = list(ShopifyAdapter.SCOPES[Capability.STORE_CREDIT])
    with db.uow() as session:  # the example needs store credit once it is on, as loyalty with that reward
        shop_settings.save(session, store["shop"], shop_settings.section(app, "example"),
                           {"greeting": "Hello", "points_per_order": 1, "enabled": True})
        shop = session.get(Shop, store["shop"])
        simulated = build_shop(SHOP, "shpat_first", seed=1, orders=1, customers=1, id_base=0, now=shop.installed_at)
    simulated.granted_scopes = set(shop.scopes) | set(wanted)  # what Shopify holds once the merchant approved
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator = ShopifySimulator()
        simulator.add_shop(simulated)
        simulator.install(mock)
        page.goto(ADMIN)
        app_page = shopify.app
        banner = app_page.locator('[data-banner="permissions"]')
        expect(banner).to_contain_text("Storecare needs new permissions: approve them. They are for: store credit.")

        banner.get_by_role("button", name="Approve permissions").click()

        expect(shopify.toasts).to_have_text(["Thank you: Storecare has every permission it needs."])
        expect(banner).to_have_count(0)
    assert app_frame(page).evaluate("window.__appBridgeStandIn.requested()") == [wanted]
    assert [c["operationName"] for c in simulator.requests] == ["GrantedScopes"]
    with db.uow() as session:
        assert set(wanted) <= set(session.get(Shop, store["shop"]).scopes)
