"""The merchant API on SQLite and PostgreSQL: keys made, listed and revoked in the admin (shown once,
stored hashed), Bearer authentication scoped to the key's shop, orders and customers a page at a time,
bad input named, and a rate limit per key."""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from plugin.admin.auth import login_url
from plugin.api import service
from plugin.api.models import ApiKey
from plugin.db import utcnow
from plugin.shops.models import Shop
from plugin.sync.models import Order
from tests.factories import make_customer, make_order, make_shop

PROBLEM = "application/problem+json"
CSRF = "test-csrf-token"


@pytest.fixture
def world(db):
    with db.uow() as session:
        ours, theirs = make_shop(session, domain="ours.sandbox.test"), make_shop(session, domain="theirs.sandbox.test")
        anna = make_customer(session, ours, email="Anna@Example.com", first_name="Anna")
        bob = make_customer(session, ours, first_name="Bob")
        stranger = make_customer(session, theirs)
        anna_orders = [make_order(session, ours, anna, total=f"{10 + i}.00", items=2) for i in range(3)]
        refunded = make_order(session, ours, bob, total="50.00", refunded="20.00")
        deleted = make_order(session, ours, bob, total="9.00")
        deleted.deleted_at = utcnow()
        foreign = make_order(session, theirs, stranger, total="99.00")
        session.commit()
        return {"ours": ours, "theirs": theirs, "anna": anna, "bob": bob, "stranger": stranger,
                "anna_orders": anna_orders, "refunded": refunded, "deleted": deleted, "foreign": foreign}


def sign_in(client, shop_id: int) -> None:
    assert client.get(login_url(shop_id)).status_code == 302
    with client.session_transaction() as sess:
        sess["csrf"] = CSRF


def create_key(client, shop_id: int, name: str = "Reporting script") -> tuple[str, object]:
    sign_in(client, shop_id)
    page = client.post("/admin/api-keys", data={"name": name, "csrf_token": CSRF})
    match = re.search(r'value="(sck_[A-Za-z0-9_-]+)"', page.get_data(as_text=True))
    return (match.group(1) if match else None), page


def call(client, path: str, key: str | None, **query):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get(path, query_string=query, headers=headers)


def test_a_key_made_in_the_admin_is_shown_once_and_stored_only_as_its_hash(client, db, world):
    key, page = create_key(client, world["ours"].id)

    assert page.status_code == 201 and key is not None
    assert "Cache-Control" in page.headers and "no-store" in page.headers["Cache-Control"]
    listing = client.get("/admin/api-keys").get_data(as_text=True)
    assert key not in listing and "Reporting script" in listing and key[:8] in listing
    with db.uow() as session:
        stored = session.scalars(select(ApiKey)).one()
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in repr([getattr(stored, c.key) for c in ApiKey.__table__.columns])


def test_orders_come_newest_first_a_page_at_a_time_from_the_keys_shop_only(client, world):
    key, _ = create_key(client, world["ours"].id)

    first = call(client, "/api/v1/orders", key, limit=2)
    assert first.status_code == 200 and first.get_json()["has_more"] is True
    ids = [o["id"] for o in first.get_json()["data"]]
    second = call(client, "/api/v1/orders", key, limit=2, starting_after=ids[-1])
    ids += [o["id"] for o in second.get_json()["data"]]

    assert second.get_json()["has_more"] is False
    expected = sorted([o.id for o in world["anna_orders"]] + [world["refunded"].id], reverse=True)
    assert ids == expected  # no deleted order, no other shop's order, nothing twice
    refunded = next(o for o in first.get_json()["data"] + second.get_json()["data"] if o["id"] == world["refunded"].id)
    assert refunded["total"] == "50.00" and refunded["total_refunded"] == "20.00"
    assert refunded["refunds"][0]["amount"] == "20.00" and refunded["line_items"][0]["quantity"] == 1


def test_one_order_with_its_items_and_the_customers_orders(client, world):
    key, _ = create_key(client, world["ours"].id)
    order = world["anna_orders"][0]

    detail = call(client, f"/api/v1/orders/{order.id}", key).get_json()
    annas = call(client, "/api/v1/orders", key, customer_id=world["anna"].id).get_json()["data"]

    assert detail["number"] == order.number and len(detail["line_items"]) == 2
    assert detail["customer_id"] == world["anna"].id and detail["created_at"].endswith("+00:00")
    assert {o["id"] for o in annas} == {o.id for o in world["anna_orders"]}


def test_customers_by_page_by_id_and_by_email_in_any_case(client, world):
    key, _ = create_key(client, world["ours"].id)

    everyone = call(client, "/api/v1/customers", key).get_json()
    by_email = call(client, "/api/v1/customers", key, email="anna@example.COM").get_json()["data"]
    one = call(client, f"/api/v1/customers/{world['bob'].id}", key).get_json()

    assert [c["id"] for c in everyone["data"]] == [world["bob"].id, world["anna"].id]
    assert [c["first_name"] for c in by_email] == ["Anna"]
    assert one["first_name"] == "Bob" and one["total_spent"] == "0.00"


@pytest.mark.parametrize("path", ["orders/{foreign}", "orders/{deleted}", "customers/{stranger}",
                                  "orders/99999999999999999999", "customers/0"])
def test_records_of_another_shop_deleted_or_out_of_range_are_not_found(client, world, path):
    key, _ = create_key(client, world["ours"].id)
    path = path.format(foreign=world["foreign"].id, deleted=world["deleted"].id, stranger=world["stranger"].id)

    response = call(client, f"/api/v1/{path}", key)

    assert response.status_code == 404 and response.mimetype == PROBLEM


@pytest.mark.parametrize(("query", "field"), [({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                                              ({"starting_after": "abc"}, "starting_after"),
                                              ({"customer_id": -1}, "customer_id")])
def test_bad_query_strings_are_problems_naming_the_field(client, world, query, field):
    key, _ = create_key(client, world["ours"].id)

    response = call(client, "/api/v1/orders", key, **query)

    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic c2NrXzE6", "Bearer sck_not-a-key",
                                           "Bearer not-even-the-prefix"])
def test_without_a_valid_key_the_api_answers_401(client, world, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/api/v1/orders", headers=headers)

    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused_and_stays_listed_as_revoked(client, db, world):
    key, _ = create_key(client, world["ours"].id)
    with db.uow() as session:
        key_id = session.scalars(select(ApiKey.id)).one()

    revoked = client.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": CSRF})

    assert revoked.status_code == 302
    assert call(client, "/api/v1/orders", key).status_code == 401
    page = client.get("/admin/api-keys").get_data(as_text=True)
    assert "Revoked" in page and f'/admin/api-keys/{key_id}/revoke' not in page


def test_a_shop_cannot_revoke_another_shops_key(app, client, db, world):
    their_key, _ = create_key(app.test_client(), world["theirs"].id)
    with db.uow() as session:
        their_id = session.scalars(select(ApiKey.id)).one()
    sign_in(client, world["ours"].id)

    client.post(f"/admin/api-keys/{their_id}/revoke", data={"csrf_token": CSRF})

    assert call(client, "/api/v1/orders", their_key).status_code == 200


def test_a_key_stops_working_when_its_shop_is_uninstalled(client, db, world):
    key, _ = create_key(client, world["ours"].id)
    with db.uow() as session:
        session.get(Shop, world["ours"].id).status = "uninstalled"
        session.commit()

    assert call(client, "/api/v1/orders", key).status_code == 401


def test_creating_a_key_needs_a_name_and_the_forms_token(client, db, world):
    _, nameless = create_key(client, world["ours"].id, name="   ")
    forged = client.post("/admin/api-keys", data={"name": "Script"})

    assert nameless.status_code == 400 and "Give the key a name" in nameless.get_data(as_text=True)
    assert forged.status_code == 400
    with db.uow() as session:
        assert session.scalars(select(ApiKey)).all() == []


def test_a_shop_has_a_bounded_number_of_live_keys(client, db, world):
    for n in range(service.MAX_ACTIVE_KEYS):
        service.create_key(db, world["ours"].id, f"script {n}")

    _, page = create_key(client, world["ours"].id, name="one too many")

    assert page.status_code == 400 and "revoke one you no longer use" in page.get_data(as_text=True)


def test_the_api_keys_page_speaks_polish(client, world):
    sign_in(client, world["ours"].id)
    client.post("/admin/language", data={"lang": "pl", "csrf_token": CSRF})

    page = client.get("/admin/api-keys").get_data(as_text=True)

    assert "Dostęp do API" in page and "Utwórz klucz" in page


def test_the_merchant_api_is_limited_per_key(settings_with):
    from plugin import create_app
    from plugin.models import metadata

    app = create_app(settings_with(rate_limit_merchant_api="2/minute"))
    metadata.create_all(app.extensions["storecare.db"].engine)
    try:
        with app.app_context():
            with app.extensions["storecare.db"].uow() as session:
                shop_id = make_shop(session).id
                session.commit()
            first, second = (service.create_key(app.extensions["storecare.db"], shop_id, n).secret
                             for n in ("a", "b"))
        client = app.test_client()
        statuses = [call(client, "/api/v1/orders", first).status_code for _ in range(3)]
        other = call(client, "/api/v1/customers", second).status_code
        limited = call(client, "/api/v1/customers", first)
    finally:
        app.extensions["storecare.db"].dispose()

    assert statuses == [200, 200, 429] and other == 200
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_an_order_total_is_exact(client, db, world):
    key, _ = create_key(client, world["ours"].id)
    with db.uow() as session:
        session.get(Order, world["anna_orders"][0].id).total = "12.3456"
        session.commit()

    detail = call(client, f"/api/v1/orders/{world['anna_orders'][0].id}", key).get_json()

    assert detail["total"] == "12.3456"
