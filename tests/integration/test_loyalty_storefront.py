"""The loyalty program's storefront endpoints on SQLite and PostgreSQL: what a guest and a member read,
opt-in joining, the birthday, the program turned off, and one shop's shopper never reading another's."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask_babel import refresh

from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from tests.factories import make_customer, make_order, make_shop
from tests.loyalty_support import program_on

API = "/storefront/api/v1/loyalty"
PROXY_PROGRAM = "/proxy/api/v1/loyalty/program"
PROBLEM = "application/problem+json"
SECRET = "storefront-secret-" + "0" * 16


@pytest.fixture
def world(app, db):
    vault = app.extensions["storecare.vault"]
    with db.uow() as s:
        shop = make_shop(s, domain="a.sandbox.test", currency="PLN")
        other = make_shop(s, domain="b.sandbox.test", currency="EUR")
        for each in (shop, other):
            each.credentials_encrypted = vault.encrypt({"storefront_secret": SECRET})
        anna = make_customer(s, shop, first_name="Anna", locale="pl")
        ben = make_customer(s, shop, first_name="Ben")
        stranger = make_customer(s, other, first_name="Cleo")
        s.add_all([Tier(shop_id=shop.id, name="Bronze", position=0, entry_threshold=0),
                   Tier(shop_id=shop.id, name="Silver", position=1, entry_threshold=500,
                        earn_multiplier="1.5", birthday_bonus=50),
                   Tier(shop_id=shop.id, name="Gold", position=2, entry_threshold=2000, free_shipping=True)])
        s.commit()
        make_order(s, shop, anna, total="200.00")
        s.commit()
        bronze = s.query(Tier).filter_by(shop_id=shop.id, name="Bronze").one()
        member = ensure_member(s, shop.id, anna.id)
        member.tier_id = bronze.id
        ledger.credit(s, member, 35, source="order", source_id="1", reason="Points for order %(number)s",
                      reason_params={"number": "#1001"}, pending=True)
        ledger.credit(s, member, 50, source="signup", source_id="s", reason="Welcome to the program")
        s.commit()
        ids = {"shop": shop.id, "other": other.id, "anna": anna.id, "ben": ben.id}
        tokens = {"anna": issue_shopper_token(shop, anna.platform_id), "ben": issue_shopper_token(shop, ben.platform_id),
                  "guest": issue_shopper_token(shop, None), "cleo": issue_shopper_token(other, stranger.platform_id)}
    program_on(db, ids["shop"], earn_points="1", earn_per="10", signup_points=50, review_points=0,
               point_name="stars", primary_colour="#aa0000")
    program_on(db, ids["other"])
    return {**ids, "tokens": tokens}


def get(client, path, who=None, world=None, **query):
    headers = {TOKEN_HEADER: world["tokens"][who]} if who else {}
    return client.get(f"{API}{path}", query_string=query, headers=headers)


def post(client, path, body, who, world, key="6a1f1a7e-0b47-4e5e-9a54-1d1b8d7c2f10", **query):
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json",
                       query_string=query, headers={TOKEN_HEADER: world["tokens"][who], "Idempotency-Key": key})


def test_a_guest_reads_how_the_program_works(client, world):
    answer = get(client, "/program", "guest", world, locale="pl")
    assert answer.status_code == 200
    doc = answer.get_json()
    assert doc["point_name"] == "stars" and doc["enrolment"] == "auto"
    assert doc["branding"] == {"primary_colour": "#aa0000", "text_colour": "#ffffff", "launcher_position": "right"}
    assert doc["earn"]["points"] == "1" and doc["earn"]["per"] == "10.00"
    assert doc["earn"]["per_display"] == "10,00\xa0zł"
    kinds = [w["kind"] for w in doc["ways"]]
    assert "signup" in kinds and "review" not in kinds and "referral" in kinds
    assert [(t["name"], t["threshold"]) for t in doc["tiers"]] == [("Bronze", "0"), ("Silver", "500"),
                                                                    ("Gold", "2000")]
    assert doc["tiers"][1]["perks"] == {"earn_multiplier": "1.5", "birthday_bonus": 50, "free_shipping": False}


def test_a_page_without_a_token_names_the_shop(client, world):
    assert get(client, "/program", domain="a.sandbox.test").get_json()["point_name"] == "stars"
    assert get(client, "/program").status_code == 401  # nobody and no shop named
    assert get(client, "/program", domain="nowhere.test").status_code == 404


def test_earn_rounds_down_at_the_shop_rate_and_a_member_gets_their_tier(client, world, db):
    assert get(client, "/earn", "guest", world, amount="129.99").get_json() == {
        "amount": "129.99", "points": 12, "currency": "PLN", "point_name": "stars"}
    assert get(client, "/earn", domain="a.sandbox.test", amount="9.99").get_json()["points"] == 0
    with db.uow() as s:
        member = s.query(LoyaltyMember).filter_by(shop_id=world["shop"], customer_id=world["anna"]).one()
        member.tier_id = s.query(Tier).filter_by(shop_id=world["shop"], name="Silver").one().id
        s.commit()
    assert get(client, "/earn", "anna", world, amount="100").get_json()["points"] == 15
    bad = get(client, "/earn", "guest", world, amount="lots")
    assert bad.status_code in (400, 422) and bad.content_type == PROBLEM and "amount" in json.dumps(bad.get_json())


def test_a_member_sees_balance_tier_and_progress(client, world):
    doc = get(client, "/me", "anna", world).get_json()
    assert doc["member"] is True and doc["can_join"] is False and doc["first_name"] == "Anna"
    assert doc["balance"] == {"pending": 35, "approved": 50, "spent": 0, "lifetime": 85}
    assert doc["tier"] == "Bronze" and doc["birthday_set"] is False and len(doc["referral_code"]) == 8
    assert doc["progress"] == {"basis": "spend", "current": "200.00", "next_tier": "Silver", "threshold": "500.00",
                               "remaining": "300.00", "remaining_display": "PLN\xa0300.00", "percent": 40}


def test_history_is_newest_first_in_the_shoppers_language_and_paged(client, world, db):
    doc = get(client, "/history", "anna", world, locale="pl").get_json()
    assert [(e["points"], e["state"], e["source"]) for e in doc["entries"]] == [(50, "approved", "signup"),
                                                                             (35, "pending", "order")]
    assert [e["reason"] for e in doc["entries"]] == ["Witamy w programie", "Punkty za zamówienie #1001"]
    assert doc["next_page"] is None
    assert get(client, "/history", "anna", world, locale="en").get_json()["entries"][1]["reason"] == \
        "Points for order #1001"
    with db.uow() as s:
        member = s.query(LoyaltyMember).filter_by(shop_id=world["shop"], customer_id=world["anna"]).one()
        for n in range(20):
            ledger.credit(s, member, 1, source="manual", source_id=f"m{n}", reason="%(note)s",
                          reason_params={"note": f"gift {n}"})
        s.commit()
    first = get(client, "/history", "anna", world).get_json()
    second = get(client, "/history", "anna", world, page=2).get_json()
    assert len(first["entries"]) == 20 and first["next_page"] == 2
    assert len(second["entries"]) == 2 and second["next_page"] is None
    assert first["entries"][0]["reason"] == "gift 19"


def test_a_guest_is_asked_to_sign_in_for_what_is_a_members(client, world):
    for path in ("/me", "/history"):
        answer = get(client, path, "guest", world)
        assert answer.status_code == 401 and answer.content_type == PROBLEM
        assert answer.get_json()["type"] == "urn:storecare:problem:sign-in-required"
    forged = client.get(f"{API}/me", headers={TOKEN_HEADER: world["tokens"]["anna"][:-2] + "xx"})
    assert forged.status_code == 401


def test_another_shops_shopper_never_sees_this_shops_member(client, world):
    doc = get(client, "/me", "cleo", world).get_json()
    assert doc["balance"] == {"pending": 0, "approved": 0, "spent": 0, "lifetime": 0} and doc["tier"] is None
    assert get(client, "/history", "cleo", world).get_json()["entries"] == []
    assert get(client, "/program", "cleo", world).get_json()["point_name"] == ""


def test_program_off_is_404_everywhere_and_the_widget_is_not_listed(client, world, db):
    listed = client.get("/storefront/api/v1/manifest", query_string={"shop": "a.sandbox.test"}).get_json()
    assert "loyalty" in [w["name"] for w in listed["widgets"]]
    program_on(db, world["shop"], enabled=False)
    for path in ("/program", "/me", "/history"):
        answer = get(client, path, "anna", world)
        assert answer.status_code == 404 and answer.content_type == PROBLEM, path
    assert get(client, "/earn", "guest", world, amount="10").status_code == 404
    assert post(client, "/join", {}, "ben", world).status_code == 404
    listed = client.get("/storefront/api/v1/manifest", query_string={"shop": "a.sandbox.test", "v": "2"}).get_json()
    assert "loyalty" not in [w["name"] for w in listed["widgets"]]


def test_the_manifest_puts_the_launcher_on_the_side_the_merchant_chose(client, world, db):
    def loyalty_entry(version: str) -> dict:
        listed = client.get("/storefront/api/v1/manifest", query_string={"shop": "a.sandbox.test", "v": version})
        return next(w for w in listed.get_json()["widgets"] if w["name"] == "loyalty")

    assert loyalty_entry("1")["side"] == "right"
    program_on(db, world["shop"], launcher_position="left")
    assert loyalty_entry("2")["side"] == "left"


def test_opt_in_join_once_with_the_signup_points(client, world, db):
    program_on(db, world["shop"], enrolment="opt_in", signup_points=50)
    before = get(client, "/me", "ben", world).get_json()
    assert before["member"] is False and before["can_join"] is True
    joined = post(client, "/join", {}, "ben", world)
    assert joined.status_code == 200, joined.get_json()
    assert joined.get_json()["member"] is True and joined.get_json()["balance"]["approved"] == 50
    again = post(client, "/join", {}, "ben", world, key="0e0c6f35-5d1e-4c41-8d4e-2f7a3b0c9d11")
    assert again.status_code == 200 and again.get_json()["balance"]["approved"] == 50
    with db.uow() as s:
        ben = s.query(LoyaltyMember).filter_by(shop_id=world["shop"], customer_id=world["ben"]).one()
        assert s.query(LedgerEntry).filter_by(shop_id=world["shop"], member_id=ben.id, source="signup").count() == 1
    assert post(client, "/join", {}, "guest", world).status_code == 401


def test_birthday_is_set_and_a_future_date_refused_naming_the_field(client, world, db):
    set_ = post(client, "/birthday", {"date": "1990-05-17"}, "anna", world)
    assert set_.status_code == 200 and set_.get_json()["birthday_set"] is True
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    refused = post(client, "/birthday", {"date": tomorrow}, "ben", world,
                   key="4b9d7a3e-1c2f-4e5a-8b6c-7d8e9f0a1b2c")
    assert refused.status_code == 422 and "date" in refused.get_json()["errors"]
    bad = post(client, "/birthday", {"date": "soon"}, "ben", world, key="5c9d7a3e-1c2f-4e5a-8b6c-7d8e9f0a1b2c")
    assert bad.status_code in (400, 422) and "date" in json.dumps(bad.get_json())
    with db.uow() as s:
        assert s.query(LoyaltyMember).filter_by(shop_id=world["shop"], customer_id=world["ben"]).count() == 0
        anna = s.query(LoyaltyMember).filter_by(shop_id=world["shop"], customer_id=world["anna"]).one()
        assert anna.birthday == date(1990, 5, 17)


def test_a_refusal_is_in_the_language_the_widget_asks_for(client, world):
    """The widget shows a refusal's field message to the shopper, so it comes in the widget's ``locale``."""
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    polish = post(client, "/birthday", {"date": tomorrow}, "anna", world, locale="pl",
                  key="7e1d7a3e-1c2f-4e5a-8b6c-7d8e9f0a1b2c")
    assert polish.status_code == 422
    assert polish.get_json()["errors"] == {"date": ["Ta data nie może być datą Twoich urodzin."]}
    refresh()  # the test's requests share the app fixture's context, where Flask-Babel keeps the language
    english = post(client, "/birthday", {"date": tomorrow}, "anna", world, locale="en",
                   key="8f1d7a3e-1c2f-4e5a-8b6c-7d8e9f0a1b2c")
    assert english.get_json()["errors"] == {"date": ["That date cannot be your birthday."]}
    refresh()
    guest = get(client, "/me", "guest", world, locale="pl").get_json()
    assert (guest["title"], guest["detail"]) == ("Zaloguj się, aby zobaczyć swoje punkty",
                                                 "Zaloguj się w sklepie, aby zobaczyć swoje punkty.")


def test_program_off_is_one_problem_on_every_loyalty_endpoint(client, world, db):
    program_on(db, world["shop"], enabled=False)
    answers = [get(client, "/program", "anna", world, locale="pl"),
               client.get("/storefront/api/v1/loyalty/rewards", query_string={"locale": "pl"},
                          headers={TOKEN_HEADER: world["tokens"]["anna"]})]
    assert {(a.status_code, a.get_json()["type"], a.get_json()["detail"]) for a in answers} == {
        (404, "urn:storecare:problem:loyalty-off", "Program lojalnościowy nie działa w tym sklepie.")}


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for rule in ("/program", "/earn", "/me", "/history", "/join", "/birthday"):
        assert f"/storefront/api/v1/loyalty{rule}" in paths and f"/proxy/api/v1/loyalty{rule}" in paths
