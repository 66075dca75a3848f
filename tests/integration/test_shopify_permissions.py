"""New permissions, on SQLite and PostgreSQL: what a shop installed before must still grant
(``missing_scopes``), the admin's banner "Storecare needs new permissions" with the way to approve
(App Bridge inside Shopify, Shopify's grant screen outside), asking Shopify what is granted after an
approval, and a refusal for want of a scope that brings the banner back. The example feature needs
store credit once the merchant turns it on (as loyalty does while a store-credit reward is offered).
Shopify is the GraphQL simulator and ``responses``."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import select

from adapters.base import Capability, StoreCreditSpec
from adapters.errors import PermissionMissing
from adapters.shopify.adapter import ShopifyAdapter
from plugin.admin import shop_settings
from plugin.features import install_features
from plugin.shops import permissions, service
from plugin.shops.models import OAuthState, Shop
from tests.admin_support import sign_in, text
from tests.contract.shopify_simulator import ShopifySimulator
from tests.contract.shopify_store import build_shop
from tests.factories import make_shop
from tests.shopify_auth_support import CLIENT_ID, SHOP, granted, session_token, shopify_app, signed_query, token_url

HTML = {"Accept": "text/html"}
REQUIRED = ("read_customers", "write_customers", "read_orders", "read_products", "write_discounts", "read_returns",
            "write_returns", "read_fulfillments")
STORE_CREDIT = ShopifyAdapter.SCOPES[Capability.STORE_CREDIT]
TOKEN = "shpat_first"  # what granted() hands out


@pytest.fixture
def app(settings_with):
    for app in shopify_app(settings_with):
        install_features(app, ("tests.example_feature",))
        yield app


@pytest.fixture
def shopify():
    simulator = ShopifySimulator()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        simulator.mock = mock
        yield simulator


def a_shop(db, scopes, platform="shopify", domain=SHOP) -> int:
    with db.uow() as session:
        shop = make_shop(session, domain=domain, platform=platform, status="installed", scopes=list(scopes))
        service.store_credentials(shop, {"access_token": TOKEN, "scope": ",".join(scopes)})
        session.commit()
        return shop.id


def the_shop(db, shop_id) -> Shop:
    with db.uow() as session:
        return session.get(Shop, shop_id)


def turn_example_on(app, db, shop_id) -> None:
    with db.uow() as session:
        shop_settings.save(session, shop_id, shop_settings.section(app, "example"),
                           {"greeting": "Hi", "points_per_order": 1, "enabled": True})


def banner(page) -> str | None:
    found = re.search(r'<div class="banner[^"]*" role="status" data-banner="permissions">(.*?)</div>', page.text,
                      re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else None


def test_missing_scopes_names_what_a_shop_must_still_grant_for_what_a_feature_needs(app, db):
    current = the_shop(db, a_shop(db, REQUIRED))
    before = the_shop(db, a_shop(db, [s for s in REQUIRED if s != "write_discounts"], domain="old.myshopify.com"))
    approved = the_shop(db, a_shop(db, [*REQUIRED, "write_store_credit_account_transactions",
                                        "read_store_credit_accounts"], domain="approved.myshopify.com"))
    woo = the_shop(db, a_shop(db, [], platform="woocommerce", domain="shop.woo.test"))

    assert permissions.missing_scopes(current) == ()
    assert permissions.missing_scopes(current, [Capability.STORE_CREDIT]) == STORE_CREDIT
    assert permissions.missing_scopes(before) == ("write_discounts",)  # a scope added to app.yaml since
    assert permissions.missing_scopes(approved, ["store_credit"]) == ()  # write_x covers read_x
    assert permissions.missing_scopes(woo, [Capability.STORE_CREDIT]) == ()  # keys grant all or nothing
    with pytest.raises(permissions.PermissionsNeeded) as needed:
        permissions.require_permissions(current, [Capability.STORE_CREDIT])
    assert needed.value.scopes == STORE_CREDIT and needed.value.needs == (Capability.STORE_CREDIT,)
    with app.test_request_context():
        assert str(needed.value.message).startswith("Storecare needs new permissions")
        assert str(needed.value.shopper_message)
    permissions.require_permissions(approved, [Capability.STORE_CREDIT])  # nothing missing: no error


def test_the_banner_asks_for_what_a_feature_needs_only_once_it_needs_it(app, db, client):
    shop_id = a_shop(db, REQUIRED)
    sign_in(client, shop_id)

    assert banner(client.get("/admin/", headers=HTML)) is None  # the example is off: store credit not needed
    turn_example_on(app, db, shop_id)
    page = client.get("/admin/", headers=HTML)

    assert banner(page) == ("Storecare needs new permissions: approve them. They are for: store credit. "
                            "Until you approve them, what needs them stays off. Approve permissions")
    assert 'action="/admin/permissions/approve"' in page.text
    client.post("/admin/language", data={"lang": "pl", "csrf_token": "test-csrf-token", "next": "/admin/"})
    assert banner(client.get("/admin/orders", headers=HTML)).startswith("Storecare potrzebuje nowych uprawnień")


def test_outside_shopify_approving_goes_to_shopifys_grant_screen_and_its_callback_stores_the_grant(
        app, db, client, shopify):
    shop_id = a_shop(db, REQUIRED)
    turn_example_on(app, db, shop_id)
    csrf = sign_in(client, shop_id)

    response = client.post("/admin/permissions/approve", data={"csrf_token": csrf, "next": "/admin/orders"})

    assert response.status_code == 302
    grant = urlsplit(response.headers["Location"])
    query = parse_qs(grant.query)
    assert (grant.netloc, grant.path) == (SHOP, "/admin/oauth/authorize")
    assert query["client_id"] == [CLIENT_ID] and query["scope"] == [",".join([*REQUIRED, *STORE_CREDIT])]
    state = query["state"][0]
    assert "storecare_shopify_state" in response.headers["Set-Cookie"]
    with db.uow() as session:
        assert session.scalars(select(OAuthState.shop_domain).where(OAuthState.nonce == state)).one() == SHOP

    shopify.mock.post(token_url(), json=granted(access="shpat_wider", scope=",".join([*REQUIRED, *STORE_CREDIT])))
    back = client.get(f"/auth/shopify/callback?{signed_query(shop=SHOP, code='code-1', state=state)}")

    assert back.status_code == 302
    shop = the_shop(db, shop_id)
    assert sorted(shop.scopes) == sorted([*REQUIRED, *STORE_CREDIT])
    assert service.credentials(shop)["access_token"] == "shpat_wider"
    assert banner(client.get("/admin/", headers=HTML)) is None


def test_inside_shopify_the_banner_asks_app_bridge_and_the_answer_is_read_back_from_shopify(app, db, client, shopify):
    shopify.mock.post(token_url(), json=granted())
    assert client.get(f"/admin/shopify?shop={SHOP}&id_token={session_token()}", headers=HTML).status_code == 302
    with db.uow() as session:
        shop_id = session.scalars(select(Shop.id).where(Shop.domain == SHOP)).one()
    turn_example_on(app, db, shop_id)
    sim = shopify.add_shop(build_shop(SHOP, TOKEN, seed=1, orders=1, customers=1, id_base=0,
                                      now=the_shop(db, shop_id).installed_at))
    sim.granted_scopes = set(REQUIRED)
    headers = {"Authorization": f"Bearer {session_token(jti='page')}", **HTML}

    page = client.get("/admin/", headers=headers)
    assert f'data-request-scopes="{" ".join(STORE_CREDIT)}"' in page.text
    assert 'action="/admin/permissions/refresh"' in page.text and "csrf_token" not in banner_html(page)

    sim.granted_scopes |= set(STORE_CREDIT)  # the merchant approved in App Bridge's modal
    done = client.post("/admin/permissions/refresh", data={"next": "/admin/"},
                       headers={"Authorization": f"Bearer {session_token(jti='refresh')}", **HTML})

    assert done.status_code == 302
    assert set(STORE_CREDIT) <= set(the_shop(db, shop_id).scopes)
    after = client.get("/admin/", headers={"Authorization": f"Bearer {session_token(jti='after')}", **HTML})
    assert banner(after) is None and "Storecare has every permission it needs" in text(after)


def banner_html(page) -> str:
    found = re.search(r'data-banner="permissions">(.*?)</div>', page.text, re.S)
    return found.group(1) if found else ""


def test_a_call_shopify_refuses_for_want_of_a_scope_brings_the_banner_back(app, db, client, shopify):
    shop_id = a_shop(db, [*REQUIRED, *STORE_CREDIT])  # what we recorded; the merchant revoked it since
    turn_example_on(app, db, shop_id)
    sim = shopify.add_shop(build_shop(SHOP, TOKEN, seed=1, orders=1, customers=1, id_base=0,
                                      now=the_shop(db, shop_id).installed_at))
    sim.granted_scopes = set(REQUIRED)
    sign_in(client, shop_id)
    assert banner(client.get("/admin/", headers=HTML)) is None

    with db.uow() as session:
        adapter = service.adapter_for(session.get(Shop, shop_id))
    with pytest.raises(PermissionMissing):
        adapter.issue_store_credit(StoreCreditSpec(key="r-1", customer_platform_id=str(min(sim.customers)),
                                                   amount=1, currency="USD"))

    assert permissions.missing_scopes(the_shop(db, shop_id), [Capability.STORE_CREDIT])
    assert "store credit" in banner(client.get("/admin/", headers=HTML))
