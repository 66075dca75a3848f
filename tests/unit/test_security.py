import base64
import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet

from plugin.security import (
    InvalidSignature,
    SecurityError,
    TokenVault,
    sign_base64,
    verify_base64_hmac,
    verify_hex_hmac,
)


def test_base64_webhook_signature_round_trip_and_tamper():
    body = b'{"id": 1}'
    signature = sign_base64("s3cret", body)
    assert signature == base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    verify_base64_hmac("s3cret", body, signature)
    for bad_body, bad_sig in [(b'{"id": 2}', signature), (body, sign_base64("other", body)), (body, "not base64!"),
                              (body, ""), (body, None)]:
        with pytest.raises(InvalidSignature):
            verify_base64_hmac("s3cret", bad_body, bad_sig)


def test_hex_hmac_matches_shopifys_documented_example():
    # shopify.dev's OAuth example: secret "hush" over the sorted query string.
    message = b"code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"
    verify_hex_hmac("hush", message, "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf")
    with pytest.raises(InvalidSignature):
        verify_hex_hmac("hush", message + b"x", "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf")


def test_vault_encrypts_and_rotates_keys():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = TokenVault([old]).encrypt({"access_token": "shpat_123"})
    assert "shpat_123" not in token
    both = TokenVault([new, old])
    assert both.decrypt(token) == {"access_token": "shpat_123"}
    rotated = both.rotate(token)
    assert TokenVault([new]).decrypt(rotated) == {"access_token": "shpat_123"}
    with pytest.raises(SecurityError, match="cannot be decrypted"):
        TokenVault([new]).decrypt(token)


def _session_app():
    from flask import Flask, session

    from plugin.security import CookieSessionInterface

    app = Flask(__name__)
    app.secret_key = "unit-test-secret"
    app.session_interface = CookieSessionInterface()

    @app.post("/remember/<name>")
    def remember(name):
        session["name"] = name
        return "ok"

    @app.get("/who")
    def who():
        return session.get("name", "nobody")

    return app


def test_the_cookie_session_round_trips_and_a_request_without_the_cookie_gets_an_empty_one():
    client = _session_app().test_client()
    first = client.get("/who")
    assert first.text == "nobody" and "Set-Cookie" not in first.headers  # nothing to sign, nothing sent
    assert "Set-Cookie" in client.post("/remember/ada").headers
    assert client.get("/who").text == "ada"
    client.set_cookie("session", "forged.value.signature")  # a cookie that does not verify is an empty session
    assert client.get("/who").text == "nobody"
    other = _session_app().test_client()
    other.set_cookie("unrelated", "x")  # other cookies alone do not open a session
    assert other.get("/who").text == "nobody"
