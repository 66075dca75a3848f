"""The embedded admin's entry point (/admin/shopify), on SQLite and PostgreSQL: a verified session token
opens the admin, exchanging it for an offline token when we hold none that works (Shopify-managed
install), and signs every later request in by its own token, never by a cookie; every invalid token gets
401 with the header that makes App Bridge retry; one shop's token never shows another shop's data. Also
app/scopes_update. Shopify is played with ``responses``."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from plugin.jobs.models import JobRun
from plugin.shops import service as shops
from plugin.shops.models import Shop
from tests.factories import make_customer, make_order
from tests.shopify_auth_support import (
    CLIENT_ID,
    OTHER_SHOP,
    RETRY_HEADER,
    SECRET,
    SHOP,
    granted,
    session_token,
    shopify_app,
    token_url,
)

ENTRY = "/admin/shopify"
HTML = {"Accept": "text/html"}
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shopify():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def exchanges(mock, shop=SHOP) -> list[dict]:
    return [json.loads(c.request.body) for c in mock.calls if c.request.url == token_url(shop)]


def open_app(client, token, **params):
    query = "&".join(f"{k}={v}" for k, v in {"shop": SHOP, "host": "aG9zdA", **params}.items())
    return client.get(f"{ENTRY}?{query}&id_token={token}", headers=HTML)


def signed_in_shop(client) -> int | None:
    with client.session_transaction() as browser:
        return browser.get("shop_id")


def the_shop(db, domain=SHOP) -> Shop:
    with db.uow() as session:
        return session.scalars(select(Shop).where(Shop.domain == domain)).one()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", **HTML}


def test_first_load_exchanges_the_session_token_installs_and_opens_the_admin_with_that_token(
        client, db, shopify):
    shopify.post(token_url(), json=granted(access="shpat_exchanged"))
    token = session_token()

    response = open_app(client, token, embedded="1")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/?shop={SHOP}&host=aG9zdA&embedded=1&id_token={token}"
    assert response.headers["Content-Security-Policy"].endswith(
        f"frame-ancestors https://{SHOP} https://admin.shopify.com")
    sent = exchanges(shopify)
    assert len(sent) == 1 and sent[0]["grant_type"] == EXCHANGE and sent[0]["subject_token"] == token
    assert sent[0]["requested_token_type"] == "urn:shopify:params:oauth:token-type:offline-access-token"
    assert sent[0]["expiring"] == 1 and sent[0]["client_id"] == CLIENT_ID
    shop = the_shop(db)
    assert shop.status == "installed" and shops.credentials(shop)["access_token"] == "shpat_exchanged"
    assert signed_in_shop(client) is None and "Set-Cookie" not in response.headers  # no cookie inside Shopify
    with db.uow() as session:
        names = sorted(session.scalars(select(JobRun.name).where(JobRun.shop_id == shop.id)))
    assert names == ["shopify.subscribe_webhooks", "sync.backfill"]
    page = client.get(response.headers["Location"], headers=HTML)
    assert page.status_code == 200 and "Overview" in page.text
    assert f"frame-ancestors https://{SHOP} https://admin.shopify.com" in page.headers["Content-Security-Policy"]
    assert client.get("/admin/", headers=HTML).status_code == 401  # without a token nothing is signed in


def test_later_loads_reuse_the_stored_token(client, db, shopify):
    shopify.post(token_url(), json=granted())
    open_app(client, session_token())
    assert open_app(client, session_token(jti="another")).status_code == 302
    assert len(exchanges(shopify)) == 1


def test_app_bridge_fetches_with_a_bearer_token_get_json(client, shopify):
    shopify.post(token_url(), json=granted())
    response = client.get(ENTRY, headers={"Authorization": f"Bearer {session_token()}"})
    assert response.status_code == 200
    assert response.get_json() == {"shop": SHOP, "signed_in": True}


def rs256(claims):
    return jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")


def claims(**changes):
    token = session_token(**changes)
    return jwt.decode(token, options={"verify_signature": False})


INVALID_TOKENS = {
    "wrong aud": lambda: session_token(aud="someone-elses-app"),
    "alg none": lambda: jwt.encode(claims(), None, algorithm="none"),
    "alg RS256": lambda: rs256(claims()),
    "expired": lambda: session_token(exp=int(claims()["iat"]) - 120),
    "iss/dest mismatch": lambda: session_token(dest=f"https://{OTHER_SHOP}"),
    "another secret": lambda: session_token(secret="shpss_" + "1" * 32),
    "not a shopify shop": lambda: session_token(shop="evil.com"),
    "garbage": lambda: "not-a-token",
}


@pytest.mark.parametrize("make", INVALID_TOKENS.values(), ids=INVALID_TOKENS.keys())
def test_an_invalid_session_token_from_app_bridge_gets_401_problem_with_the_retry_header(client, db, shopify, make):
    response = client.get(ENTRY, headers={"Authorization": f"Bearer {make()}", "Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers[RETRY_HEADER] == "1"
    assert response.mimetype == "application/problem+json"
    assert exchanges(shopify) == []
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 0
    assert signed_in_shop(client) is None


@pytest.mark.parametrize("make", INVALID_TOKENS.values(), ids=INVALID_TOKENS.keys())
def test_an_invalid_id_token_on_a_document_load_gets_a_401_page_with_the_retry_header(client, db, shopify, make):
    response = open_app(client, make())
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert response.headers[RETRY_HEADER] == "1"
    assert exchanges(shopify) == []
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 0


def test_a_non_bearer_authorization_header_is_an_invalid_session(client):
    response = client.get(ENTRY, headers={"Authorization": f"Basic {session_token()}"})
    assert response.status_code == 401 and response.headers[RETRY_HEADER] == "1"


def test_an_invalid_token_signs_out_whoever_was_signed_in(client, db, shopify):
    from plugin.admin.auth import login_url

    shopify.post(token_url(), json=granted())
    open_app(client, session_token())
    client.get(login_url(the_shop(db).id))  # this browser signed in outside Shopify, with a cookie
    assert signed_in_shop(client) is not None
    assert open_app(client, INVALID_TOKENS["expired"]()).status_code == 401
    assert signed_in_shop(client) is None


def test_a_session_token_shopify_will_not_exchange_gets_401_with_the_retry_header(client, db, shopify):
    shopify.post(token_url(), status=400, json={"error": "invalid_subject_token"})
    response = client.get(ENTRY, headers={"Authorization": f"Bearer {session_token()}"})
    assert response.status_code == 401 and response.headers[RETRY_HEADER] == "1"
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 0


def test_a_document_load_without_id_token_goes_through_app_bridges_token_page(client, app):
    response = client.get(f"{ENTRY}?shop={SHOP}&host=aG9zdA&embedded=1", headers=HTML)
    assert response.status_code == 302
    page = client.get(response.headers["Location"], headers=HTML)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'data-api-key="{CLIENT_ID}"' in body and "cdn.shopify.com/shopifycloud/app-bridge.js" in body
    assert page.headers["Content-Security-Policy"].endswith(f"frame-ancestors https://{SHOP} https://admin.shopify.com")


@pytest.mark.parametrize("reload", ["https://evil.com/admin/shopify", "//evil.com/admin/shopify", "/admin/orders"])
def test_the_token_page_reloads_only_our_entry_point(client, reload):
    response = client.get(f"{ENTRY}/session-token", query_string={"shop": SHOP, "shopify-reload": reload},
                          headers=HTML)
    assert response.status_code == 400


def test_a_shop_missing_scopes_exchanges_again(client, db, shopify):
    shopify.post(token_url(), json=granted(access="shpat_narrow", scope="read_orders"))
    open_app(client, session_token())
    shopify.replace(responses.POST, token_url(), json=granted(access="shpat_wide"))
    open_app(client, session_token(jti="second"))
    assert len(exchanges(shopify)) == 2
    assert shops.credentials(the_shop(db))["access_token"] == "shpat_wide"


def test_a_shop_needing_reauthorisation_exchanges_again_and_is_cleared(client, db, shopify):
    shopify.post(token_url(), json=granted(access="shpat_first"))
    open_app(client, session_token())
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        shop.needs_reauth = True
        session.commit()
    shopify.replace(responses.POST, token_url(), json=granted(access="shpat_again"))
    open_app(client, session_token(jti="second"))
    shop = the_shop(db)
    assert shop.needs_reauth is False and shops.credentials(shop)["access_token"] == "shpat_again"


def test_an_uninstalled_shop_opened_again_is_reinstalled(client, db, shopify):
    shopify.post(token_url(), json=granted())
    open_app(client, session_token())
    with db.uow() as session:
        shop = session.scalars(select(Shop)).one()
        shops.mark_uninstalled(session, shop)
        session.commit()
    open_app(client, session_token(jti="second"))
    assert the_shop(db).status == "installed" and len(exchanges(shopify)) == 2


def test_one_shops_session_token_never_reads_another_shops_data(client, db, shopify):
    shopify.post(token_url(SHOP), json=granted(access="shpat_a"))
    shopify.post(token_url(OTHER_SHOP), json=granted(access="shpat_b"))
    open_app(client, session_token(shop=SHOP))
    open_app(client, session_token(shop=OTHER_SHOP), shop=OTHER_SHOP)  # installs B too
    a, b = the_shop(db, SHOP), the_shop(db, OTHER_SHOP)
    with db.uow() as session:
        make_order(session, session.get(Shop, a.id), make_customer(session, session.get(Shop, a.id),
                                                                   email="only-in-a@example.com"))
        make_order(session, session.get(Shop, b.id), make_customer(session, session.get(Shop, b.id),
                                                                   email="only-in-b@example.com"))
        session.commit()

    page = client.get("/admin/customers", headers=bearer(session_token(shop=SHOP))).get_data(as_text=True)
    assert "only-in-a@example.com" in page and "only-in-b@example.com" not in page
    page = client.get("/admin/customers", headers=bearer(session_token(shop=OTHER_SHOP))).get_data(as_text=True)
    assert "only-in-b@example.com" in page and "only-in-a@example.com" not in page
    # A token whose shop is A but whose query says B shows A, never B.
    page = client.get(f"/admin/customers?shop={OTHER_SHOP}", headers=bearer(session_token(shop=SHOP)))
    assert "only-in-a@example.com" in page.text and "only-in-b@example.com" not in page.text
    opened = open_app(client, session_token(shop=SHOP), shop=OTHER_SHOP)
    overview = client.get(opened.headers["Location"], headers=HTML)
    assert overview.headers["Content-Security-Policy"].endswith(f"frame-ancestors https://{SHOP} https://admin.shopify.com")
    assert len(exchanges(shopify, SHOP)) == 1 and len(exchanges(shopify, OTHER_SHOP)) == 1


# -- app/scopes_update -----------------------------------------------------------------------------

def deliver(client, topic, payload, shop=SHOP):
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return client.post("/webhooks/shopify", data=body, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": shop, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-23T12:00:00.000Z", "X-Shopify-API-Version": "2026-10"})


def test_scopes_update_records_the_granted_scopes_and_the_next_load_exchanges_again(client, db, queue, shopify):
    shopify.post(token_url(), json=granted())
    open_app(client, session_token())
    with db.uow() as session:  # the install's own jobs are not what this test is about
        session.query(JobRun).delete()
        session.commit()

    response = deliver(client, "app/scopes_update", {
        "id": 1, "previous": ["read_orders", "write_discounts"], "current": ["read_orders"],
        "updated_at": "2026-11-23T12:00:00.000Z"})
    assert response.status_code == 200
    queue.drain()

    shop = the_shop(db)
    assert shop.scopes == ["read_orders"] and shops.credentials(shop)["scope"] == "read_orders"
    open_app(client, session_token(jti="after-scopes-update"))
    assert len(exchanges(shopify)) == 2  # our scopes are no longer covered: a new token is asked for
