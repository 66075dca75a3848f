"""The demo storefront page: demo/test only, lists the shop's customers, embeds the loader like a theme
does with a token computed server-side, and escapes everything it shows."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from cryptography.fernet import Fernet

from plugin.storefront.identity import read_shopper_token
from tests.factories import T0, make_customer, make_order, make_shop

XSS = "<img src=x onerror=alert(1)>"


def storefront_shop(session, app, domain, secret="storefront-secret-" + "0" * 16, **kw):
    shop = make_shop(session, domain=domain, **kw)
    if secret:
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt({"storefront_secret": secret})
    session.flush()
    return shop


@pytest.fixture
def shop_with_customers(app, db):
    with db.uow() as session:
        shop = storefront_shop(session, app, "demo.sandbox.test", name="Dom & Ogród", platform="woocommerce")
        loyal = make_customer(session, shop, first_name="Lena", last_name="Loyal")
        once = make_customer(session, shop, first_name="Otto", last_name="Once")
        evil = make_customer(session, shop, first_name=XSS, last_name="")
        for day in range(3):
            make_order(session, shop, loyal, created_at=T0 + timedelta(days=day), total="30.00")
        make_order(session, shop, once, total="12.00", items=2)
        make_order(session, shop, evil, total="1.00")
        session.commit()
        return {"shop": shop, "loyal": loyal, "once": once, "evil": evil}


def loader_tag(html: str) -> str:
    match = re.search(r'<script async src="[^"]*/static/loader\.[0-9a-f]{12}\.js"(.*?)></script>', html, re.S)
    assert match, "the page embeds the loader"
    return match.group(1)


def attribute(tag: str, name: str) -> str:
    return unescape(re.search(rf'{name}="([^"]*)"', tag).group(1))


def test_the_demo_store_is_not_served_in_production(settings_with):
    from plugin import create_app

    production = settings_with(env="production", secret_key="x" * 40,
                               encryption_keys=(Fernet.generate_key().decode(),)).validated()
    app = create_app(production)
    try:
        response = app.test_client().get("/demo/store/demo.sandbox.test")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    finally:
        app.extensions["storecare.db"].dispose()


def test_the_demo_store_lists_customers_by_orders_with_a_guest_choice(client, shop_with_customers):
    response = client.get("/demo/store/demo.sandbox.test")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)"', html)
    w = shop_with_customers
    assert options[0] == ""  # the guest
    assert options[1] == w["loyal"].platform_id
    assert set(options[2:]) == {w["once"].platform_id, w["evil"].platform_id}
    assert "Lena Loyal" in html and "Dom &amp; Ogród" in html


def test_customer_names_are_escaped(client, shop_with_customers):
    html = client.get("/demo/store/demo.sandbox.test?customer=" + shop_with_customers["evil"].platform_id) \
        .get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert XSS not in html


def test_the_page_embeds_the_loader_with_a_token_for_the_chosen_customer(client, shop_with_customers, app):
    loyal = shop_with_customers["loyal"]
    response = client.get(f"/demo/store/demo.sandbox.test?customer={loyal.platform_id}&lang=pl")
    html = response.get_data(as_text=True)
    tag = loader_tag(html)
    assert attribute(tag, "data-storecare-shop") == "demo.sandbox.test"
    assert attribute(tag, "data-storecare-api") == "http://localhost/storefront/api/v1"
    assert attribute(tag, "data-storecare-locale") == "pl"
    shopper = read_shopper_token(attribute(tag, "data-storecare-token"))
    assert (shopper.customer_id, shopper.platform_customer_id) == (loyal.id, loyal.platform_id)


def test_without_a_customer_the_page_embeds_a_guest_token(client, shop_with_customers):
    tag = loader_tag(client.get("/demo/store/demo.sandbox.test").get_data(as_text=True))
    assert read_shopper_token(attribute(tag, "data-storecare-token")).is_guest


def test_an_unknown_customer_id_is_a_404_page_showing_the_store_to_a_guest_and_saying_why(client, shop_with_customers):
    response = client.get("/demo/store/demo.sandbox.test?customer=no-such-customer&lang=pl")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "nie ma klienta o takim identyfikatorze" in html
    assert read_shopper_token(attribute(loader_tag(html), "data-storecare-token")).is_guest


def test_products_come_from_the_synced_line_items_with_their_latest_price(client, shop_with_customers):
    html = client.get("/demo/store/demo.sandbox.test?lang=en").get_data(as_text=True)
    assert 'data-products-source="line-items"' in html
    titles = re.findall(r'<h3 class="product-card__title">([^<]*)</h3>', html)
    assert titles == ["Product 1", "Product 2"]
    prices = re.findall(r'<p class="product-card__price">([^<]*)</p>', html)
    assert "30.00" in prices[0]  # Lena's order of day 3 is the latest sale of "Product 1"
    assert "6.00" in prices[1]


def test_a_sandbox_shop_shows_the_sandbox_catalogue(app, client, db, settings):
    from adapters.sandbox.generator import seed_shop
    from adapters.sandbox.store import SandboxStore

    seed_shop(SandboxStore(settings.sandbox_path), "cat.sandbox.test", customers=2, orders=3, currency="PLN")
    with db.uow() as session:
        storefront_shop(session, app, "cat.sandbox.test", platform="sandbox")
        session.commit()
    html = client.get("/demo/store/cat.sandbox.test?lang=pl").get_data(as_text=True)
    assert 'data-products-source="sandbox-catalogue"' in html
    assert "Merino Wool Beanie" in html
    assert "zł" in html


def test_an_unknown_customer_or_shop_is_not_found(client, shop_with_customers):
    assert client.get("/demo/store/demo.sandbox.test?customer=nobody").status_code == 404
    assert client.get("/demo/store/nowhere.sandbox.test").status_code == 404


def test_a_shop_without_a_storefront_secret_shows_the_page_without_the_widget(app, client, db):
    with db.uow() as session:
        storefront_shop(session, app, "plain.sandbox.test", secret=None)
        session.commit()
    response = client.get("/demo/store/plain.sandbox.test")
    assert response.status_code == 200
    assert "loader.js" not in response.get_data(as_text=True)


def test_a_browser_asking_for_an_unknown_shop_gets_a_page_saying_so(client, shop_with_customers):
    page = client.get("/demo/store/nowhere.sandbox.test", headers={"Accept": "text/html", "Accept-Language": "pl"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Nie znaleziono" in html and "Żaden zainstalowany sklep nie ma tej domeny." in html
    api = client.get("/demo/store/nowhere.sandbox.test?lang=en", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.get_json()["detail"] == "No installed shop has that domain."
