"""A Shopify storefront in a real browser, played with page.route: the page carries the app embed block's
script tag as the theme renders it, the loader comes from Shopify's CDN (the extension's asset), and
/apps/storecare/... goes through a stand-in for Shopify's app proxy, which, as Shopify does, learns the
signed-in customer from the storefront's own cookies and signs the forwarded query. The widget's files
come from the app's public URL."""
from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from plugin.security import sign_app_proxy
from tests.factories import make_customer, make_order, make_shop
from tests.shopify_auth_support import APP_URL, SECRET, SHOP, shopify_app

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "adapters" / "shopify" / "extension"
STOREFRONT = f"https://{SHOP}"
CDN = "https://cdn.shopify.test/extensions/storecare/1/assets/"
SESSION_COOKIE = "storefront_customer"  # stands in for Shopify's customer session


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shop(db):
    with db.uow() as session:
        shop = make_shop(session, domain=SHOP, platform="shopify", name="Maple Goods", currency="USD")
        anna = make_customer(session, shop, first_name="Anna")
        anna.platform_id = "1001"
        numbers = [make_order(session, shop, anna, total="20.00").number for _ in range(2)]
        session.commit()
        return {"numbers": numbers}


def embed_tag(*, signed_in: bool, locale: str = "en") -> str:
    """The block's script tag as Liquid renders it for this storefront."""
    block = (EXTENSION / "blocks" / "storecare-embed.liquid").read_text(encoding="utf-8")
    tag = re.search(r"<script\b.*?</script>", block, re.DOTALL).group(0)
    for liquid, value in {"{{ 'loader.js' | asset_url }}": CDN + "loader.js",
                          "{{ shop.permanent_domain | escape }}": SHOP,
                          "{{ routes.account_login_url | escape }}": "/account/login",
                          "{{ storecare_signed_in }}": "true" if signed_in else "false",
                          "{{ 'storecare.widget_locale' | t | escape }}": locale}.items():
        tag = tag.replace(liquid, value)
    assert "{{" not in tag
    return tag


def play_shopify(page, live_server, *, signed_in: bool, locale: str = "en") -> list[str]:
    """Route the storefront, the CDN, the app proxy and the app's public URL; returns the proxied paths
    with the customer Shopify named for each."""
    proxied = []

    def storefront(route):
        route.fulfill(status=200, content_type="text/html", body=f"""<!doctype html>
            <html lang="{locale}"><head><link rel="icon" href="data:,"></head>
            <body><h1>Maple Goods</h1>{embed_tag(signed_in=signed_in, locale=locale)}</body></html>""")

    def app_proxy(route, request):
        url = urlsplit(request.url)
        cookies = dict(part.strip().split("=", 1) for part in (request.all_headers().get("cookie") or "").split(";")
                       if "=" in part)
        customer = cookies.get(SESSION_COOKIE, "")
        pairs = parse_qsl(url.query) + [("shop", SHOP), ("logged_in_customer_id", customer),
                                         ("path_prefix", "/apps/storecare"), ("timestamp", str(int(time.time())))]
        query = urlencode(pairs + [("signature", sign_app_proxy(SECRET, pairs))])
        proxied.append(f"{url.path} customer={customer or '-'}")
        answer = route.fetch(url=f"{live_server}/proxy{url.path.removeprefix('/apps/storecare')}?{query}",
                             headers={"Accept": request.headers.get("accept", "*/*")})
        route.fulfill(response=answer)

    page.route(f"{STOREFRONT}/", storefront)
    page.route(f"{STOREFRONT}/apps/storecare/**", app_proxy)
    page.route(f"{CDN}loader.js", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=(EXTENSION / "assets" / "loader.js").read_bytes()))
    page.route(f"{APP_URL}/**", lambda route: route.fulfill(
        response=route.fetch(url=live_server + urlsplit(route.request.url).path)))
    return proxied


def test_a_signed_in_shopify_customer_sees_their_orders_through_the_app_proxy(page, live_server, shop):
    """The widget's calls carry the storefront's cookies (same-origin), so the proxy names the customer."""
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": "1001", "url": STOREFRONT}])
    proxied = play_shopify(page, live_server, signed_in=True)

    page.goto(f"{STOREFRONT}/")
    page.get_by_role("button", name="Your orders").click()
    panel = page.get_by_role("dialog", name="Your orders")
    expect(panel.get_by_text("Hi, Anna")).to_be_visible()
    for number in shop["numbers"]:
        expect(panel.get_by_text(f"Order {number}")).to_be_visible()
    assert f"{CDN}loader.js" in requested  # from Shopify's CDN, not through the proxy
    assert not [url for url in requested if "/apps/storecare/static/" in url]
    assert [url for url in requested if "/static/widgets/orders." in url and url.startswith(APP_URL)]
    assert sorted(proxied) == ["/apps/storecare/api/v1/manifest customer=1001",
                               "/apps/storecare/api/v1/me customer=1001",
                               "/apps/storecare/api/v1/orders customer=1001"]


def test_a_shopify_guest_is_asked_to_sign_in_in_polish_without_asking_for_orders(page, live_server, shop):
    proxied = play_shopify(page, live_server, signed_in=False, locale="pl")
    page.goto(f"{STOREFRONT}/")
    page.get_by_role("button", name="Twoje zamówienia").click()
    panel = page.get_by_role("dialog", name="Twoje zamówienia")
    expect(panel.get_by_text("Zaloguj się, aby zobaczyć swoje zamówienia")).to_be_visible()
    expect(panel.get_by_role("link", name="Zaloguj się")).to_have_attribute("href", f"{STOREFRONT}/account/login")
    assert proxied == ["/apps/storecare/api/v1/manifest customer=-"]
