"""Connecting WooCommerce stores in tests whose app settings are the point: an app of its own, production
settings with the test's resolver, and the connect flow as WooCommerce drives it (start, key handover,
return)."""
from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from tests.contract.woocommerce_kit import KEY, SECRET, ApiKey, Names, WooSimulator, WooStore

PUBLIC = "93.184.216.34"  # only ever resolved, never connected to: tests connect to 127.0.0.1 alone
NAME = "store.example"


@contextmanager
def running(settings):
    """An app of its own (its settings are the test's point). No app context is kept pushed: each
    request gets its own, as in production (flask-babel keeps the locale in it)."""
    from plugin import create_app
    from plugin.models import metadata

    app = create_app(settings)
    app.config["TESTING"] = True
    metadata.create_all(app.extensions["storecare.db"].engine)
    try:
        yield app
    finally:
        app.extensions["storecare.woocommerce_transport"].close()
        app.extensions["storecare.db"].dispose()


def production_settings(settings_with, names: Names):
    """A maker of production settings (the address rules apply) with the test's resolver."""
    def make(**changes):
        return settings_with(env="production", secret_key="x" * 40, encryption_keys=(Fernet.generate_key().decode(),),
                             app_url="https://app.example", woocommerce_resolver=names, **changes).validated()
    return make


@contextmanager
def simulated_stores():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock)


def csrf(client) -> str:
    with client.session_transaction() as sess:
        sess["csrf"] = "test-csrf"
    return "test-csrf"


def start(client, store_url: str):
    return client.post("/connect/woocommerce", data={"store_url": store_url, "csrf_token": csrf(client)})


def token_of(response) -> str:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)["user_id"][0]


def handover(token: str, key: ApiKey | None = None) -> dict:
    """What WooCommerce posts to our callback for ``token``: ``key`` (one the simulated store issued), or
    the kit's default key."""
    if key is None:
        return {"key_id": 7, "user_id": token, "consumer_key": KEY, "consumer_secret": SECRET,
                "key_permissions": "read_write"}
    return {"key_id": key.key_id, "user_id": token, "consumer_key": key.consumer_key,
            "consumer_secret": key.consumer_secret, "key_permissions": "read_write"}


def approve(client, store: WooStore, token: str, **key_options):
    """The merchant approves on /wc-auth: the store issues a key and posts it to our callback.
    Returns (the callback's answer, the key)."""
    key = store.issue_key(**key_options)
    return client.post("/connect/woocommerce/callback", json=handover(token, key)), key


def connect_store(client, store: WooStore, **key_options):
    """A whole connection from our form with a key the store issues: start, approve, come back.
    Returns (the callback's answer, the return page, the key)."""
    token = token_of(start(client, store.base_url))
    answer, key = approve(client, store, token, **key_options)
    return answer, client.get(f"/connect/woocommerce/return?success=1&user_id={token}"), key


def connect(client, store_url: str, **headers):
    """Start, hand the keys over as WooCommerce does, and come back: (callback answer, return page)."""
    token = token_of(start(client, store_url))
    answer = client.post("/connect/woocommerce/callback", json=handover(token))
    return answer, client.get(f"/connect/woocommerce/return?success=1&user_id={token}", headers=headers)


def count(db, model) -> int:
    with db.uow() as session:
        return session.scalar(select(func.count()).select_from(model))


# -- fixtures for tests whose app settings are the point (import them into the test module)

@pytest.fixture
def names() -> Names:
    return Names()


@pytest.fixture
def production(settings_with, names):
    return production_settings(settings_with, names)


@pytest.fixture
def simulator():
    with simulated_stores() as simulator:
        yield simulator
