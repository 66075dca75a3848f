"""Login links: signed with the app's secret for one purpose, valid for ten minutes, each one unique."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from plugin.admin.auth import (
    LOGIN_MAX_AGE,
    LOGIN_SALT,
    LoginExpired,
    LoginInvalid,
    login_token,
    login_url,
    read_login_token,
)
from plugin.admin.views import bp


@pytest.fixture
def app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "unit-test-secret-key-unit-test-secret-key"
    app.register_blueprint(bp)
    return app


def _token_signed_at(app, seconds_ago: int, payload=None) -> str:
    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=LOGIN_SALT, signer=Then)
    return serializer.dumps({"shop_id": 7, "nonce": "n" * 22} if payload is None else payload)


def test_login_url_is_the_auth_path_with_a_token_for_the_shop(app):
    with app.app_context():
        url = login_url(7)

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("", "", "/admin/auth")
    assert read_login_token(parse_qs(parts.query)["token"][0], app=app).shop_id == 7


def test_login_url_needs_no_request(app):
    assert login_url(7, app=app).startswith("/admin/auth?token=")


def test_every_link_is_a_different_single_use_link(app):
    first, second = (read_login_token(login_token(7, app=app), app=app) for _ in range(2))

    assert first.shop_id == second.shop_id == 7
    assert first.single_use.kind == "login" and first.single_use.identity != second.single_use.identity


def test_a_link_is_spent_until_it_would_have_expired_anyway(app):
    link = read_login_token(_token_signed_at(app, 100), app=app)

    remaining = link.single_use.expires_at - datetime.now(UTC)
    assert timedelta(seconds=LOGIN_MAX_AGE - 102) < remaining <= timedelta(seconds=LOGIN_MAX_AGE - 100)


def test_a_token_lives_ten_minutes(app):
    assert read_login_token(_token_signed_at(app, LOGIN_MAX_AGE - 30), app=app).shop_id == 7
    with pytest.raises(LoginExpired):
        read_login_token(_token_signed_at(app, LOGIN_MAX_AGE + 1), app=app)


@pytest.mark.parametrize("make", [
    lambda app: URLSafeTimedSerializer("another-secret", salt=LOGIN_SALT).dumps({"shop_id": 7, "nonce": "n" * 22}),
    lambda app: URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other").dumps({"shop_id": 7, "nonce": "n" * 22}),
    lambda app: login_token(7, app=app)[:-2] + "xx",
    lambda app: _token_signed_at(app, 0, payload={"shop_id": "7"}),
    lambda app: _token_signed_at(app, 0, payload={"shop_id": True}),
    lambda app: _token_signed_at(app, 0, payload=[7]),
    lambda app: _token_signed_at(app, 0, payload={"shop_id": 7}),
    lambda app: _token_signed_at(app, 0, payload={"shop_id": 7, "nonce": "short"}),
    lambda app: "",
], ids=["other-secret", "other-salt", "tampered", "string-id", "bool-id", "not-a-dict", "no-nonce", "short-nonce",
        "empty"])
def test_tokens_we_did_not_make_for_signing_in_are_invalid(app, make):
    with pytest.raises(LoginInvalid):
        read_login_token(make(app), app=app)
