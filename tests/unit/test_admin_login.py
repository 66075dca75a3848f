"""Login links: signed with the app's secret for one purpose, valid for ten minutes."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from plugin.admin.auth import (LOGIN_MAX_AGE, LOGIN_SALT, LoginExpired, LoginInvalid, login_token, login_url,
                               read_login_token)
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
    return serializer.dumps({"shop_id": 7} if payload is None else payload)


def test_login_url_is_the_auth_path_with_a_token_for_the_shop(app):
    with app.app_context():
        url = login_url(7)

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("", "", "/admin/auth")
    assert read_login_token(parse_qs(parts.query)["token"][0], app=app) == 7


def test_login_url_needs_no_request(app):
    assert login_url(7, app=app).startswith("/admin/auth?token=")


def test_a_token_lives_ten_minutes(app):
    assert read_login_token(_token_signed_at(app, LOGIN_MAX_AGE - 30), app=app) == 7
    with pytest.raises(LoginExpired):
        read_login_token(_token_signed_at(app, LOGIN_MAX_AGE + 1), app=app)


@pytest.mark.parametrize("make", [
    lambda app: URLSafeTimedSerializer("another-secret", salt=LOGIN_SALT).dumps({"shop_id": 7}),
    lambda app: URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other").dumps({"shop_id": 7}),
    lambda app: login_token(7, app=app)[:-2] + "xx",
    lambda app: _token_signed_at(app, 0, payload={"shop_id": "7"}),
    lambda app: _token_signed_at(app, 0, payload={"shop_id": True}),
    lambda app: _token_signed_at(app, 0, payload=[7]),
    lambda app: "",
], ids=["other-secret", "other-salt", "tampered", "string-id", "bool-id", "not-a-dict", "empty"])
def test_tokens_we_did_not_make_for_signing_in_are_invalid(app, make):
    with pytest.raises(LoginInvalid):
        read_login_token(make(app), app=app)
