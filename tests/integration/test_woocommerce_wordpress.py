"""The WordPress plugin against the app: its shopper token is accepted by the storefront, its signed
"Open Storecare" link signs the merchant in (and nothing else does), and the admin serves it as a zip."""
from __future__ import annotations

import io
import time
import zipfile

import pytest

from plugin.security import sign_wordpress_sign_in
from plugin.shops.service import store_credentials
from plugin.storefront.identity import ShopperTokenError, read_shopper_token
from tests.factories import make_customer, make_shop
from tests.unit.test_woocommerce_wordpress import PLUGIN, lint, run_php

SECRET = "a1b2c3d4" * 8


@pytest.fixture
def shop(db):
    with db.uow() as session:
        shop = make_shop(session, "shop.woo.test", "woocommerce")
        store_credentials(shop, {"storefront_secret": SECRET, "webhook_secret": "w" * 32})
        customer = make_customer(session, shop)
        session.commit()
        return shop.id, shop.domain, customer.platform_id, customer.id


def test_a_token_computed_by_the_plugins_php_identifies_the_shopper(db, shop):
    shop_id, domain, platform_customer_id, customer_id = shop
    token = run_php("echo Storecare_Signing::shopper_token($argv[1], $argv[2], $argv[3], time() + "
                    "Storecare_Signing::TOKEN_TTL);", SECRET, domain, platform_customer_id)

    with db.uow() as session:
        shopper = read_shopper_token(token, session=session)
        assert (shopper.shop_id, shopper.customer_id, shopper.platform_customer_id) == (
            shop_id, customer_id, platform_customer_id)
        with pytest.raises(ShopperTokenError):  # the same claims under another key are refused
            read_shopper_token(run_php("echo Storecare_Signing::shopper_token('x', $argv[1], '1', time() + 60);",
                                       domain), session=session)


def _link(domain: str, ts: int, secret: str = SECRET) -> str:
    return f"/admin/auth/woocommerce?shop={domain}&ts={ts}&sig={sign_wordpress_sign_in(secret, domain, str(ts))}"


def test_the_plugins_signed_link_signs_the_merchant_in(client, shop):
    response = client.get(_link("shop.woo.test", int(time.time())))

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/", headers={"Accept": "application/json"}).status_code == 200


@pytest.mark.parametrize(("link", "says"), [
    (lambda: _link("shop.woo.test", int(time.time()), secret="not-the-secret"), "not valid"),
    (lambda: _link("shop.woo.test", int(time.time()) - 600), "expired"),
    (lambda: _link("shop.woo.test", int(time.time()) + 600), "expired"),
    (lambda: _link("other.woo.test", int(time.time())), "not valid"),
    (lambda: "/admin/auth/woocommerce?shop=shop.woo.test&ts=abc&sig=00", "not valid"),
    (lambda: f"/admin/auth/woocommerce?shop=shop.woo.test&ts={int(time.time())}", "not valid"),
])
def test_forged_or_stale_links_sign_nobody_in(client, shop, link, says):
    response = client.get(link(), headers={"Accept": "application/json"})

    assert response.status_code == 401 and says in response.text
    assert client.get("/admin/", headers={"Accept": "application/json"}).status_code == 401


def test_the_admin_serves_the_plugin_as_a_zip_that_knows_our_address(client, tmp_path):
    response = client.get("/admin/woocommerce/storecare.zip")

    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    expected = {f"storecare/{p.relative_to(PLUGIN).as_posix()}" for p in PLUGIN.rglob("*") if p.is_file()}
    assert expected | {"storecare/config.php"} == names
    config = archive.read("storecare/config.php").decode()
    assert "define( 'STORECARE_DEFAULT_APP_URL', 'http://localhost:5000' );" in config
    (tmp_path / "config.php").write_text(config)
    assert lint(tmp_path / "config.php").returncode == 0
