import base64
import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet

from plugin.security import (InvalidSignature, SecurityError, TokenVault, sign_base64, verify_base64_hmac,
                             verify_hex_hmac)


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
