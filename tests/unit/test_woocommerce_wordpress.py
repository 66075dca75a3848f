"""The WordPress plugin: every PHP file lints, and what its PHP signs is what our Python checks.

These run php (Debian's php-cli). Without it they are skipped on a developer's machine, but in CI
(CI set) a missing php is a failure: the plugin must not ship unchecked.
"""
from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.woocommerce.auth import store_key
from plugin.security import sign_wordpress_sign_in
from plugin.shops.woocommerce_wordpress import wordpress_config_php
from plugin.storefront.identity import TokenClaims, encode_token, verify_token
from tests.wordpress_support import php

PLUGIN = Path(__file__).resolve().parents[2] / "adapters" / "woocommerce" / "wordpress" / "storecare"
SIGNING = PLUGIN / "includes" / "class-storecare-signing.php"
SECRET = "0123456789abcdef" * 4


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
                                  "http://shop.example.com:8080/", "http://127.0.0.1/", "https://multi.example.com/storeA/",
                                  "https://multi.example.com/storeB", "http://multi.example.com:8080/a/b//",
                                  "https://example.com/sklep%20ceramiki/", "https://example.com/kłody/",
                                  "https://example.com/a%2Fb/c+d/", "https://example.com/~anna/"])
def test_the_plugin_names_its_shop_as_webhooks_and_the_connect_flow_do(home):
    assert run_php("echo Storecare_Signing::shop_domain($argv[1]);", home) == store_key(home)


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


# -- deleting Storecare's keys (includes/class-storecare-keys.php and its REST route) --------------------

KEYS = PLUGIN / "includes" / "class-storecare-keys.php"
STOREFRONT = PLUGIN / "includes" / "class-storecare-storefront.php"
# Just enough of WordPress for the key route: $wpdb over an array of woocommerce_api_keys rows, the
# current user and what they may edit, and WP_REST_Response.
FAKE_WORDPRESS = r"""
define('ARRAY_A', 'ARRAY_A');
final class Fake_Db {
    public $prefix = 'wp_';
    public $rows;
    public $deleted = array();
    public function __construct($rows) { $this->rows = $rows; }
    public function prepare($query, ...$args) { return vsprintf($query, array_map('intval', $args)); }
    public function get_row($query, $output) {
        if (ARRAY_A !== $output || !preg_match('/FROM wp_woocommerce_api_keys WHERE key_id = (\d+)$/', $query, $m)) {
            throw new Exception('unexpected query: ' . $query);
        }
        foreach ($this->rows as $row) { if ((int) $row['key_id'] === (int) $m[1]) { return $row; } }
        return null;
    }
    public function delete($table, $where, $format) {
        if ('wp_woocommerce_api_keys' !== $table || array('%d') !== $format) { throw new Exception('unexpected delete'); }
        $this->rows = array_values(array_filter($this->rows, function ($r) use ($where) { return (int) $r['key_id'] !== $where['key_id']; }));
        $this->deleted[] = $where['key_id'];
        return 1;
    }
}
class WP_REST_Response {
    public $data; public $headers = array();
    public function __construct($data) { $this->data = $data; }
    public function header($name, $value) { $this->headers[$name] = $value; }
}
function get_current_user_id() { return $GLOBALS['user']; }
function current_user_can($capability, ...$args) {
    return 'edit_user' === $capability && in_array($args[0], $GLOBALS['editable'], true);
}
function storecare_app_name() { return 'Storecare'; }
$GLOBALS['wpdb'] = new Fake_Db(array(
    array('key_id' => '7', 'user_id' => '1', 'description' => 'Storecare - API (2026-01-15 12:00:00)'),
    array('key_id' => '8', 'user_id' => '2', 'description' => 'Storecare - API (2026-01-16 09:00:00)'),
    array('key_id' => '9', 'user_id' => '1', 'description' => 'Zapier - API (2026-01-10 08:00:00)'),
));
"""


def revoke_through_the_route(key_id: int, user: int, editable: tuple[int, ...] = ()) -> dict:
    code = (f"require {str(KEYS)!r}; require {str(STOREFRONT)!r}; {FAKE_WORDPRESS}"
            f"$GLOBALS['user'] = {user}; $GLOBALS['editable'] = array({', '.join(map(str, editable))});"
            f"$response = Storecare_Storefront::revoke_key(array('key_id' => {key_id}));"
            "echo json_encode(array('data' => $response->data, 'headers' => $response->headers,"
            " 'deleted' => $GLOBALS['wpdb']->deleted, 'left' => array_column($GLOBALS['wpdb']->rows, 'key_id')));")
    return json.loads(run_php(code))


@pytest.mark.parametrize(("key_id", "user", "editable", "status", "left"), [
    (7, 1, (), "revoked", ["8", "9"]),  # the caller's own Storecare key
    (8, 1, (2,), "revoked", ["7", "9"]),  # another user's, whom the caller may edit (an administrator)
    (8, 1, (), "refused", ["7", "8", "9"]),  # another user's, whom the caller may not edit (a shop manager)
    (9, 1, (), "refused", ["7", "8", "9"]),  # the caller's, but not one WooCommerce made for Storecare
    (42, 1, (), "absent", ["7", "8", "9"]),  # already deleted in WooCommerce
    (0, 1, (), "refused", ["7", "8", "9"]),
])
def test_the_plugins_route_deletes_only_storecares_keys_the_caller_may_revoke(key_id, user, editable, status, left):
    answer = revoke_through_the_route(key_id, user, editable)

    assert answer["data"] == {"key_id": key_id, "status": status}
    assert answer["left"] == left and answer["deleted"] == ([key_id] if status == "revoked" else [])
    assert answer["headers"] == {"Cache-Control": "no-store, private"}


def test_the_plugin_registers_the_key_route_for_key_holders_who_manage_woocommerce():
    code = (f"require {str(STOREFRONT)!r}; $routes = array(); $caps = array();"
            "function register_rest_route($namespace, $route, $args) { $GLOBALS['routes'][$namespace . $route] = $args; }"
            "function current_user_can($capability) { return in_array($capability, $GLOBALS['caps'], true); }"
            "Storecare_Storefront::routes(); $route = $routes['wc-storecare/v1/keys/revoke'];"
            "$denied = call_user_func($route['permission_callback']); $caps = array('manage_woocommerce');"
            "echo json_encode(array($route['methods'], $route['args'], $denied,"
            " call_user_func($route['permission_callback'])));")

    methods, args, denied, allowed = json.loads(run_php(code))

    assert methods == "POST" and args == {"key_id": {"required": True, "type": "integer", "minimum": 1}}
    assert (denied, allowed) == (False, True)


# -- the hello to Storecare (includes/class-storecare-connection.php) ------------------------------------

CONNECTION = PLUGIN / "includes" / "class-storecare-connection.php"


def hello_request(app_url: str, home_url: str) -> dict:
    return json.loads(run_php(f"require {str(CONNECTION)!r}; echo json_encode("
                              "Storecare_Connection::hello_request($argv[1], $argv[2]));", app_url, home_url))


def test_the_plugins_hello_posts_only_its_home_url_to_storecare_without_waiting():
    request = hello_request("https://app.example.com/", "https://multi.example.com/storeB/")

    assert request == {"url": "https://app.example.com/connect/woocommerce/hello",
                       "args": {"timeout": 5, "blocking": False, "headers": {"Accept": "application/json"},
                                "body": {"store_url": "https://multi.example.com/storeB/"}}}


SAY_HELLO = r"""
define('STORECARE_OPTION_CONNECTED', 'storecare_connected_at');
$options = array(); $transients = array(); $posts = array();
function get_option($name, $default = false) { return $GLOBALS['options'][$name] ?? $default; }
function get_transient($name) { return $GLOBALS['transients'][$name] ?? false; }
function set_transient($name, $value, $ttl) { $GLOBALS['transients'][$name] = $ttl; return true; }
function wp_remote_post($url, $args) { $GLOBALS['posts'][] = array($url, $args['body']); return array(); }
function home_url($path) { return 'https://multi.example.com/storeB' . $path; }
function storecare_app_url() { return $GLOBALS['app']; }
function storecare_allows_http() { return false; }
"""


@pytest.mark.parametrize(("setup", "said", "posts"), [
    ("$app = 'https://app.example.com';", [True, True],
     [["https://app.example.com/connect/woocommerce/hello", {"store_url": "https://multi.example.com/storeB/"}]]),
    ("$app = 'https://app.example.com'; $options['storecare_connected_at'] = 1768478400;", [False, False], []),
    ("$app = 'http://app.example.com';", [False, False], []),  # only over https
])
def test_the_settings_page_says_hello_once_a_minute_while_not_connected(setup, said, posts):
    code = (f"require {str(CONNECTION)!r}; {SAY_HELLO} {setup}"
            "$said = array(Storecare_Connection::say_hello(), Storecare_Connection::say_hello());"
            "echo json_encode(array($said, $posts, array_values($transients)));")

    answer, sent, throttled = json.loads(run_php(code))

    assert (answer, sent) == (said, posts)
    assert throttled == ([60] if posts else [])
