"""The "earn N points" blocks: the Shopify theme app block and the WordPress plugin's hooks mark the
place of the "earn" inline widget with the amount, and the widget's endpoint answers through
Shopify's app proxy (the signature naming the shop) as through the direct API."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from plugin.storefront.widgets import registered
from tests.factories import make_shop
from tests.loyalty_support import program_on
from tests.shopify_auth_support import SHOP, proxy_query, shopify_app
from tests.wordpress_support import run_storefront

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "adapters" / "shopify" / "extension"
BLOCK = EXTENSION / "blocks" / "storecare-earn.liquid"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


def test_the_earn_widget_is_an_inline_widget_of_the_loyalty_feature(app):
    earn = {entry.widget.name: entry for entry in registered(app)}["earn"]
    assert earn.feature == "loyalty" and earn.widget.mount == "inline" and earn.enabled is not None


def test_the_shopify_block_marks_the_widgets_place_with_the_price_or_the_cart_total():
    text = BLOCK.read_text(encoding="utf-8")
    schema = json.loads(re.search(r"{% schema %}(.*?){% endschema %}", text, re.S).group(1))
    assert schema["target"] == "section"
    div = re.search(r"<div\b[^>]*>", text.split("endcomment")[-1], re.S).group(0)
    assert 'data-storecare-widget="earn"' in div and 'data-amount="{{ storecare_amount }}"' in div
    assert "min-height" in div  # its line is reserved: no layout shift
    assert "product.selected_or_first_available_variant.price | divided_by: 100.0" in text
    assert "cart.total_price | divided_by: 100.0" in text
    editor = {name: json.loads((EXTENSION / "locales" / name).read_text())
              for name in ("en.default.schema.json", "pl.schema.json")}
    for key in re.findall(r'"t:([\w.]+)"', text):
        group, name = key.split(".")
        assert all(editor[locale][group][name] for locale in editor), key


@pytest.mark.parametrize(("amount", "html"), [
    ("129.9", '<div class="storecare-earn" data-storecare-widget="earn" data-amount="129.90" '
              'style="min-height:1.4em"></div>'),
    ("0", ""), ("-5", ""), ('"><script>', ""),
])
def test_the_wordpress_plugin_prints_the_block_for_an_amount(amount, html):
    assert run_storefront(f"echo Storecare_Storefront::earn_block({json.dumps(amount)});",
                          home="https://shop.example.com") == html


def test_the_wordpress_plugin_hooks_the_product_page_and_the_cart():
    hooks = json.loads(run_storefront("Storecare_Storefront::init(); echo json_encode($GLOBALS['hooks']);",
                                      home="https://shop.example.com"))
    assert "woocommerce_single_product_summary" in hooks and "woocommerce_proceed_to_checkout" in hooks


def test_earn_answers_through_the_app_proxy_for_the_shop_that_signed(client, db):
    with db.uow() as session:
        shop = make_shop(session, domain=SHOP, platform="shopify", currency="EUR")
        session.commit()
        shop_id = shop.id
    program_on(db, shop_id, earn_points="2.5", earn_per="1")
    answer = client.get(f"/proxy/api/v1/loyalty/earn?{proxy_query(amount='12.99')}")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"amount": "12.99", "points": 32, "currency": "EUR", "point_name": ""}
    program_on(db, shop_id, enabled=False)
    assert client.get(f"/proxy/api/v1/loyalty/earn?{proxy_query(amount='12.99')}").status_code == 404
