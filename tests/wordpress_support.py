"""The WordPress plugin's storefront PHP, run with plain php against a few stand-ins for the WordPress
and WooCommerce functions it calls, so tests (and the browser tests' fake WordPress) use what the
plugin itself prints: its loader tag, its answer to the nonce request.

The stand-ins do what WordPress does for the plugin's purposes: URLs under ``home``, the WooCommerce
My account page when ``myaccount`` is set, the escaping functions, ``is_user_logged_in``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1] / "adapters" / "woocommerce" / "wordpress" / "storecare"
STOREFRONT = PLUGIN / "includes" / "class-storecare-storefront.php"
NONCE = "n0nce"  # what wp_create_nonce('wp_rest') gives the signed-in shopper here

_PRELUDE = r"""
define('ABSPATH', '/');
$GLOBALS['sc'] = json_decode($argv[1], true);
function sc($key) { return $GLOBALS['sc'][$key]; }
function add_action($hook) { $GLOBALS['hooks'][] = $hook; }
function add_filter($hook) { $GLOBALS['hooks'][] = $hook; }
function storecare_shop_domain() { return sc('domain'); }
function storecare_app_url() { return sc('app_url'); }
function determine_locale() { return sc('locale'); }
function rest_url($path) { return sc('home') . '/wp-json/' . $path; }
function admin_url($path) { return sc('home') . '/wp-admin/' . $path; }
function wp_login_url() { return sc('home') . '/wp-login.php'; }
function wc_get_page_id($page) { return ('myaccount' === $page && sc('myaccount')) ? 7 : -1; }
function wc_get_page_permalink($page) { return sc('home') . '/my-account/'; }
function esc_attr($text) { return htmlspecialchars((string) $text, ENT_QUOTES, 'UTF-8'); }
function esc_html($text) { return htmlspecialchars((string) $text, ENT_QUOTES, 'UTF-8'); }
function esc_url_raw($url) { return (string) $url; }
function is_user_logged_in() { return (bool) sc('logged_in'); }
function wp_create_nonce($action) { return 'wp_rest' === $action ? '""" + NONCE + r"""' : 'other'; }
function nocache_headers() {}
function wp_die($message = '', $title = '', $args = array()) { echo $message; exit(0); }
"""


def php() -> str:
    found = shutil.which("php")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("php is required in CI to check the WordPress plugin (apt-get install -y php-cli)")
    pytest.skip("php is not installed here (apt-get install -y php-cli); CI runs these")


def run_storefront(code: str, *, home: str, app_url: str = "https://app.storecare.test", domain: str = "",
                   locale: str = "en_US", logged_in: bool = False, myaccount: bool = True) -> str:
    """Run ``code`` (PHP) with the storefront class loaded in the stand-in WordPress; its output."""
    config = {"home": home.rstrip("/"), "app_url": app_url, "domain": domain or home.split("://", 1)[-1],
              "locale": locale, "logged_in": logged_in, "myaccount": myaccount}
    script = _PRELUDE + f"require {str(STOREFRONT)!r};\n" + code
    done = subprocess.run([php(), "-r", script, "--", json.dumps(config)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def loader_tag(loader_src: str, **kw) -> str:
    """The script tag WordPress prints for the enqueued loader, after the plugin's filter."""
    tag = f"<script src=\"{loader_src}\" id=\"storecare-loader-js\" async data-wp-strategy=\"async\"></script>"
    return run_storefront(f"echo Storecare_Storefront::tag({json.dumps(tag)}, 'storecare-loader');", **kw)


def nonce_answer(**kw) -> str:
    """What admin-ajax.php?action=storecare_nonce answers (the body), for a guest or a signed-in shopper."""
    return run_storefront("Storecare_Storefront::rest_nonce();", **kw)
