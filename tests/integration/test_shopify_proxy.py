"""Shopify's app proxy (/apps/storecare on the storefront -> our /proxy), on SQLite and PostgreSQL: the
signature is the only identity it trusts; forged, expired, foreign or other-shop requests get 401 and
no data. Also the theme app extension, which ships the loader to Shopify's CDN, and the widget manifest
through the proxy."""
from __future__ import annotations

import json
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from plugin.db import utcnow
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from tests.factories import make_customer, make_order, make_shop
from tests.shopify_auth_support import OTHER_SHOP, SHOP, proxy_query, shopify_app

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "adapters" / "shopify" / "extension"
ME, ORDERS = "/proxy/api/v1/me", "/proxy/api/v1/orders"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def world(app, db):
    """Shop A and shop B on Shopify, each with a customer whose Shopify id is 1001; shop C uninstalled."""
    with db.uow() as session:
        a = make_shop(session, domain=SHOP, platform="shopify", name="Shop A")
        b = make_shop(session, domain=OTHER_SHOP, platform="shopify", name="Shop B")
        c = make_shop(session, domain="gone-shop.myshopify.com", platform="shopify", status="uninstalled")
        anna = make_customer(session, a, first_name="Anna")
        twin = make_customer(session, b, first_name="Twin")
        anna.platform_id = twin.platform_id = "1001"
        gone = make_customer(session, c, first_name="Gone")
        gone.platform_id = "1001"
        a_orders = [make_order(session, a, anna, total=f"{10 + i}.00") for i in range(3)]
        b_order = make_order(session, b, twin, total="77.00")
        session.commit()
        return {"a_numbers": {o.number for o in a_orders}, "b_number": b_order.number}


def get(client, path, query, **headers):
    return client.get(f"{path}?{query}", headers={"Accept": "application/json", **headers})


def test_a_signed_request_identifies_the_logged_in_customer(client, world):
    me = get(client, ME, proxy_query(customer="1001", locale="en"))
    assert me.status_code == 200
    assert me.get_json()["shopper"] == {"guest": False, "first_name": "Anna"}
    assert me.get_json()["shop"]["name"] == "Shop A"
    orders = get(client, ORDERS, proxy_query(customer="1001"))
    assert orders.status_code == 200
    assert {o["number"] for o in orders.get_json()["orders"]} == world["a_numbers"]


def test_a_guest_is_a_guest_and_has_no_orders(client, world):
    assert get(client, ME, proxy_query(customer="")).get_json()["shopper"] == {"guest": True, "first_name": None}
    response = get(client, ORDERS, proxy_query(customer=""))
    assert response.status_code == 401
    assert response.get_json()["type"] == "urn:storecare:problem:sign-in-required"


def test_the_same_customer_id_in_another_shop_reads_that_shops_data_only(client, world):
    response = get(client, ORDERS, proxy_query(shop=OTHER_SHOP, customer="1001"))
    assert [o["number"] for o in response.get_json()["orders"]] == [world["b_number"]]


def forged(query: str) -> str:
    return query.replace("logged_in_customer_id=", "logged_in_customer_id=1001", 1)


@pytest.mark.parametrize("make_query", [
    lambda: forged(proxy_query(customer="")),  # a guest claiming to be customer 1001
    lambda: proxy_query(customer="1001").replace(SHOP, OTHER_SHOP),  # re-pointed at another shop
    lambda: proxy_query(customer="1001", secret="shpss_" + "2" * 32),  # signed by another app
    lambda: proxy_query(customer="1001", at=utcnow() - timedelta(seconds=91)),  # expired
    lambda: proxy_query(customer="1001", at=utcnow() + timedelta(seconds=120)),  # from the future
    lambda: proxy_query(customer="1001") + f"&shop={SHOP}",  # two shops
    lambda: proxy_query(customer="1001").split("&signature=")[0] + "&signature=",
    lambda: proxy_query(shop="gone-shop.myshopify.com", customer="1001"),  # uninstalled
    lambda: proxy_query(shop="evil.com", customer="1001"),
    lambda: f"shop={SHOP}&logged_in_customer_id=1001",  # not signed at all
])
@pytest.mark.parametrize("path", [ME, ORDERS])
def test_forged_expired_and_foreign_requests_get_401_and_no_data(client, world, make_query, path):
    response = get(client, path, make_query())
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    body = response.get_data(as_text=True)
    assert "Anna" not in body and "Twin" not in body and "orders" not in response.get_json()


def test_the_proxy_trusts_only_shopifys_signature_not_a_shopper_token(app, client, db, world):
    with db.uow() as session:
        sandbox = make_shop(session, domain="sandbox.test")
        sandbox.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "storefront-secret-" + "0" * 16})
        session.commit()
        token = issue_shopper_token(sandbox, "1001")
    assert client.get(ME, headers={TOKEN_HEADER: token}).status_code == 401


def test_proxy_answers_carry_no_cors_headers(client, world):
    response = get(client, ME, proxy_query(customer="1001"), Origin=f"https://{SHOP}")
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


MANIFEST = "/proxy/api/v1/manifest"


@pytest.mark.parametrize("customer", ["1001", ""])
def test_the_widget_manifest_comes_through_the_proxy_with_the_files_on_our_origin(app, client, world, customer):
    """Signed for the shop (a guest's page too: the manifest is the same for everyone); the widgets'
    files are named with our own origin, since the page is on the shop's."""
    response = get(client, MANIFEST, proxy_query(customer=customer, locale="pl"))
    assert response.status_code == 200
    assert response.cache_control.public and response.cache_control.max_age == 300
    (orders,) = response.get_json()["widgets"]
    assert orders["name"] == "orders" and orders["label"] == "Twoje zamówienia"
    assert re.fullmatch(r"https://storecare\.example/static/widgets/orders\.[0-9a-f]{12}\.js", orders["script"])
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("make_query", [
    lambda: proxy_query(customer="").split("&signature=")[0] + "&signature=",
    lambda: proxy_query(shop="gone-shop.myshopify.com"),
    lambda: f"shop={SHOP}&logged_in_customer_id=",
])
def test_an_unsigned_or_foreign_manifest_request_is_refused(client, world, make_query):
    response = get(client, MANIFEST, make_query())
    assert response.status_code == 401 and "widgets" not in response.get_json()


def test_the_loader_and_widgets_are_no_longer_served_through_the_proxy(client):
    """The loader comes from Shopify's CDN (the extension's asset), the widgets from our origin."""
    assert client.get("/proxy/static/loader.js").status_code == 404


# -- the theme app extension ----------------------------------------------------------------------

def block() -> str:
    return (EXTENSION / "blocks" / "storecare-embed.liquid").read_text(encoding="utf-8")


def test_the_embed_block_is_the_one_app_yaml_names_and_targets_the_body(app):
    manifest = app.config["STORECARE_MANIFEST"]["shopify"]
    assert (EXTENSION / "blocks" / f"{manifest['theme_extension']['embed']}.liquid").is_file()
    schema = json.loads(re.search(r"{% schema %}(.*?){% endschema %}", block(), re.S).group(1))
    assert schema["target"] == "body"
    assert tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())["type"] == "theme"


def test_the_embed_loads_the_loader_async_from_shopifys_cdn_and_the_rest_through_the_proxy(app):
    proxy = app.config["STORECARE_MANIFEST"]["shopify"]["app_proxy"]
    base = f"/{proxy['prefix']}/{proxy['subpath']}"
    assert proxy["path"] == "/proxy"
    tag = re.search(r"<script\b[^>]*>", block(), re.S).group(0)
    assert re.search(r"\sasync\b", tag) and "src=\"{{ 'loader.js' | asset_url }}\"" in tag
    assert f'data-storecare-api="{base}/api/v1"' in tag
    assert f'data-storecare-manifest="{base}/api/v1/manifest"' in tag
    loader = (ROOT / "static" / "loader.js").read_text(encoding="utf-8")
    read = set(re.findall(r"ds\.storecare([A-Z]\w*)", loader)) | {  # and what it finds its own tag by
        "".join(part.title() for part in name.split("-")) for name in re.findall(r"\[data-storecare-([a-z-]+)\]", loader)}
    written = {"".join(part.title() for part in name.split("-"))  # as dataset names them: login-url -> LoginUrl
               for name in re.findall(r"data-storecare-([a-z-]+)=", tag)}
    assert {"Shop", "Api", "Manifest", "Locale", "LoginUrl", "SignedIn"} <= written <= read | {"Token"}
    assert 'data-storecare-signed-in="{{ storecare_signed_in }}"' in tag and "if customer" in block()
    assert "data-storecare-token" not in tag  # the proxy signs each call: no token in a cacheable page
    assert "script_tag" not in block().lower() and "scripttag" not in block().lower()


def test_the_extension_ships_the_loader_exactly_as_static_has_it():
    """Shopify's CDN serves the extension's copy; `make extension` makes it after a loader change."""
    shipped = EXTENSION / "assets" / "loader.js"
    assert shipped.read_bytes() == (ROOT / "static" / "loader.js").read_bytes(), "run `make extension`"
    assert sorted(p.name for p in (EXTENSION / "assets").iterdir()) == ["loader.js"]


def test_the_extension_locales_match_each_other_and_the_keys_the_block_uses():
    def keys(data, prefix=""):
        return {k for key, value in data.items()
                for k in (keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key})}

    locales = EXTENSION / "locales"
    storefront = {p.name: json.loads(p.read_text()) for p in (locales / "en.default.json", locales / "pl.json")}
    editor = {p.name: json.loads(p.read_text()) for p in (locales / "en.default.schema.json",
                                                           locales / "pl.schema.json")}
    assert len({frozenset(keys(data)) for data in storefront.values()}) == 1
    assert len({frozenset(keys(data)) for data in editor.values()}) == 1
    assert storefront["pl.json"]["storecare"]["widget_locale"] == "pl"
    assert storefront["en.default.json"]["storecare"]["widget_locale"] == "en"
    assert set(re.findall(r"'([\w.]+)' \| t\b", block())) <= keys(storefront["en.default.json"])
    assert set(re.findall(r'"t:([\w.]+)"', block())) <= keys(editor["en.default.schema.json"])


# -- a feature's endpoints through the proxy -------------------------------------------------------

def test_a_features_post_through_the_proxy_acts_once_per_idempotency_key(app, client, db, world):
    from sqlalchemy import func, select

    from plugin.features import install_features
    from plugin.jobs.models import JobRun

    install_features(app, ("tests.example_feature",))
    headers = {"Idempotency-Key": "proxy-key-0001", "Accept": "application/json"}

    first = client.post(f"/proxy/api/v1/example/wishes?{proxy_query(customer='1001')}", json={"text": "a pony"},
                        headers=headers)
    again = client.post(f"/proxy/api/v1/example/wishes?{proxy_query(customer='1001')}", json={"text": "a pony"},
                        headers=headers)
    unsigned = client.post(f"/proxy/api/v1/example/wishes?shop={SHOP}&logged_in_customer_id=1001",
                           json={"text": "a pony"}, headers={**headers, "Idempotency-Key": "proxy-key-0002"})

    assert first.status_code == 201 and again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true" and unsigned.status_code == 401
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(JobRun).where(JobRun.name == "example.count")) == 1


@pytest.fixture
def limited_app(settings_with):
    yield from shopify_app(lambda **kw: settings_with(rate_limit_storefront="2/minute", **kw))


def test_the_proxy_and_the_direct_api_count_one_shopper_together(limited_app, db):
    client = limited_app.test_client()
    with db.uow() as session:
        a = make_shop(session, domain=SHOP, platform="shopify", name="Shop A")
        a.credentials_encrypted = limited_app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "storefront-secret-" + "0" * 16})
        b = make_shop(session, domain=OTHER_SHOP, platform="shopify", name="Shop B")
        for shop in (a, b):
            make_customer(session, shop).platform_id = "1001"
        session.commit()
        token = issue_shopper_token(a, "1001")

    through_proxy = get(client, ME, proxy_query(customer="1001"))
    direct = client.get("/storefront/api/v1/me", headers={TOKEN_HEADER: token})
    over = get(client, ORDERS, proxy_query(customer="1001"))
    other_shop = get(client, ME, proxy_query(shop=OTHER_SHOP, customer="1001"))

    assert (through_proxy.status_code, direct.status_code, over.status_code) == (200, 200, 429)
    assert over.mimetype == "application/problem+json" and int(over.headers["Retry-After"]) >= 1
    assert other_shop.status_code == 200  # the same customer id in another shop is another shopper
