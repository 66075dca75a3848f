"""The demo store in a real browser: the loader reads the shop's widget manifest, draws a launcher, fetches
nothing more until clicked, then the orders widget shows the shopper's orders (or asks a guest to sign
in), safely and in Polish."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.factories import T0, make_customer, make_order, make_shop

pytestmark = pytest.mark.browser
XSS = "<img src=x onerror=alert(1)>"
MANIFEST = "/storefront/api/v1/manifest?"


def widget_file(url: str) -> bool:
    return "/static/widgets/" in url


def shopper_call(url: str) -> bool:
    """A call that reads the shopper (sure to be refused for a guest); the manifest is not one."""
    return "/storefront/api/v1/me" in url or "/storefront/api/v1/orders" in url


def orders_script(url: str) -> bool:
    return re.search(r"/static/widgets/orders\.[0-9a-f]{12}\.js$", url) is not None


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def store(app, db):
    with db.uow() as session:
        shop = make_shop(session, domain="amber.sandbox.test", name="Amber & Oak", currency="PLN",
                         locale="en")
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "e2e-storefront-secret-0123456789"})
        anna = make_customer(session, shop, first_name="Anna", last_name="Kowalska")
        evil = make_customer(session, shop, first_name=XSS, last_name="")
        numbers = [make_order(session, shop, anna, total=f"{49 + 10 * i}.90", items=1 + i,
                              created_at=T0 + timedelta(days=i),
                              fulfillment_status=("fulfilled", "partial", "unfulfilled")[i]).number
                   for i in range(3)]
        make_order(session, shop, evil, total="9.99")
        session.commit()
        return {"domain": shop.domain, "anna": anna.platform_id, "evil": evil.platform_id, "numbers": numbers}


@pytest.fixture
def dialogs(page):
    seen = []

    def on_dialog(dialog):
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield seen
    assert seen == [], f"a dialog fired: {seen}"


def open_store(page, live_server, store, customer=None, lang="en"):
    query = f"?lang={lang}" + (f"&customer={customer}" if customer else "")
    page.goto(f"{live_server}/demo/store/{store['domain']}{query}")


def test_the_widget_loads_only_on_click_and_lists_the_customers_orders(page, live_server, store, dialogs):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    open_store(page, live_server, store, customer=store["anna"])

    launcher = page.get_by_role("button", name="Your orders")
    expect(launcher).to_be_visible()
    page.wait_for_timeout(500)  # idle time in which an eager loader would fetch more
    assert not any(widget_file(url) or shopper_call(url) for url in requested), requested
    assert sum(MANIFEST in url for url in requested) == 1  # which widgets: asked once the page was idle
    expect(launcher).to_have_attribute("aria-expanded", "false")

    launcher.click()
    panel = page.get_by_role("dialog", name="Your orders")
    expect(panel).to_be_visible()
    for number in store["numbers"]:
        expect(panel.get_by_text(f"Order {number}")).to_be_visible()
    expect(panel.get_by_text("Hi, Anna")).to_be_visible()
    expect(panel.get_by_text("Shipped", exact=True)).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert sum(orders_script(url) for url in requested) == 1
    page.screenshot(path="/tmp/storefront.png", animations="disabled")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    launcher.click()  # reopening does not load the widget again
    expect(panel).to_be_visible()
    assert sum(orders_script(url) for url in requested) == 1


def test_the_launcher_works_from_the_keyboard(page, live_server, store, dialogs):
    open_store(page, live_server, store, customer=store["anna"])
    launcher = page.get_by_role("button", name="Your orders")
    expect(launcher).to_be_visible()
    launcher.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("dialog", name="Your orders")
    expect(panel.get_by_text(f"Order {store['numbers'][0]}")).to_be_visible()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()


def test_a_guest_is_asked_to_sign_in(page, live_server, store, dialogs):
    console_errors, requested = [], []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: requested.append(request.url))
    open_store(page, live_server, store)
    page.get_by_role("button", name="Your orders").click()
    expect(page.get_by_text("Sign in to see your orders")).to_be_visible()
    page.screenshot(path="/tmp/storefront-guest.png", animations="disabled")
    assert not [url for url in requested if shopper_call(url)]  # the page says: a guest
    assert console_errors == []


def test_a_malicious_customer_name_is_shown_as_text(page, live_server, store, dialogs):
    open_store(page, live_server, store, customer=store["evil"])
    expect(page.get_by_test_id("signed-in-as")).to_have_text(XSS)
    page.get_by_role("button", name="Your orders").click()
    expect(page.get_by_text(f"Hi, {XSS}")).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    page.wait_for_timeout(300)  # give an injected handler the chance to fire (the fixture checks)


def test_the_polish_locale_speaks_polish(page, live_server, store, dialogs):
    open_store(page, live_server, store, customer=store["anna"], lang="pl")
    launcher = page.get_by_role("button", name="Twoje zamówienia")
    launcher.click()
    panel = page.get_by_role("dialog", name="Twoje zamówienia")
    expect(panel.get_by_text(f"Zamówienie {store['numbers'][0]}")).to_be_visible()
    expect(panel.get_by_text("Cześć, Anna")).to_be_visible()
    expect(panel.get_by_text("Wysłane", exact=True)).to_be_visible()
    expect(panel.get_by_text("3 produkty")).to_be_visible()
    expect(panel.get_by_text("zł").first).to_be_visible()
    page.screenshot(path="/tmp/storefront-pl.png", animations="disabled")


def test_a_failed_request_shows_a_friendly_message_and_retries(page, live_server, store, dialogs):
    open_store(page, live_server, store, customer=store["anna"])
    page.route("**/storefront/api/v1/orders*", lambda route: route.abort())
    page.get_by_role("button", name="Your orders").click()
    expect(page.get_by_text("We couldn't load your orders. Please try again.")).to_be_visible()
    page.unroute("**/storefront/api/v1/orders*")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_text(f"Order {store['numbers'][0]}")).to_be_visible()


def fake_wordpress(page, live_server, store, *, logged_in: bool, token: str | None = None, locale="en_US",
                   body: str = ""):
    """A WordPress shop in the browser (page.route): its page carries the loader tag our plugin's PHP
    prints, admin-ajax answers the nonce request as the plugin's PHP does, the REST route hands the
    token to a nonce-bearing request. Returns the shop's origin and the list of requests WordPress got."""
    from tests.wordpress_support import NONCE, loader_tag, nonce_answer

    origin = f"https://{store['domain']}"
    wordpress = {"home": origin, "app_url": live_server, "domain": store["domain"], "locale": locale}
    tag = loader_tag(f"{live_server}/static/loader.js", **wordpress)
    nonce = nonce_answer(logged_in=logged_in, **wordpress)
    calls = []

    def serve(route, request):
        calls.append(request.url)
        if "/wp-admin/admin-ajax.php" in request.url:
            return route.fulfill(status=200, body=nonce, content_type="text/plain")
        if request.url.endswith("/wp-json/storecare/v1/shopper-token"):
            ok = logged_in and request.headers.get("x-wp-nonce") == NONCE
            return route.fulfill(status=200 if ok else 401, json={"token": token} if ok else {"code": "rest_forbidden"})
        return route.fulfill(status=200, content_type="text/html", body=f"""<!doctype html>
            <html lang="{locale[:2]}"><head><link rel="icon" href="data:,"></head>
            <body><h1>A WordPress shop</h1>{body}{tag}</body></html>""")

    page.route(f"{origin}/**", serve)
    return origin, calls


def test_on_woocommerce_the_shopper_token_is_fetched_from_the_store_on_click(page, live_server, store, app, db,
                                                                            dialogs):
    """A WordPress page carries no token (it may be cached for everyone): the loader asks the store for
    a REST nonce, then the store's REST route for a token, when the shopper opens the widget."""
    from plugin.shops.models import Shop
    from plugin.storefront.identity import issue_shopper_token

    with db.uow() as session:
        shop = session.query(Shop).filter_by(domain=store["domain"]).one()
        token = issue_shopper_token(shop, store["anna"])
    origin, calls = fake_wordpress(page, live_server, store, logged_in=True, token=token)

    page.goto(f"{origin}/shop/")
    launcher = page.get_by_role("button", name="Your orders")
    expect(launcher).to_be_visible()
    assert calls == [f"{origin}/shop/"]  # nothing about the shopper is asked before the click
    launcher.click()
    panel = page.get_by_role("dialog", name="Your orders")
    for number in store["numbers"]:
        expect(panel.get_by_text(f"Order {number}")).to_be_visible()
    assert calls[1:] == [f"{origin}/wp-admin/admin-ajax.php?action=storecare_nonce",
                         f"{origin}/wp-json/storecare/v1/shopper-token"]


@pytest.mark.parametrize(("locale", "launcher_name", "prompt", "sign_in"), [
    ("en_US", "Your orders", "Sign in to see your orders", "Sign in"),
    ("pl_PL", "Twoje zamówienia", "Zaloguj się, aby zobaczyć swoje zamówienia", "Zaloguj się"),
])
def test_a_woocommerce_guest_is_asked_to_sign_in_and_nothing_bound_to_fail_is_sent(
        page, live_server, store, dialogs, locale, launcher_name, prompt, sign_in):
    """A guest on a WooCommerce shop: the store answers the nonce request with nothing, so the widget
    shows its sign-in prompt with the store's My account link, and never calls the orders API (which
    could only answer 401). No error reaches the console."""
    console_errors, requested = [], []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.on("request", lambda request: requested.append(request.url))
    origin, calls = fake_wordpress(page, live_server, store, logged_in=False, locale=locale)

    page.goto(f"{origin}/shop/")
    page.get_by_role("button", name=launcher_name).click()

    panel = page.get_by_role("dialog", name=launcher_name)
    expect(panel.get_by_text(prompt)).to_be_visible()
    expect(panel.get_by_role("link", name=sign_in)).to_have_attribute("href", f"{origin}/my-account/")
    page.screenshot(path=f"/tmp/storefront-woocommerce-guest-{locale[:2]}.png", animations="disabled")
    assert not [url for url in requested if shopper_call(url)], requested
    assert calls == [f"{origin}/shop/", f"{origin}/wp-admin/admin-ajax.php?action=storecare_nonce"]
    assert console_errors == []


def test_an_api_answer_of_sign_in_required_shows_the_prompt_not_an_error(page, live_server, store, dialogs):
    """Where the page cannot say the shopper is a guest (a store page cached before the plugin knew),
    the API's sign-in-required answer shows the same prompt."""
    page.route(re.compile(r".*/storefront/api/v1/(me|orders)\b.*"), lambda route: route.fulfill(
        status=401, content_type="application/problem+json",
        json={"type": "urn:storecare:problem:sign-in-required", "title": "Sign in to see your orders"}))
    open_store(page, live_server, store, customer=store["anna"])
    page.get_by_role("button", name="Your orders").click()
    expect(page.get_by_text("Sign in to see your orders")).to_be_visible()
    expect(page.get_by_text("We couldn't load your orders. Please try again.")).to_be_hidden()


# -- the orders widget's own defects (issue 11, item 10) -------------------------------------------

@pytest.fixture
def history(app, db, store):
    """More shoppers of the store: Cora's orders were cancelled, voided or refunded, shipped or not;
    Olaf has 13 orders (a page and a bit); Mia has 8, more than the panel shows without scrolling."""
    from plugin.shops.models import Shop

    with db.uow() as session:
        shop = session.query(Shop).filter_by(domain=store["domain"]).one()
        cora = make_customer(session, shop, first_name="Cora", last_name="Nowak")
        day = iter(range(1, 100))
        cora_orders = {
            kind: make_order(session, shop, cora, created_at=T0 + timedelta(days=next(day)), **fields).number
            for kind, fields in {
                "cancelled": {"financial_status": "voided", "cancelled_at": T0},
                "cancelled_refunded": {"financial_status": "refunded", "cancelled_at": T0},
                "refunded": {"financial_status": "refunded"},
                "refunded_shipped": {"financial_status": "refunded", "fulfillment_status": "fulfilled"},
                "voided": {"financial_status": "voided"},
                "paid": {"financial_status": "paid"},
            }.items()}
        olaf = make_customer(session, shop, first_name="Olaf", last_name="Lis")
        olaf_orders = [make_order(session, shop, olaf, created_at=T0 + timedelta(days=i)).number for i in range(13)]
        mia = make_customer(session, shop, first_name="Mia", last_name="Wrona")
        for i in range(8):
            make_order(session, shop, mia, created_at=T0 + timedelta(days=i), items=2)
        session.commit()
        return {"cora": cora.platform_id, "cora_orders": cora_orders, "olaf": olaf.platform_id,
                "olaf_orders": olaf_orders[::-1], "mia": mia.platform_id}


def badges(panel, number: str) -> list[str]:
    return panel.locator("li.sc-order", has_text=number).locator(".sc-badge").all_text_contents()


@pytest.mark.parametrize(("lang", "words"), [
    ("en", {"order": "Order", "cancelled": "Cancelled", "refunded": "Refunded", "shipped": "Shipped",
            "paid": "Paid", "preparing": "Preparing", "title": "Your orders"}),
    ("pl", {"order": "Zamówienie", "cancelled": "Anulowane", "refunded": "Zwrócone", "shipped": "Wysłane",
            "paid": "Opłacone", "preparing": "W przygotowaniu", "title": "Twoje zamówienia"}),
])
def test_an_order_cancelled_or_refunded_before_it_shipped_is_not_preparing(page, live_server, store, history,
                                                                        dialogs, lang, words):
    open_store(page, live_server, store, customer=history["cora"], lang=lang)
    page.get_by_role("button", name=words["title"]).click()
    panel = page.get_by_role("dialog", name=words["title"])
    numbers = history["cora_orders"]
    expect(panel.get_by_text(f"{words['order']} {numbers['paid']}")).to_be_visible()
    w = words
    assert badges(panel, numbers["cancelled"]) == [w["cancelled"]]
    assert badges(panel, numbers["cancelled_refunded"]) == [w["cancelled"], w["refunded"]]
    assert badges(panel, numbers["refunded"]) == [w["refunded"]]
    assert badges(panel, numbers["refunded_shipped"]) == [w["refunded"], w["shipped"]]
    assert badges(panel, numbers["voided"]) == [w["cancelled"]]
    assert badges(panel, numbers["paid"]) == [w["paid"], w["preparing"]]  # still to ship


def test_older_orders_are_shown_on_request_and_the_keyboard_goes_on_where_they_start(page, live_server, store,
                                                                                  history, dialogs):
    open_store(page, live_server, store, customer=history["olaf"])
    page.get_by_role("button", name="Your orders").click()
    panel = page.get_by_role("dialog", name="Your orders")
    orders = panel.locator("li.sc-order")
    expect(orders).to_have_count(10)
    more = panel.get_by_role("button", name="Show older orders")
    more.focus()
    page.keyboard.press("Enter")
    expect(orders).to_have_count(13)
    assert [orders.nth(i).locator(".sc-number").text_content() for i in range(13)] == [
        f"Order {number}" for number in history["olaf_orders"]]
    expect(more).to_have_count(0)  # the last page: nothing older
    expect(orders.nth(10)).to_be_focused()


def test_the_scrolling_order_list_is_reachable_from_the_keyboard_and_axe_finds_nothing(page, live_server, store,
                                                                                     history, dialogs):
    from axe_playwright_python.sync_playwright import Axe

    open_store(page, live_server, store, customer=history["mia"])
    page.get_by_role("button", name="Your orders").click()
    panel = page.get_by_role("dialog", name="Your orders")
    expect(panel.locator("li.sc-order")).to_have_count(8)
    results = Axe().run(page, context={"include": [["[data-storecare]"]]},
                        options={"resultTypes": ["violations"]})
    found = [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]
    assert found == []
    region = panel.get_by_role("region", name="Order list")
    assert region.evaluate("el => el.scrollHeight > el.clientHeight")  # it does scroll
    page.keyboard.press("Tab")  # from the title: the close button
    page.keyboard.press("Tab")  # then the list itself
    expect(region).to_be_focused()
    page.keyboard.press("End")
    page.wait_for_function("el => el.scrollTop > 0", arg=region.element_handle())


# -- many widgets from one manifest -------------------------------------------------------------------

WIDGETS = "https://widgets.test"
HELLO = """window.StorecareWidgets = window.StorecareWidgets || {};
window.StorecareWidgets.hello = function (root, launcher, cfg) {
  var panel = document.createElement("section");
  panel.id = "sc-hello"; panel.hidden = true; panel.setAttribute("role", "dialog"); panel.setAttribute("aria-label", "Hello");
  panel.textContent = cfg.token ? "Hello, signed-in shopper" : "Hello, guest";
  root.appendChild(panel);
  return {toggle: function () { panel.hidden = !panel.hidden; launcher.setAttribute("aria-expanded", String(!panel.hidden)); }};
};"""
POINTS = """window.StorecareWidgets = window.StorecareWidgets || {};
window.StorecareWidgets.points = function (root, launcher, cfg) {
  var p = document.createElement("p");
  p.className = "points";
  p.textContent = (launcher === null ? "inline " : "") + (cfg.token ? "points of a shopper" : "points of a guest");
  root.appendChild(p);
};"""
POINTS_CSS = ".points { color: rgb(180, 83, 9); }"


def more_widgets(page, requested):
    """The shop's manifest as the app answers it, plus a second launcher and an inline widget (their
    files from another origin, as any widget file may come)."""
    def manifest(route):
        answer = route.fetch()
        document = answer.json()
        document["widgets"] += [
            {"name": "hello", "mount": "launcher", "label": "Hello", "icon": "M4 4h16v12H4Z",
             "script": f"{WIDGETS}/hello.js", "style": None},
            {"name": "points", "mount": "inline", "label": "Points", "icon": "",
             "script": f"{WIDGETS}/points.js", "style": f"{WIDGETS}/points.css"},
        ]
        route.fulfill(response=answer, json=document)

    def files(route):
        requested.append(route.request.url)
        name = route.request.url.rsplit("/", 1)[1]
        body, kind = {"hello.js": (HELLO, "text/javascript"), "points.js": (POINTS, "text/javascript"),
                      "points.css": (POINTS_CSS, "text/css")}[name]
        route.fulfill(status=200, body=body, content_type=kind)

    page.route(re.compile(r".*/storefront/api/v1/manifest\?.*"), manifest)
    page.route(f"{WIDGETS}/**", files)


def test_every_widget_of_the_manifest_is_drawn_loaded_on_use_and_shares_one_identity_step(
        page, live_server, store, app, db, dialogs):
    """Two launchers side by side and an inline widget further down a WooCommerce page: nothing is
    loaded before use, the inline widget when it comes into view, and the store is asked who shops once
    for all of them."""
    from plugin.shops.models import Shop
    from plugin.storefront.identity import issue_shopper_token

    with db.uow() as session:
        token = issue_shopper_token(session.query(Shop).filter_by(domain=store["domain"]).one(), store["anna"])
    requested = []
    more_widgets(page, requested)
    origin, calls = fake_wordpress(page, live_server, store, logged_in=True, token=token,
                                   body='<div style="height: 3000px"></div><div data-storecare-widget="points"></div>')
    page.goto(f"{origin}/shop/")
    orders, hello = page.get_by_role("button", name="Your orders"), page.get_by_role("button", name="Hello")
    expect(orders).to_be_visible()
    expect(hello).to_be_visible()
    assert hello.bounding_box()["x"] < orders.bounding_box()["x"]  # beside it, not on top of it
    assert requested == [] and calls == [f"{origin}/shop/"]

    hello.click()
    expect(page.get_by_role("dialog", name="Hello")).to_have_text("Hello, signed-in shopper")
    orders.click()
    expect(page.get_by_role("dialog", name="Your orders").get_by_text("Hi, Anna")).to_be_visible()
    assert requested == [f"{WIDGETS}/hello.js"]

    page.locator("[data-storecare-widget=points]").scroll_into_view_if_needed()
    points = page.locator("[data-storecare-widget=points] .points")
    expect(points).to_have_text("inline points of a shopper")
    expect(points).to_have_css("color", "rgb(180, 83, 9)")  # its stylesheet, in its own shadow root
    assert sorted(requested) == [f"{WIDGETS}/hello.js", f"{WIDGETS}/points.css", f"{WIDGETS}/points.js"]
    assert calls[1:] == [f"{origin}/wp-admin/admin-ajax.php?action=storecare_nonce",
                         f"{origin}/wp-json/storecare/v1/shopper-token"]  # once, for all three


def test_a_widget_whose_file_fails_leaves_the_others_working_and_can_be_tried_again(page, live_server, store,
                                                                                  dialogs):
    requested = []
    more_widgets(page, requested)
    failures = {"left": 1}

    def flaky(route):
        if failures["left"]:
            failures["left"] -= 1
            return route.abort()
        return route.fallback()

    page.route(f"{WIDGETS}/hello.js", flaky)
    open_store(page, live_server, store, customer=store["anna"])
    hello = page.get_by_role("button", name="Hello")
    hello.click()
    expect(hello).not_to_have_attribute("aria-busy", "true")
    page.get_by_role("button", name="Your orders").click()
    expect(page.get_by_role("dialog", name="Your orders").get_by_text("Hi, Anna")).to_be_visible()
    hello.click()
    expect(page.get_by_role("dialog", name="Hello")).to_be_visible()
