"""The install and the callback accept Shopify's signed query strings whose values hold ``=``, ``/``,
``+``, ``&``, ``%`` or spaces (a padded base64 ``host``), end to end through the app's real query-string
parsing, on SQLite and PostgreSQL. The ``hmac`` is computed by ShopifyAPI (Shopify's Python library),
never by our code; the query string is percent-encoded as Shopify sends it."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import responses
import shopify as shopify_api
from sqlalchemy import select

from plugin.shops.models import Shop
from tests.shopify_auth_support import SECRET, SHOP, FakeAdminApi, epoch, granted, shopify_app, token_url

INSTALL, CALLBACK = "/auth/shopify/install", "/auth/shopify/callback"
HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYW5uYQ=="  # base64("admin.shopify.com/store/anna"), padded
EXTRA = {"locale": "pl PL", "note": "a+b/c=d&e%f"}


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shopify(monkeypatch):
    monkeypatch.setattr(shopify_api.Session, "secret", SECRET)  # ShopifyAPI keeps the secret on the class
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeAdminApi().install(mock, SHOP)
        yield mock


def as_shopify_sends(params: dict, quote_via=quote) -> str:
    """``params`` with the hmac ShopifyAPI computes, percent-encoded into a query string."""
    return urlencode({**params, "hmac": shopify_api.Session.calculate_hmac(params)}, quote_via=quote_via)


@pytest.mark.parametrize("quote_via", [quote, None], ids=["%20", "+"])
def test_install_and_callback_accept_values_with_reserved_characters(client, db, shopify, quote_via):
    options = {"quote_via": quote_via} if quote_via else {}
    shopify.post(token_url(), json=granted(access="shpat_encoded"))
    install = {"host": HOST, "shop": SHOP, "timestamp": str(epoch()), **EXTRA}
    query = as_shopify_sends(install, **options)
    assert "host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYW5uYQ%3D%3D" in query and "a%2Bb%2Fc%3Dd%26e%25f" in query

    started = client.get(f"{INSTALL}?{query}")

    assert started.status_code == 302, started.text
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    callback = {"code": "code-1", "host": HOST, "shop": SHOP, "state": state, "timestamp": str(epoch()), **EXTRA}

    finished = client.get(f"{CALLBACK}?{as_shopify_sends(callback, **options)}")

    assert finished.status_code == 302 and finished.headers["Location"].endswith("/admin/"), finished.text
    assert json.loads(shopify.calls[0].request.body)["code"] == "code-1"
    with db.uow() as session:
        assert session.scalars(select(Shop.domain)).all() == [SHOP]


def test_a_value_signed_with_a_plus_but_sent_as_a_raw_plus_is_refused(client, db, shopify):
    install = {"host": HOST, "shop": SHOP, "timestamp": str(epoch()), "note": "a+b"}
    query = as_shopify_sends(install)
    assert "note=a%2Bb" in query

    response = client.get(f"{INSTALL}?{query.replace('a%2Bb', 'a+b')}")  # the server reads "a b"

    assert response.status_code == 401
