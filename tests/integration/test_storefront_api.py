"""The storefront API through the test client, on SQLite and PostgreSQL: identity from the shopper
token, every read scoped by shop and customer, problem documents, and CORS for the shop's own origin."""
from __future__ import annotations

from datetime import timedelta

import pytest

from plugin.db import utcnow
from plugin.storefront.identity import (
    TOKEN_HEADER,
    TOKEN_TTL,
    StorefrontNotConfigured,
    TokenClaims,
    encode_token,
    issue_shopper_token,
    read_shopper_token,
)
from tests.factories import T0, make_customer, make_order, make_shop

ME = "/storefront/api/v1/me"
ORDERS = "/storefront/api/v1/orders"
PROBLEM = "application/problem+json"


def storefront_shop(session, app, domain, secret="storefront-secret-" + "0" * 16, **kw):
    shop = make_shop(session, domain=domain, **kw)
    if secret:
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt({"storefront_secret": secret})
    session.flush()
    return shop


@pytest.fixture
def world(app, db):
    """Shop A (PLN, Polish) with Anna (12 orders) and Bob (1 order); shop B with a customer whose
    platform id is the same as Anna's."""
    with db.uow() as session:
        a = storefront_shop(session, app, "a.sandbox.test", name="Sklep A", locale="pl", currency="PLN")
        b = storefront_shop(session, app, "b.sandbox.test", secret="another-secret-" + "1" * 16,
                            name="Shop B", currency="EUR")
        anna = make_customer(session, a, first_name="Anna")
        bob = make_customer(session, a, first_name="Bob")
        twin = make_customer(session, b, first_name="Twin")
        twin.platform_id = anna.platform_id
        anna_orders = [make_order(session, a, anna, total=f"{10 + i}.50", created_at=T0 + timedelta(days=i),
                                  items=1 + i % 3) for i in range(12)]
        make_order(session, a, bob, total="999.00")
        make_order(session, a, None, total="5.00")  # a guest checkout
        b_order = make_order(session, b, twin, total="77.00", created_at=T0 + timedelta(days=30))
        session.commit()
        return {"a": a, "b": b, "anna": anna, "bob": bob, "twin": twin,
                "anna_numbers": [o.number for o in reversed(anna_orders)], "b_number": b_order.number}


def get(client, path, token=None, **headers):
    if token is not None:
        headers[TOKEN_HEADER] = token
    return client.get(path, headers=headers)


def test_me_names_the_shop_and_the_signed_in_shopper(client, world):
    response = get(client, ME, issue_shopper_token(world["a"], world["anna"].platform_id))
    assert response.status_code == 200
    assert response.get_json() == {"shop": {"name": "Sklep A", "locale": "pl", "currency": "PLN"},
                                   "shopper": {"guest": False, "first_name": "Anna"}}


def test_me_for_a_guest(client, world):
    response = get(client, ME, issue_shopper_token(world["a"], None))
    assert response.get_json()["shopper"] == {"guest": True, "first_name": None}


def test_orders_are_the_customers_ten_most_recent_newest_first(client, world):
    response = get(client, ORDERS + "?locale=en", issue_shopper_token(world["a"], world["anna"].platform_id))
    assert response.status_code == 200
    orders = response.get_json()["orders"]
    assert [o["number"] for o in orders] == world["anna_numbers"][:10]
    newest = orders[0]
    formatted = newest.pop("total_formatted")
    assert newest == {"number": world["anna_numbers"][0], "created_at": (T0 + timedelta(days=11)).isoformat(),
                      "total": "21.50", "currency": "PLN", "financial_status": "paid",
                      "fulfillment_status": "unfulfilled", "items_count": 3, "cancelled": False}
    assert "21.50" in formatted and "PLN" in formatted


def test_older_orders_come_page_by_page_after_the_cursor_of_the_page_before(client, world):
    token = issue_shopper_token(world["a"], world["anna"].platform_id)
    first = get(client, ORDERS, token).get_json()
    assert len(first["orders"]) == 10 and first["next_cursor"]
    second = get(client, f"{ORDERS}?cursor={first['next_cursor']}", token).get_json()
    assert [o["number"] for o in first["orders"] + second["orders"]] == world["anna_numbers"]
    assert second["next_cursor"] is None


def test_orders_placed_at_the_same_moment_are_each_listed_once_across_pages(client, world, app, db):
    with db.uow() as session:
        shop = storefront_shop(session, app, "same-time.sandbox.test")
        eve = make_customer(session, shop, first_name="Eve")
        numbers = {make_order(session, shop, eve, created_at=T0).number for _ in range(21)}
        session.commit()
        token = issue_shopper_token(shop, eve.platform_id)
    seen, cursor, pages = [], None, 0
    while True:
        page = get(client, ORDERS + (f"?cursor={cursor}" if cursor else ""), token).get_json()
        seen += [o["number"] for o in page["orders"]]
        pages, cursor = pages + 1, page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 21 and set(seen) == numbers


@pytest.mark.parametrize("cursor", ["nonsense", "MjAyNi0wMS0wMXwx", "x" * 101, ""])
def test_a_cursor_the_api_did_not_give_is_unprocessable_and_named(client, world, cursor):
    response = get(client, f"{ORDERS}?cursor={cursor}", issue_shopper_token(world["a"], world["anna"].platform_id))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert "cursor" in response.get_json()["errors"]


def test_a_cancelled_order_says_so(client, world, db):
    with db.uow() as session:
        cancelled = make_order(session, world["a"], world["bob"], financial_status="voided",
                               cancelled_at=T0 + timedelta(days=40), created_at=T0 + timedelta(days=40))
        session.commit()
    orders = get(client, ORDERS, issue_shopper_token(world["a"], world["bob"].platform_id)).get_json()["orders"]
    assert (orders[0]["number"], orders[0]["cancelled"]) == (cancelled.number, True)
    assert orders[1]["cancelled"] is False


def test_order_totals_are_formatted_in_the_shops_locale_by_default(client, world):
    response = get(client, ORDERS, issue_shopper_token(world["a"], world["anna"].platform_id))
    assert response.get_json()["orders"][0]["total_formatted"] == "21,50\u00a0z\u0142"


def test_an_unsupported_locale_is_unprocessable(client, world):
    response = get(client, ORDERS + "?locale=xx", issue_shopper_token(world["a"], world["anna"].platform_id))
    assert response.status_code == 422 and response.mimetype == PROBLEM


def test_a_guest_is_asked_to_sign_in(client, world):
    response = get(client, ORDERS, issue_shopper_token(world["a"], None))
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["title"] == "Sign in to see your orders"
    assert body["type"] == "urn:storecare:problem:sign-in-required"
    assert response.headers["WWW-Authenticate"]


def test_a_guest_is_asked_to_sign_in_in_the_language_the_widget_asks_for(client, world):
    body = get(client, f"{ORDERS}?locale=pl", issue_shopper_token(world["a"], None)).get_json()
    assert (body["title"], body["detail"]) == ("Zaloguj się, aby zobaczyć swoje zamówienia",
                                               "Goście nie mają tu historii zamówień.")


def test_a_signed_in_customer_we_have_not_mirrored_yet_has_no_orders(client, world):
    response = get(client, ORDERS, issue_shopper_token(world["a"], "not-synced-yet"))
    assert response.status_code == 200 and response.get_json() == {"orders": [], "next_cursor": None}


def test_a_token_of_shop_a_reads_shop_a_only_even_when_customer_ids_collide(client, world):
    a_token = issue_shopper_token(world["a"], world["anna"].platform_id)
    numbers = [o["number"] for o in get(client, ORDERS, a_token).get_json()["orders"]]
    assert world["b_number"] not in numbers
    b_token = issue_shopper_token(world["b"], world["twin"].platform_id)
    assert [o["number"] for o in get(client, ORDERS, b_token).get_json()["orders"]] == [world["b_number"]]


def test_a_token_naming_shop_b_but_signed_with_shop_as_secret_is_refused(client, world, app):
    secret = app.extensions["storecare.vault"].decrypt(world["a"].credentials_encrypted)["storefront_secret"]
    claims = TokenClaims("b.sandbox.test", world["twin"].platform_id, utcnow() + TOKEN_TTL)
    forged = encode_token(secret, claims)
    response = get(client, ORDERS, forged)
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.get_json()["type"] == "urn:storecare:problem:shopper-token-invalid"


@pytest.mark.parametrize("path", [ME, ORDERS])
@pytest.mark.parametrize("token", [None, "", "  "])
def test_a_request_naming_no_shopper_is_a_guest_asked_to_sign_in(client, world, path, token):
    """A WooCommerce guest's page has no token to send (or sends an empty one): not a bad token."""
    response = get(client, path, token)
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.get_json()["type"] == "urn:storecare:problem:sign-in-required"
    assert response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("path", [ME, ORDERS])
@pytest.mark.parametrize("token", ["v1.e30.00", "garbage", "v1..", "x" * 2000])
def test_a_token_present_but_not_valid_is_refused_as_invalid(client, world, path, token):
    response = get(client, path, token)
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.get_json()["type"] == "urn:storecare:problem:shopper-token-invalid"


def test_an_order_deleted_in_the_store_is_gone_from_the_shoppers_list(client, world, db):
    from plugin.sync.models import Order

    token = issue_shopper_token(world["a"], world["anna"].platform_id)
    newest = world["anna_numbers"][0]
    with db.uow() as session:
        session.query(Order).filter_by(shop_id=world["a"].id, number=newest).one().deleted_at = utcnow()
        session.commit()

    numbers = [o["number"] for o in get(client, ORDERS, token).get_json()["orders"]]

    assert newest not in numbers and numbers == world["anna_numbers"][1:11]


def test_an_expired_token_is_refused(client, world):
    token = issue_shopper_token(world["a"], world["anna"].platform_id, now=utcnow() - timedelta(hours=1))
    response = get(client, ORDERS, token)
    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]


def test_tokens_of_an_uninstalled_shop_are_refused(client, world, db):
    token = issue_shopper_token(world["a"], world["anna"].platform_id)
    with db.uow() as session:
        session.merge(world["a"]).status = "uninstalled"
        session.commit()
    assert get(client, ORDERS, token).status_code == 401


def test_a_shop_without_a_storefront_secret_cannot_issue_or_accept_tokens(app, client, db):
    with db.uow() as session:
        shop = storefront_shop(session, app, "nosecret.sandbox.test", secret=None)
        session.commit()
    with pytest.raises(StorefrontNotConfigured):
        issue_shopper_token(shop, None)
    guessed = encode_token("x" * 32, TokenClaims(shop.domain, None, utcnow() + TOKEN_TTL))
    assert get(client, ME, guessed).status_code == 401


def test_reading_a_token_maps_the_platform_customer_to_our_mirror(world):
    shopper = read_shopper_token(issue_shopper_token(world["a"], world["anna"].platform_id))
    assert (shopper.shop_id, shopper.customer_id, shopper.platform_customer_id) == \
        (world["a"].id, world["anna"].id, world["anna"].platform_id)
    assert not shopper.is_guest


# -- CORS -----------------------------------------------------------------------------------

def test_the_shops_own_storefront_origin_may_read_the_answer(client, world):
    response = get(client, ORDERS, issue_shopper_token(world["a"], world["anna"].platform_id),
                   Origin="https://a.sandbox.test")
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.sandbox.test"
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_the_apps_own_origin_may_read_the_answer(client, world):
    response = get(client, ME, issue_shopper_token(world["a"], None), Origin="http://localhost:5000")
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5000"


@pytest.mark.parametrize("origin", ["https://b.sandbox.test", "https://evil.example", "http://a.sandbox.test",
                                    "https://a.sandbox.test.evil.example", "null"])
def test_other_origins_get_no_cors_headers(client, world, origin):
    response = get(client, ORDERS, issue_shopper_token(world["a"], world["anna"].platform_id), Origin=origin)
    assert response.status_code == 200  # CORS is the browser's guard; the answer is just not shared
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_from_a_shops_storefront_is_answered(client, world):
    response = client.options(ORDERS, headers={"Origin": "https://b.sandbox.test",
                                               "Access-Control-Request-Method": "GET",
                                               "Access-Control-Request-Headers": TOKEN_HEADER.lower()})
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "https://b.sandbox.test"
    assert TOKEN_HEADER in response.headers["Access-Control-Allow-Headers"]
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize("origin", ["https://evil.example", "https://a.sandbox.test:8443"])
def test_a_preflight_from_elsewhere_gets_no_cors_headers(client, world, origin):
    response = client.options(ORDERS, headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers


def test_no_answer_ever_carries_a_wildcard_origin(client, world):
    token = issue_shopper_token(world["a"], None)
    for path in (ME, ORDERS):
        for origin in ("https://a.sandbox.test", "https://evil.example"):
            assert get(client, path, token, Origin=origin).headers.get("Access-Control-Allow-Origin") != "*"
