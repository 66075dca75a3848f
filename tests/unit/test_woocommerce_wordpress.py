"""The WordPress plugin: every PHP file lints, and what its PHP signs is what our Python checks.

These run php (Debian's php-cli). Without it they are skipped on a developer's machine, but in CI
(CI set) a missing php is a failure: the plugin must not ship unchecked.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.woocommerce.auth import domain_of
from plugin.security import sign_wordpress_sign_in
from plugin.shops.woocommerce import wordpress_config_php
from plugin.storefront.identity import TokenClaims, encode_token, verify_token

PLUGIN = Path(__file__).resolve().parents[2] / "adapters" / "woocommerce" / "wordpress" / "storecare"
SIGNING = PLUGIN / "includes" / "class-storecare-signing.php"
SECRET = "0123456789abcdef" * 4


def php() -> str:
    found = shutil.which("php")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("php is required in CI to check the WordPress plugin (apt-get install -y php-cli)")
    pytest.skip("php is not installed here (apt-get install -y php-cli); CI runs these")


def run_php(code: str, *args: str) -> str:
    prelude = f"define('ABSPATH', '/'); require {str(SIGNING)!r};"
    done = subprocess.run([php(), "-r", prelude + code, "--", *args], capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([php(), "-l", str(path)], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("path", sorted(PLUGIN.rglob("*.php")), ids=lambda p: p.relative_to(PLUGIN).as_posix())
def test_every_php_file_of_the_plugin_lints(path):
    done = lint(path)

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_generated_config_lints_even_with_quotes_in_the_address(tmp_path):
    config = tmp_path / "config.php"
    config.write_text(wordpress_config_php("https://app.example.com/it's\\here/"))

    assert lint(config).returncode == 0
    assert run_php(f"require {str(config)!r}; echo STORECARE_DEFAULT_APP_URL;") == "https://app.example.com/it's\\here"


def test_a_broken_php_file_fails_the_lint(tmp_path):
    broken = tmp_path / "broken.php"
    broken.write_text("<?php echo 'unterminated;\n")

    assert lint(broken).returncode != 0


@pytest.mark.parametrize(("domain", "customer"), [("shop.example.com", "42"), ("127.0.0.1:8080", ""),
                                                  ("xn--bcher-kva.example", "1234567")])
def test_the_php_shopper_token_is_exactly_the_python_one_and_verifies(domain, customer):
    expires = int(datetime(2026, 1, 15, 12, 5, tzinfo=UTC).timestamp())

    token = run_php("echo Storecare_Signing::shopper_token($argv[1], $argv[2], $argv[3], (int) $argv[4]);",
                    SECRET, domain, customer, str(expires))

    claims = TokenClaims(domain, customer or None, datetime.fromtimestamp(expires, UTC))
    assert token == encode_token(SECRET, claims)
    assert verify_token(SECRET, token, now=datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) == claims


def test_the_php_admin_link_is_signed_as_security_py_checks():
    link = run_php("echo Storecare_Signing::admin_link($argv[1], $argv[2], $argv[3], (int) $argv[4]);",
                   "https://app.example.com/", SECRET, "shop.example.com:8443", "1768478400")

    assert link == ("https://app.example.com/admin/auth/woocommerce?shop=shop.example.com%3A8443&ts=1768478400"
                    f"&sig={sign_wordpress_sign_in(SECRET, 'shop.example.com:8443', '1768478400')}")


@pytest.mark.parametrize("home", ["https://Shop.Example.com/", "https://shop.example.com:443/store/",
                                  "http://shop.example.com:8080/", "http://127.0.0.1/"])
def test_the_plugin_names_its_shop_as_webhooks_and_the_connect_flow_do(home):
    assert run_php("echo Storecare_Signing::shop_domain($argv[1]);", home) == domain_of(home)


def test_new_secrets_are_64_hex_characters_and_differ():
    first, second = run_php("echo Storecare_Signing::new_secret(), ' ', Storecare_Signing::new_secret();").split()

    assert first != second and len(first) == 64 and int(first, 16) >= 0


# -- the storefront: what a guest's page and a signed-in shopper's get (tests/wordpress_support.py)

def test_the_nonce_request_answers_a_guest_with_nothing_and_a_signed_in_shopper_with_the_rest_nonce():
    from tests.wordpress_support import NONCE, nonce_answer

    assert nonce_answer(home="https://shop.example") == ""  # 200, empty: the loader knows it is a guest
    assert nonce_answer(home="https://shop.example", logged_in=True) == NONCE


def test_the_nonce_action_is_registered_for_guests_as_well_as_for_signed_in_users():
    """WordPress's own rest-nonce action exists only for signed-in users: a guest got 400 "0"."""
    from tests.wordpress_support import run_storefront

    hooks = json.loads(run_storefront("Storecare_Storefront::init(); echo json_encode($GLOBALS['hooks']);",
                                      home="https://shop.example"))

    assert {"wp_ajax_storecare_nonce", "wp_ajax_nopriv_storecare_nonce"} <= set(hooks)


@pytest.mark.parametrize(("myaccount", "login"), [(True, "https://shop.example/my-account/"),
                                                  (False, "https://shop.example/wp-login.php")])
def test_the_loader_tag_says_where_to_sign_in_and_asks_our_nonce_action(myaccount, login):
    from tests.wordpress_support import loader_tag

    tag = loader_tag("https://app.test/static/loader.js", home="https://shop.example", myaccount=myaccount)

    assert f'data-storecare-login-url="{login}"' in tag
    assert 'data-storecare-nonce-url="https://shop.example/wp-admin/admin-ajax.php?action=storecare_nonce"' in tag
    assert "data-storecare-token=" not in tag and "data-storecare-signed-in" not in tag  # the same for everyone
