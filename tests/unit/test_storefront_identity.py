"""Shopper tokens as pure functions: encode, parse, verify; identity sources tried in order."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from plugin.security import sign_hex
from plugin.storefront.identity import (
    TOKEN_HEADER,
    TOKEN_TTL,
    Shopper,
    ShopperTokenError,
    ShopperTokenExpired,
    ShopperTokenSource,
    SignInRequired,
    TokenClaims,
    encode_token,
    identify_shopper,
    parse_token,
    verify_token,
)

SECRET = "a-storefront-secret-of-shop-a-000"
OTHER_SECRET = "a-storefront-secret-of-shop-b-000"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def token_for(customer: str | None = "42", domain: str = "a.sandbox.test", secret: str = SECRET,
              expires: datetime = NOW + TOKEN_TTL) -> str:
    return encode_token(secret, TokenClaims(domain, customer, expires))


def test_a_token_round_trips_its_shop_customer_and_expiry():
    claims = verify_token(SECRET, token_for("42"), now=NOW)
    assert claims == TokenClaims("a.sandbox.test", "42", NOW + TOKEN_TTL)


def test_a_guest_token_carries_no_customer():
    assert verify_token(SECRET, token_for(None), now=NOW).platform_customer_id is None


def test_the_token_is_compact_and_versioned():
    token = token_for("42")
    assert token.startswith("v1.") and token.count(".") == 2
    assert len(token) < 160


def test_a_token_is_refused_after_it_expires():
    token = token_for("42")
    assert verify_token(SECRET, token, now=NOW + TOKEN_TTL)  # still inside the window
    with pytest.raises(ShopperTokenExpired):
        verify_token(SECRET, token, now=NOW + TOKEN_TTL + timedelta(minutes=1))


def test_a_signed_token_that_lives_too_long_is_refused():
    with pytest.raises(ShopperTokenExpired):
        verify_token(SECRET, token_for("42", expires=NOW + timedelta(days=30)), now=NOW)


def test_a_token_signed_with_another_shops_secret_is_refused():
    with pytest.raises(ShopperTokenError):
        verify_token(SECRET, token_for("42", secret=OTHER_SECRET), now=NOW)


def test_changing_the_customer_breaks_the_signature():
    version, _payload, signature = token_for("42").split(".")
    expires = str(int((NOW + TOKEN_TTL).timestamp())).encode()
    forged_payload = base64.urlsafe_b64encode(b"a.sandbox.test\n43\n" + expires).rstrip(b"=").decode()
    with pytest.raises(ShopperTokenError):
        verify_token(SECRET, f"{version}.{forged_payload}.{signature}", now=NOW)


def test_a_tampered_signature_is_refused():
    token = token_for("42")
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(ShopperTokenError):
        verify_token(SECRET, flipped, now=NOW)


@pytest.mark.parametrize("token", [
    None, "", "v1", "v1..", "v2.abc.def", "v1.!!!.00", "v1.abc.zz", "x" * 5000, "v1.\u00e9.00",
    "v1." + base64.urlsafe_b64encode(b"only-two\nfields").decode() + ".00",
    "v1." + base64.urlsafe_b64encode(b"a.test\n42\nsoon").decode() + ".00",
    "v1." + base64.urlsafe_b64encode(b"EVIL DOMAIN\n42\n1").decode() + ".00",
])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(ShopperTokenError):
        verify_token(SECRET, token, now=NOW)


def test_a_well_formed_payload_with_an_empty_signature_is_refused():
    message, _sig, _claims = parse_token(token_for("42"))
    with pytest.raises(ShopperTokenError):
        verify_token(SECRET, message.decode() + ".", now=NOW)


def test_the_signature_is_hmac_sha256_hex_over_the_versioned_payload():
    """The WordPress plugin computes the same thing in PHP: hash_hmac('sha256', "v1.<payload>", secret)."""
    token = token_for("42")
    message, signature = token.rsplit(".", 1)
    assert signature == sign_hex(SECRET, message.encode("ascii"))


def test_customer_ids_that_cannot_be_carried_are_refused_when_issuing():
    with pytest.raises(ShopperTokenError):
        token_for("42\nevil.test")


class FakeSource:
    def __init__(self, answer):
        self.answer, self.calls = answer, 0

    def identify(self, headers, args, now=None):
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_the_first_source_that_applies_names_the_shopper():
    shopper = Shopper(shop_id=1, customer_id=7, platform_customer_id="42")
    later = FakeSource(Shopper(2, None, None))
    assert identify_shopper({}, {}, sources=(FakeSource(None), FakeSource(shopper), later)) is shopper
    assert later.calls == 0


def test_no_source_applying_means_nobody_is_signed_in():
    with pytest.raises(SignInRequired) as raised:
        identify_shopper({}, {}, sources=(FakeSource(None),))

    assert not isinstance(raised.value, ShopperTokenError)  # a guest, not a bad token


@pytest.mark.parametrize("token", ["", " ", "\t"])
def test_an_empty_token_header_is_no_token(token):
    assert ShopperTokenSource(reader=lambda *_: pytest.fail("an empty token was read")).identify(
        {TOKEN_HEADER: token}, {}) is None


def test_a_source_that_applies_but_cannot_be_trusted_stops_the_search():
    with pytest.raises(ShopperTokenError):
        identify_shopper({TOKEN_HEADER: "x"}, {}, sources=(FakeSource(ShopperTokenError("no")),
                                                           FakeSource(Shopper(1, 1, "1"))))


def test_a_shopper_without_a_platform_customer_is_a_guest():
    assert Shopper(1, None, None).is_guest
    assert not Shopper(1, None, "42").is_guest  # signed in, not mirrored yet
