"""adapters/shopify/oauth.py: the grant URL, the three grants posted to Shopify's token endpoint (faked
with ``responses``), and how every answer maps onto adapters.errors."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from adapters.errors import AuthRevoked, InvalidPayload, RateLimited, Transient
from adapters.shopify.oauth import GrantRefused, OAuthClient, OfflineToken, authorize_url, split_scopes, without_token

SHOP = "demo-shop.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GRANTED = {"access_token": "shpat_new", "scope": "write_orders,read_customers", "expires_in": 3600,
           "refresh_token": "shprt_new", "refresh_token_expires_in": 7776000}


@pytest.fixture
def client():
    return OAuthClient(requests.Session(), SHOP, client_id="client-id", client_secret="client-secret")


def sent(call) -> dict:
    return json.loads(call.request.body)


def test_authorize_url_asks_for_offline_access_with_our_scopes_and_state():
    url = authorize_url(SHOP, client_id="client-id", scopes=["read_orders", "write_discounts"],
                        redirect_uri="https://app.example/auth/shopify/callback", state="nonce-1")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert parse_qs(parts.query) == {"client_id": ["client-id"], "scope": ["read_orders,write_discounts"],
                                     "redirect_uri": ["https://app.example/auth/shopify/callback"],
                                     "state": ["nonce-1"]}


@pytest.mark.parametrize("shop", ["evil.com", "a.myshopify.com.evil.com", "a.myshopify.com/x", "A.myshopify.com"])
def test_the_client_secret_is_never_posted_to_another_host(shop):
    with pytest.raises(ValueError):
        OAuthClient(requests.Session(), shop, client_id="id", client_secret="secret")
    with pytest.raises(ValueError):
        authorize_url(shop, client_id="id", scopes=["read_orders"], redirect_uri="https://x", state="s")


@responses.activate
def test_code_exchange_asks_for_an_expiring_token_and_reads_it(client):
    responses.post(TOKEN_URL, json=GRANTED)
    token = client.exchange_code("the-code", NOW)
    assert sent(responses.calls[0]) == {"client_id": "client-id", "client_secret": "client-secret",
                                        "code": "the-code", "expiring": 1}
    assert token == OfflineToken(access_token="shpat_new", scopes=("read_customers", "write_orders"),
                                 expires_at=NOW + timedelta(hours=1), refresh_token="shprt_new",
                                 refresh_token_expires_at=NOW + timedelta(days=90))


@responses.activate
def test_token_exchange_posts_the_session_token_as_an_id_token(client):
    responses.post(TOKEN_URL, json=GRANTED)
    client.exchange_session_token("header.payload.signature", NOW)
    assert sent(responses.calls[0]) == {
        "client_id": "client-id", "client_secret": "client-secret",
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": "header.payload.signature",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token", "expiring": 1}


@responses.activate
def test_refresh_posts_the_refresh_token(client):
    responses.post(TOKEN_URL, json=GRANTED)
    assert client.refresh("shprt_old", NOW).access_token == "shpat_new"
    assert sent(responses.calls[0]) == {"client_id": "client-id", "client_secret": "client-secret",
                                        "grant_type": "refresh_token", "refresh_token": "shprt_old"}


@responses.activate
def test_a_legacy_non_expiring_token_has_no_expiry(client):
    responses.post(TOKEN_URL, json={"access_token": "shpat_legacy", "scope": "read_orders"})
    token = client.exchange_code("code", NOW)
    assert (token.expires_at, token.refresh_token, token.expires_within(300, NOW)) == (None, None, False)


@pytest.mark.parametrize("answer, error", [
    (dict(body=requests.ConnectionError("reset")), Transient),
    (dict(body=requests.Timeout("read timed out")), Transient),
    (dict(status=502, body="bad gateway"), Transient),
    (dict(status=503, json={"errors": "unavailable"}), Transient),
    (dict(status=429, headers={"Retry-After": "7"}, json={}), RateLimited),
    (dict(status=400, json={"error": "invalid_grant", "error_description": "used"}), GrantRefused),
    (dict(status=400, json={"error": "invalid_subject_token"}), GrantRefused),
    (dict(status=401, body="Unauthorized"), GrantRefused),
    (dict(status=200, body="<html>not json</html>"), InvalidPayload),
    (dict(status=200, json=["a", "list"]), InvalidPayload),
    (dict(status=200, json={"scope": "read_orders"}), InvalidPayload),
    (dict(status=200, json={**GRANTED, "expires_in": "soon"}), InvalidPayload),
    (dict(status=200, json={**GRANTED, "refresh_token": 5}), InvalidPayload),
])
@responses.activate
def test_answers_map_onto_adapter_errors(client, answer, error):
    responses.post(TOKEN_URL, **answer)
    with pytest.raises(error) as raised:
        client.refresh("shprt_old", NOW)
    if error is RateLimited:
        assert raised.value.retry_after == 7.0
    if error is GrantRefused:
        assert isinstance(raised.value, AuthRevoked) and not raised.value.transient
    assert "client-secret" not in str(raised.value)


@responses.activate
def test_a_refused_grant_carries_shopifys_error_code(client):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(GrantRefused) as raised:
        client.refresh("shprt_old", NOW)
    assert raised.value.error == "invalid_grant"


def test_tokens_round_trip_through_credentials_and_leave_other_keys_alone():
    token = OfflineToken("shpat_1", ("read_orders",), NOW, "shprt_1", NOW + timedelta(days=90))
    stored = {**token.as_credentials(), "webhook_secret": "keep-me"}
    assert OfflineToken.from_credentials(stored) == token
    assert without_token(stored) == {"webhook_secret": "keep-me"}
    assert OfflineToken.from_credentials({"webhook_secret": "x"}) is None
    assert token.expires_within(300, NOW - timedelta(seconds=299))
    assert not token.expires_within(300, NOW - timedelta(seconds=301))


def test_scopes_are_a_sorted_set():
    assert split_scopes("write_orders, read_customers,,write_orders") == ("read_customers", "write_orders")


@pytest.mark.parametrize("granted, covered", [
    (["write_orders", "read_customers"], True),  # write_x implies read_x
    (["read_orders", "read_customers", "customer_read_orders"], True),  # scopes we do not know are ignored
    (["read_customers"], False),
    ([], False),
])
def test_granted_scopes_cover_the_required_ones(granted, covered):
    from plugin.shops.shopify import scopes_cover

    assert scopes_cover(granted, ["read_orders", "read_customers"]) is covered
