"""Shopify's checks in plugin/security.py: shop domains, the OAuth query HMAC, session tokens (ID tokens)
and app proxy signatures; each checked against Shopify's documented vectors or its own Python library."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import jwt
import pytest
import shopify
from cryptography.hazmat.primitives.asymmetric import rsa
from shopify import session_token as shopify_session_token

from plugin.security import (
    ExpiredSignature,
    InvalidSessionToken,
    InvalidShopDomain,
    InvalidSignature,
    app_proxy_message,
    shopify_query_message,
    shopify_shop_domain,
    sign_app_proxy,
    sign_shopify_query,
    verify_app_proxy,
    verify_session_token,
    verify_shopify_query,
)

SECRET = "shpss_" + "5" * 32  # as long as a real client secret (PyJWT warns about short HMAC keys)
CLIENT_ID = "storecare-client-id"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SHOP = "demo-shop.myshopify.com"


# -- shop domains ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["demo-shop.myshopify.com", "Demo-Shop.MyShopify.com", "a.myshopify.com",
                                   "0shop.myshopify.com"])
def test_accepts_myshopify_domains_lower_cased(value):
    assert shopify_shop_domain(value) == value.lower()


@pytest.mark.parametrize("value", [
    "evil.com", "a.myshopify.com.evil.com", "evil.com/a.myshopify.com", "https://a.myshopify.com",
    "a.myshopify.com/admin", "a.myshopify.com:443", "a.myshopify.com\n", " a.myshopify.com", "-a.myshopify.com",
    ".myshopify.com",
    "a_b.myshopify.com", "a.b.myshopify.com", "myshopify.com", "a.myshopify.co", "a.myshopify.com.", "",
    None, 42, "a" * 250 + ".myshopify.com", "a.myshopify.com@evil.com", "évil.myshopify.com",
])
def test_refuses_anything_but_an_anchored_myshopify_domain(value):
    with pytest.raises(InvalidShopDomain):
        shopify_shop_domain(value)


# -- the OAuth query HMAC --------------------------------------------------------------------------

DOC_PARAMS = [("code", "0907a61c0c8d55e99db179b68161bc00"), ("shop", "some-shop.myshopify.com"),
              ("state", "0.6784241404160823"), ("timestamp", "1337178173"),
              ("hmac", "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf")]
DOC_NOW = datetime.fromtimestamp(1337178173 + 5, UTC)


def test_query_hmac_matches_shopifys_documented_example():
    assert verify_shopify_query("hush", DOC_PARAMS, DOC_NOW) == "some-shop.myshopify.com"
    assert sign_shopify_query("hush", DOC_PARAMS) == DOC_PARAMS[-1][1]


@pytest.mark.parametrize("change", [
    lambda p: [(k, v + "0" if k == "code" else v) for k, v in p],  # a signed value altered
    lambda p: p + [("extra", "1")],  # a parameter added
    lambda p: [(k, v) for k, v in p if k != "state"],  # a parameter removed
    lambda p: [(k, ("0" * 64 if k == "hmac" else v)) for k, v in p],  # another signature
    lambda p: [(k, v) for k, v in p if k != "hmac"],  # none at all
    lambda p: p + [("hmac", DOC_PARAMS[-1][1])],  # two
    lambda p: [(k, ("zz" if k == "hmac" else v)) for k, v in p],  # not hex
])
def test_query_hmac_refuses_forgeries(change):
    with pytest.raises(InvalidSignature):
        verify_shopify_query("hush", change(list(DOC_PARAMS)), DOC_NOW)


def test_query_hmac_with_another_secret_is_refused():
    with pytest.raises(InvalidSignature):
        verify_shopify_query("not-hush", DOC_PARAMS, DOC_NOW)


@pytest.mark.parametrize("params", [
    [("shop", "a.myshopify.com"), ("timestamp", "1700000000"), ("host", "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYQ")],
    [("shop", "a.myshopify.com"), ("ids[]", "1"), ("ids[]", "2"), ("timestamp", "1")],
    [("shop", "a.myshopify.com"), ("weird%key", "50%"), ("a=b", "c&d"), ("timestamp", "1")],
    [("locale", "pl-PL"), ("session", "ab&cd=ef"), ("shop", "x.myshopify.com"), ("timestamp", "99")],
])
def test_query_hmac_is_the_one_shopifyapi_computes(monkeypatch, params):
    # ShopifyAPI keeps the secret on a class (process-global): patched here for the comparison only.
    monkeypatch.setattr(shopify.Session, "secret", SECRET)
    as_dict = {}
    for key, value in params:
        as_dict.setdefault(key, []).append(value)
    as_dict = {k: (v if k.endswith("[]") else v[0]) for k, v in as_dict.items()}
    assert sign_shopify_query(SECRET, params) == shopify.Session.calculate_hmac(as_dict)


def test_a_repeated_plain_parameter_is_ambiguous_and_refused():
    with pytest.raises(InvalidSignature, match="repeated"):
        shopify_query_message([("shop", "a.myshopify.com"), ("shop", "b.myshopify.com")])


def signed_query(shop=SHOP, timestamp=NOW, **extra):
    params = [("shop", shop), ("timestamp", str(int(timestamp.timestamp()))), *extra.items()]
    return params + [("hmac", sign_shopify_query(SECRET, params))]


def test_query_timestamp_window():
    assert verify_shopify_query(SECRET, signed_query(timestamp=NOW - timedelta(seconds=600)), NOW) == SHOP
    assert verify_shopify_query(SECRET, signed_query(timestamp=NOW + timedelta(seconds=60)), NOW) == SHOP
    for stale in (NOW - timedelta(seconds=601), NOW - timedelta(days=2), NOW + timedelta(seconds=61)):
        with pytest.raises(ExpiredSignature):
            verify_shopify_query(SECRET, signed_query(timestamp=stale), NOW)


@pytest.mark.parametrize("timestamp", ["", "-5", "1e9", "12345678901234", "now"])
def test_query_timestamp_must_be_a_plain_number(timestamp):
    params = [("shop", SHOP), ("timestamp", timestamp)]
    with pytest.raises(InvalidSignature):
        verify_shopify_query(SECRET, params + [("hmac", sign_shopify_query(SECRET, params))], NOW)


@pytest.mark.parametrize("shop", ["evil.com", "a.myshopify.com.evil.com", ""])
def test_a_correctly_signed_query_for_a_bad_shop_domain_is_refused(shop):
    with pytest.raises(InvalidShopDomain):
        verify_shopify_query(SECRET, signed_query(shop=shop), NOW)


# -- session tokens (ID tokens) --------------------------------------------------------------------

def claims(**changes):
    base = {"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": CLIENT_ID, "sub": "42",
            "exp": int((NOW + timedelta(seconds=60)).timestamp()), "nbf": int((NOW - timedelta(seconds=5)).timestamp()),
            "iat": int((NOW - timedelta(seconds=5)).timestamp()), "jti": "jti-1", "sid": "sid-1"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload, secret=SECRET, **headers):
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


def test_a_valid_session_token_names_its_shop_and_user():
    token = verify_session_token(hs256(claims()), client_id=CLIENT_ID, secret=SECRET, now=NOW)
    assert (token.shop, token.user_id, token.session_id, token.token_id) == (SHOP, "42", "sid-1", "jti-1")
    assert token.expires_at == NOW + timedelta(seconds=60)


def test_session_token_times_have_ten_seconds_of_leeway():
    ok = [claims(exp=int(NOW.timestamp()) - 9), claims(nbf=int(NOW.timestamp()) + 9)]
    for payload in ok:
        assert verify_session_token(hs256(payload), client_id=CLIENT_ID, secret=SECRET, now=NOW).shop == SHOP
    for payload in (claims(exp=int(NOW.timestamp()) - 11), claims(nbf=int(NOW.timestamp()) + 11)):
        with pytest.raises(InvalidSessionToken):
            verify_session_token(hs256(payload), client_id=CLIENT_ID, secret=SECRET, now=NOW)


def none_token(payload):
    return jwt.encode(payload, None, algorithm="none")


def hs512_token(payload):
    with pytest.warns(jwt.InsecureKeyLengthWarning):  # our real secret, under another HMAC algorithm
        return jwt.encode(payload, SECRET, algorithm="HS512")


def rs256_token(payload):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(payload, key, algorithm="RS256")


@pytest.mark.parametrize("make, why", [
    (lambda: hs256(claims(aud="another-app")), "another app's token"),
    (lambda: hs256(claims(aud=[CLIENT_ID, "other"])), "a list audience"),
    (lambda: hs256(claims(aud=None)), "no audience"),
    (lambda: hs256(claims(), secret="shpss_" + "6" * 32), "signed with another secret"),
    (lambda: none_token(claims()), "alg none"),
    (lambda: rs256_token(claims()), "alg RS256"),
    (lambda: hs512_token(claims()), "alg HS512"),
    (lambda: hs256(claims(exp=int((NOW - timedelta(minutes=5)).timestamp()))), "expired"),
    (lambda: hs256(claims(exp=None)), "no exp"),
    (lambda: hs256(claims(nbf=None)), "no nbf"),
    (lambda: hs256(claims(dest="https://other-shop.myshopify.com")), "iss and dest differ"),
    (lambda: hs256(claims(iss="https://evil.com/admin", dest="https://evil.com")), "not a myshopify shop"),
    (lambda: hs256(claims(iss=f"https://{SHOP}", dest=f"https://{SHOP}")), "iss without /admin"),
    (lambda: hs256(claims(iss=f"http://{SHOP}/admin", dest=f"http://{SHOP}")), "not https"),
    (lambda: hs256(claims(dest=f"https://{SHOP}.evil.com", iss=f"https://{SHOP}.evil.com/admin")), "suffix"),
    (lambda: hs256(claims(dest=f"https://{SHOP}:8443", iss=f"https://{SHOP}:8443/admin")), "a port"),
    (lambda: hs256(claims(iss=None)), "no iss"),
    (lambda: hs256(claims())[:-3] + "abc", "a tampered signature"),
    (lambda: "not.a.jwt", "garbage"),
    (lambda: "", "empty"),
])
def test_invalid_session_tokens_are_refused(make, why):
    with pytest.raises(InvalidSessionToken):
        verify_session_token(make(), client_id=CLIENT_ID, secret=SECRET, now=NOW)


def test_what_we_accept_shopifyapi_accepts_and_we_also_require_an_expiry():
    now = datetime.now(UTC)
    live = claims(exp=int(now.timestamp()) + 60, nbf=int(now.timestamp()) - 5, iat=int(now.timestamp()) - 5)
    token = hs256(live)
    assert verify_session_token(token, client_id=CLIENT_ID, secret=SECRET).shop == SHOP
    assert shopify_session_token.decode_from_header(f"Bearer {token}", CLIENT_ID, SECRET)["dest"] == f"https://{SHOP}"
    forever = hs256({k: v for k, v in live.items() if k != "exp"})
    shopify_session_token.decode_from_header(f"Bearer {forever}", CLIENT_ID, SECRET)  # ShopifyAPI takes it
    with pytest.raises(InvalidSessionToken):
        verify_session_token(forever, client_id=CLIENT_ID, secret=SECRET)  # we do not


# -- app proxy signatures --------------------------------------------------------------------------

def test_app_proxy_message_is_shopifys_documented_string():
    params = [("extra", "1"), ("extra", "2"), ("shop", "shop-name.myshopify.com"), ("logged_in_customer_id", "1"),
              ("path_prefix", "/apps/awesome_reviews"), ("timestamp", "1317327555"), ("signature", "x")]
    assert app_proxy_message(params) == (b"extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviews"
                                         b"shop=shop-name.myshopify.comtimestamp=1317327555")


def proxied(shop=SHOP, at=NOW, customer="7", **extra):
    params = [("shop", shop), ("logged_in_customer_id", customer), ("path_prefix", "/apps/storecare"),
              ("timestamp", str(int(at.timestamp()))), *extra.items()]
    return params + [("signature", sign_app_proxy(SECRET, params))]


def test_a_fresh_proxied_request_verifies():
    assert verify_app_proxy(SECRET, proxied(), NOW) == SHOP
    assert verify_app_proxy(SECRET, proxied(at=NOW - timedelta(seconds=90)), NOW) == SHOP


@pytest.mark.parametrize("offset", [91, -91, 3600])
def test_a_proxied_request_older_or_newer_than_90_seconds_is_refused(offset):
    with pytest.raises(ExpiredSignature):
        verify_app_proxy(SECRET, proxied(at=NOW - timedelta(seconds=offset)), NOW)


@pytest.mark.parametrize("change", [
    lambda p: [(k, "8" if k == "logged_in_customer_id" else v) for k, v in p],  # another customer
    lambda p: [(k, "other.myshopify.com" if k == "shop" else v) for k, v in p],  # another shop
    lambda p: [(k, v) for k, v in p if k != "signature"],
    lambda p: p + [("signature", p[-1][1])],
    lambda p: p + [("shop", SHOP)],
    lambda p: [(k, v.upper() if k == "signature" else v) for k, v in p][:-1] + [("signature", "nothex")],
])
def test_forged_proxied_requests_are_refused(change):
    with pytest.raises(InvalidSignature):
        verify_app_proxy(SECRET, change(proxied()), NOW)


def test_a_proxied_request_for_a_bad_shop_domain_is_refused_even_if_signed():
    with pytest.raises(InvalidSignature):
        verify_app_proxy(SECRET, proxied(shop="evil.com"), NOW)
