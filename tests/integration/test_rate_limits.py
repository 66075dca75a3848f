"""Rate limits on SQLite and PostgreSQL (counters in memory, as in the demo): the storefront per shop
and shopper, sign-in, connect and lookup per address; a breach is a 429 problem with Retry-After, and a
page in the admin for a browser."""
from __future__ import annotations

import pytest

from plugin import create_app
from plugin.models import metadata
from plugin.settings import Settings
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from tests.factories import make_customer, make_shop

PROBLEM = "application/problem+json"
RATE_LIMITED = "urn:storecare:problem:rate-limited"


@pytest.fixture
def app(settings_with):
    app = create_app(settings_with(rate_limit_storefront="3/minute", rate_limit_sign_in="2/minute",
                                   rate_limit_connect="2/minute", rate_limit_lookup="2/minute"))
    app.config["TESTING"] = True
    metadata.create_all(app.extensions["storecare.db"].engine)
    with app.app_context():
        yield app
    app.extensions["storecare.db"].dispose()


@pytest.fixture
def world(app, db):
    with db.uow() as session:
        shop = make_shop(session, domain="a.sandbox.test")
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "storefront-secret-" + "0" * 16})
        anna, bob = make_customer(session, shop), make_customer(session, shop)
        session.commit()
        return {"shop": shop, "anna": anna, "bob": bob}


def assert_rate_limited(response):
    assert response.status_code == 429 and response.mimetype == PROBLEM
    assert response.get_json()["type"] == RATE_LIMITED
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def orders(client, world, who, address="198.51.100.7"):
    return client.get("/storefront/api/v1/orders", environ_overrides={"REMOTE_ADDR": address},
                      headers={TOKEN_HEADER: issue_shopper_token(world["shop"], world[who].platform_id)})


def test_the_storefront_is_limited_per_shopper_across_its_endpoints(client, world):
    assert [orders(client, world, "anna").status_code for _ in range(2)] == [200, 200]
    me = client.get("/storefront/api/v1/me",
                    headers={TOKEN_HEADER: issue_shopper_token(world["shop"], world["anna"].platform_id)})
    assert me.status_code == 200  # the third of Anna's requests, on another endpoint

    assert_rate_limited(orders(client, world, "anna"))
    assert orders(client, world, "bob").status_code == 200  # from the same address: counted apart


def test_the_storefront_counts_requests_naming_nobody_per_address(client, world):
    for _ in range(3):
        assert client.get("/storefront/api/v1/me", environ_overrides={"REMOTE_ADDR": "203.0.113.9"}).status_code == 401

    assert_rate_limited(client.get("/storefront/api/v1/me", environ_overrides={"REMOTE_ADDR": "203.0.113.9"}))
    assert orders(client, world, "anna", address="203.0.113.9").status_code == 200


def test_sign_in_links_are_limited_per_address(client):
    for _ in range(2):
        assert client.get("/admin/auth?token=forged", headers={"Accept": "application/json"}).status_code == 401

    assert_rate_limited(client.get("/admin/auth/woocommerce?shop=x", headers={"Accept": "application/json"}))
    other = client.get("/admin/auth?token=forged", headers={"Accept": "application/json"},
                       environ_overrides={"REMOTE_ADDR": "192.0.2.44"})
    assert other.status_code == 401


def test_a_browser_over_the_sign_in_limit_gets_a_page_saying_when_to_try_again(client):
    for _ in range(2):
        client.get("/admin/auth?token=forged", headers={"Accept": "text/html"})

    page = client.get("/admin/auth?token=forged", headers={"Accept": "text/html", "Accept-Language": "pl"})

    assert page.status_code == 429 and page.mimetype == "text/html"
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    assert "Zbyt wiele żądań" in page.get_data(as_text=True)


def test_the_wordpress_plugins_connect_calls_are_limited_per_address(client):
    hello = [client.post("/connect/woocommerce/hello", json={"store_url": "https://shop.example"}).status_code
             for _ in range(2)]
    assert hello == [202, 202]

    assert_rate_limited(client.post("/connect/woocommerce/start", json={"store_url": "https://shop.example"}))


def test_connection_lookups_are_limited_per_address(client):
    for _ in range(2):
        assert client.get("/connect/woocommerce/go?user_id=guess").status_code != 429

    assert_rate_limited(client.get("/connect/woocommerce/return?user_id=guess",
                                   headers={"Accept": "application/json"}))


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(settings_with, tmp_path):
    app = create_app(settings_with(rate_limit_sign_in="1/minute", forwarded_hops=1))
    metadata.create_all(app.extensions["storecare.db"].engine)
    client = app.test_client()
    try:
        first = client.get("/admin/auth?token=x", headers={"X-Forwarded-For": "192.0.2.1"})
        second = client.get("/admin/auth?token=x", headers={"X-Forwarded-For": "192.0.2.2"})
        third = client.get("/admin/auth?token=x", headers={"X-Forwarded-For": "192.0.2.2"})
    finally:
        app.extensions["storecare.db"].dispose()

    assert (first.status_code, second.status_code, third.status_code) == (401, 401, 429)


def test_limits_can_be_turned_off(settings_with):
    app = create_app(settings_with(rate_limit_sign_in="1/minute", rate_limits_enabled=False))
    metadata.create_all(app.extensions["storecare.db"].engine)
    client = app.test_client()
    try:
        statuses = {client.get("/admin/auth?token=x").status_code for _ in range(3)}
    finally:
        app.extensions["storecare.db"].dispose()

    assert statuses == {401}


def test_a_limit_that_does_not_parse_stops_start_up_naming_it():
    from plugin.settings import SettingsError

    with pytest.raises(SettingsError, match="STORECARE_RATE_LIMIT_STOREFRONT: 'lots' is not a rate limit"):
        Settings.from_env({"STORECARE_ENV": "demo", "STORECARE_RATE_LIMIT_STOREFRONT": "lots"})


def test_in_production_the_counters_are_in_redis_shared_by_every_process(settings_with):
    import uuid

    redis = "redis://127.0.0.1:6379/15"
    assert Settings(env="production", redis_url=redis).rate_limit_storage_uri == redis
    assert Settings(env="demo", redis_url=redis).rate_limit_storage_uri == "storecare-memory://"
    apps = [create_app(settings_with(rate_limit_storage=redis, rate_limit_sign_in="1/minute")) for _ in range(2)]
    address = f"test-{uuid.uuid4().hex}"  # a counter of this test's own
    try:
        for app in apps:
            metadata.create_all(app.extensions["storecare.db"].engine)
        first, second = (app.test_client().get("/admin/auth?token=x", environ_overrides={"REMOTE_ADDR": address})
                         for app in apps)
    finally:
        for app in apps:
            app.extensions["storecare.db"].dispose()

    assert first.status_code == 401
    assert_rate_limited(second)  # the second process (another gunicorn worker) sees the first one's count


def test_the_memory_storage_counts_from_many_threads_without_starting_its_timer_twice():
    """Threads hitting the storage as its expiry timer stops used to start one timer twice: a
    RuntimeError in the request (a 500) or a KeyError in the timer's thread."""
    import sys
    import threading
    import time

    from plugin.rate_limits import LockedMemoryStorage

    storage, errors = LockedMemoryStorage(), []
    ignored = []
    barrier = threading.Barrier(16)
    previous_hook, previous_interval = sys.unraisablehook, sys.getswitchinterval()
    sys.unraisablehook = lambda report: ignored.append(report.exc_value)  # a timer thread's own error
    sys.setswitchinterval(1e-6)  # threads switch as often as CPython allows: the race's window

    def hit():
        for n in range(150):
            barrier.wait()
            try:
                storage.incr(f"k{n % 7}", 60)
            except RuntimeError as exc:
                errors.append(exc)
            if n % 10 == 0:
                time.sleep(0.02)  # the timer runs out: the next hits all find it stopped

    threads = [threading.Thread(target=hit) for _ in range(16)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.unraisablehook, _ = previous_hook, sys.setswitchinterval(previous_interval)
    assert (errors, ignored) == ([], [])
    assert sum(storage.get(f"k{n}") for n in range(7)) == 16 * 150  # every hit counted


def test_with_redis_unreachable_the_counters_fall_back_to_memory_and_still_limit(settings_with, caplog):
    """Redis down must neither refuse everyone (a 500 for every request) nor let everyone through."""
    app = create_app(settings_with(rate_limit_storage="redis://127.0.0.1:1/0", rate_limit_sign_in="2/minute"))
    metadata.create_all(app.extensions["storecare.db"].engine)
    client = app.test_client()
    try:
        statuses = [client.get("/admin/auth?token=x").status_code for _ in range(3)]
    finally:
        app.extensions["storecare.db"].dispose()

    assert statuses == [401, 401, 429]
    assert "counting in this process's memory" in caplog.text


def test_the_memory_storage_starts_a_window_again_once_it_ended_and_sweeps_keys_nobody_counts():
    import time

    from plugin.rate_limits import LockedMemoryStorage

    storage = LockedMemoryStorage()
    storage.SWEEP_SECONDS = 0
    assert [storage.incr("a", 0.05), storage.incr("a", 0.05), storage.incr("gone", 0.05)] == [1, 2, 1]
    time.sleep(0.1)  # both windows have ended
    assert storage.incr("a", 60) == 1
    assert "gone" not in storage.storage and "gone" not in storage.expirations
