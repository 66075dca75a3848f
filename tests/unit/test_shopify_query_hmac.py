"""The OAuth query HMAC over values with ``=``, ``/``, ``+``, ``&``, ``%`` and spaces, as Shopify's own
libraries compute it, and the way such values travel in a query string.

The expected digests are literals computed with ShopifyAPI's ``Session.calculate_hmac`` (Shopify/
shopify_python_api ``shopify/session.py``): values as decoded from the query string; ``%`` escaped as
``%25`` in keys and values, ``=`` as ``%3D`` in keys, ``&`` as ``%26`` in each pair; pairs sorted and
joined with ``&``. The tests recompute each digest here with ``hmac`` from the literal signed string, and
ask the installed ShopifyAPI for it, so no vector depends on our own code.

Decoding: in a query string ``+`` is a space and ``%2B`` a plus sign (HTML form encoding, which
Werkzeug, Rack and Django use); Shopify percent-encodes what it sends, so a value's ``+`` arrives as
``%2B`` and its ``=`` (base64 padding) as ``%3D``.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pytest
import shopify
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from plugin.security import InvalidSignature, shopify_query_message, sign_shopify_query, verify_shopify_query

SECRET = "hush"
NOW = datetime.fromtimestamp(1337178173 + 5, UTC)
PADDED_HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYW5uYQ=="  # base64("admin.shopify.com/store/anna")

VECTORS = {
    "padded base64 host": (
        [("host", PADDED_HOST), ("shop", "some-shop.myshopify.com"), ("timestamp", "1337178173")],
        "host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYW5uYQ==&shop=some-shop.myshopify.com&timestamp=1337178173",
        "6d25da4eac0b49ec0e8f8c9cdaaa39bdf9115f73e9c679c56819b02c3680414d",
    ),
    "callback with + / = in the state": (
        [("code", "0907a61c0c8d55e99db179b68161bc00"), ("host", PADDED_HOST), ("shop", "some-shop.myshopify.com"),
         ("state", "a+b/c=d=="), ("timestamp", "1337178173")],
        ("code=0907a61c0c8d55e99db179b68161bc00&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYW5uYQ==&"
         "shop=some-shop.myshopify.com&state=a+b/c=d==&timestamp=1337178173"),
        "f1fdb43b24217b2bfde61cb2b79a44d9b046f5030f7c2279c456bf59eb38acb0",
    ),
    "& % = in keys and values": (
        [("shop", "some-shop.myshopify.com"), ("timestamp", "1337178173"), ("note", "50% & more = fun"),
         ("a&b", "c"), ("k=v", "1")],
        "a%26b=c&k%3Dv=1&note=50%25 %26 more = fun&shop=some-shop.myshopify.com&timestamp=1337178173",
        "5661d0daf96529452ec6c7de22e4c68ea25d872edd7d964b59d037ee548c296e",
    ),
    "a space": (
        [("shop", "some-shop.myshopify.com"), ("timestamp", "1337178173"), ("locale", "pl PL")],
        "locale=pl PL&shop=some-shop.myshopify.com&timestamp=1337178173",
        "34e75130412aec4118270a0c8b90536540f7a68a55c6d482a23c076bef3a17be",
    ),
}


def parsed(query: str) -> list[tuple[str, str]]:
    """The query's parameters as the app's views read them (Werkzeug's ``request.args``)."""
    return list(Request(EnvironBuilder(query_string=query).get_environ()).args.items(multi=True))


@pytest.mark.parametrize(("params", "signed", "digest"), VECTORS.values(), ids=VECTORS.keys())
def test_the_vectors_are_the_hmac_of_the_signed_string(params, signed, digest):
    assert hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest() == digest


@pytest.mark.parametrize(("params", "signed", "digest"), VECTORS.values(), ids=VECTORS.keys())
def test_shopifyapi_computes_the_vectors(monkeypatch, params, signed, digest):
    monkeypatch.setattr(shopify.Session, "secret", SECRET)  # ShopifyAPI keeps it on the class
    assert shopify.Session.calculate_hmac(dict(params)) == digest


@pytest.mark.parametrize(("params", "signed", "digest"), VECTORS.values(), ids=VECTORS.keys())
def test_we_sign_and_verify_the_vectors_as_shopify_does(params, signed, digest):
    assert shopify_query_message(params).decode() == signed
    assert sign_shopify_query(SECRET, params) == digest
    assert verify_shopify_query(SECRET, params + [("hmac", digest)], NOW) == "some-shop.myshopify.com"
    with pytest.raises(InvalidSignature):
        verify_shopify_query(SECRET, params + [("hmac", digest[:-1] + ("0" if digest[-1] != "0" else "1"))], NOW)


@pytest.mark.parametrize("quote_via", [quote, None], ids=["%20 for spaces", "+ for spaces"])
@pytest.mark.parametrize(("params", "signed", "digest"), VECTORS.values(), ids=VECTORS.keys())
def test_query_strings_as_shopify_sends_them_verify_once_parsed(params, signed, digest, quote_via):
    options = {"quote_via": quote_via} if quote_via else {}
    query = urlencode(params + [("hmac", digest)], **options)
    assert "%3D%3D" in query or "=" not in dict(params).get("host", "")  # padding travels encoded

    assert parsed(query)[:-1] == params
    assert verify_shopify_query(SECRET, parsed(query), NOW) == "some-shop.myshopify.com"


def test_a_raw_plus_in_a_query_string_is_a_space_and_percent_2b_a_plus():
    space = VECTORS["a space"][2]  # signed over "locale=pl PL"
    base = "shop=some-shop.myshopify.com&timestamp=1337178173"

    assert verify_shopify_query(SECRET, parsed(f"locale=pl+PL&{base}&hmac={space}"), NOW)
    with pytest.raises(InvalidSignature):
        verify_shopify_query(SECRET, parsed(f"locale=pl%2BPL&{base}&hmac={space}"), NOW)
    plus = VECTORS["callback with + / = in the state"]
    query = urlencode(plus[0] + [("hmac", plus[2])])
    assert "state=a%2Bb%2Fc%3Dd%3D%3D" in query
    assert verify_shopify_query(SECRET, parsed(query), NOW)
    with pytest.raises(InvalidSignature):  # the same state sent with a raw "+" means "a b/c=d==": not signed
        verify_shopify_query(SECRET, parsed(query.replace("a%2Bb", "a+b")), NOW)
