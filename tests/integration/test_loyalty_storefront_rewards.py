"""The loyalty widget's reward endpoints (plugin/loyalty/storefront_rewards.py) on SQLite and PostgreSQL:
the member's rewards, a redemption with its Idempotency-Key, refusals as problems naming the field in
the shopper's language, a guest asked to sign in, and one shop's shopper never reaching another's."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from plugin.loyalty.models import Redemption
from plugin.shops.models import Shop
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from plugin.sync.models import Customer
from tests import loyalty_support as support

API = "/storefront/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def shop(app, db, queue):
    return support.program(app, db, queue, points=900)


def token(db, shop_id, customer_id=None):
    with db.uow() as s:
        platform_id = s.get(Customer, customer_id).platform_id if customer_id else None
        return issue_shopper_token(s.get(Shop, shop_id), platform_id)


def headers(db, shop, customer_id="member", **extra):
    customer_id = shop.customer_id if customer_id == "member" else customer_id
    return {TOKEN_HEADER: token(db, shop.shop_id, customer_id), **extra}


def post(client, db, shop, body, key="6b0c5c1e-0f7b-4a38-9d1c-2a7c8f1e4b10", **extra):
    return client.post(f"{API}/loyalty/redemptions", data=json.dumps(body), content_type="application/json",
                       headers=headers(db, shop, **{"Idempotency-Key": key}, **extra))


def test_the_member_sees_their_rewards_and_what_they_can_afford(client, db, shop):
    cheap = support.reward(db, shop.shop_id, name="Free shipping", kind="free_shipping", value="15.00", cost=400)
    dear = support.reward(db, shop.shop_id, name="10% off", kind="percentage", value="10", cost=1000)

    answer = client.get(f"{API}/loyalty/rewards", headers=headers(db, shop))

    assert answer.status_code == 200
    assert answer.get_json() == {"balance": 900, "rewards": [
        {"id": cheap, "name": "Free shipping", "kind": "free_shipping", "cost": 400, "value": "15.00",
         "min_points": None, "max_points": None, "affordable": True},
        {"id": dear, "name": "10% off", "kind": "percentage", "cost": 1000, "value": "10.00",
         "min_points": None, "max_points": None, "affordable": False}]}


def test_a_redemption_answers_with_the_code_once_per_key_and_lists_it(client, db, shop):
    reward_id = support.reward(db, shop.shop_id, cost=500, code_expiry_days=14)

    first = post(client, db, shop, {"reward_id": reward_id})
    again = post(client, db, shop, {"reward_id": reward_id})

    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["code"].startswith("LOYAL-") and (body["reward"], body["points"]) == (reward_id, 500)
    assert (body["kind"], body["value"], body["reward_name"], body["status"]) == ("fixed_amount", "10.00", "10 off",
                                                                                  "issued")
    assert body["expires_at"]
    assert again.status_code == 201 and again.get_json() == body
    assert support.balance(db, shop.member_id)["approved"] == 400
    listed = client.get(f"{API}/loyalty/redemptions", headers=headers(db, shop)).get_json()
    assert [r["code"] for r in listed["redemptions"]] == [body["code"]]


def test_refusals_are_problems_naming_the_field_in_the_shoppers_language(client, db, shop):
    reward_id = support.reward(db, shop.shop_id, cost=1000)

    too_dear = post(client, db, shop, {"reward_id": reward_id})
    unknown = post(client, db, shop, {"reward_id": 4242}, key="2d3f7a52-5d0e-4d6a-8b1f-9d2c7b6e5a41")

    assert too_dear.status_code == 422 and too_dear.mimetype == PROBLEM
    assert too_dear.get_json()["errors"] == {"points": ["You need 100 more points."]}
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"reward": ["This reward does not exist."]}
    bad = post(client, db, shop, {"reward_id": "ten"}, key="9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")
    assert bad.status_code == 422 and "reward_id" in bad.get_json()["errors"]
    with db.uow() as s:
        assert s.scalars(select(Redemption)).all() == []
    assert support.balance(db, shop.member_id)["approved"] == 900


@pytest.mark.parametrize("reward_id", [2**31, 2**63, 2**80])
def test_a_reward_id_beyond_what_the_database_holds_is_an_unknown_reward(client, db, shop, reward_id):
    """Found by the OpenAPI run: such an id reached the database, which refused it with an error (a 500)."""
    answer = post(client, db, shop, {"reward_id": reward_id})
    assert answer.status_code == 422 and answer.get_json()["errors"] == {"reward": ["This reward does not exist."]}
    assert support.balance(db, shop.member_id)["approved"] == 900


def test_a_polish_shopper_reads_why_in_polish(client, db, shop):
    reward_id = support.reward(db, shop.shop_id, cost=1000)

    too_dear = post(client, db, shop, {"reward_id": reward_id}, **{"Accept-Language": "pl"})

    assert too_dear.status_code == 422
    assert too_dear.get_json()["errors"] == {"points": ["Potrzebujesz jeszcze 100 punktów."]}


def test_a_guest_is_asked_to_sign_in(client, db, shop):
    for answer in (client.get(f"{API}/loyalty/rewards", headers=headers(db, shop, customer_id=None)),
                   client.get(f"{API}/loyalty/rewards"),
                   post(client, db, shop, {"reward_id": 1}, customer_id=None)):
        assert answer.status_code == 401 and answer.mimetype == PROBLEM


def test_another_shops_shopper_never_reaches_this_shops_rewards_or_points(app, client, db, queue, shop):
    other = support.program(app, db, queue, domain="other.sandbox.test", points=5000)
    ours = support.reward(db, shop.shop_id, cost=100)
    support.reward(db, other.shop_id, cost=100, name="Theirs")

    theirs_seen = client.get(f"{API}/loyalty/rewards", headers=headers(db, other)).get_json()
    spent = post(client, db, other, {"reward_id": ours})

    assert [r["name"] for r in theirs_seen["rewards"]] == ["Theirs"]
    assert spent.status_code == 422 and spent.get_json()["errors"] == {"reward": ["This reward does not exist."]}
    assert support.balance(db, other.member_id)["approved"] == 5000
    assert support.balance(db, shop.member_id)["approved"] == 900


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"get"} <= set(paths[f"{API}/loyalty/rewards"])
    post_op = paths[f"{API}/loyalty/redemptions"]["post"]
    assert "201" in post_op["responses"] and "422" in post_op["responses"]
    assert "/proxy/api/v1/loyalty/redemptions" in paths


def test_a_customer_joins_on_redeeming_with_auto_enrolment_and_not_with_opt_in(client, db, shop):
    reward_id = support.reward(db, shop.shop_id, cost=100)
    with db.uow() as s:
        newcomer = s.scalars(select(Customer.id).where(Customer.shop_id == shop.shop_id,
                                                       Customer.id != shop.customer_id)).first()
    support.turn_on(db, shop.shop_id, enrolment="opt_in")

    seen = client.get(f"{API}/loyalty/rewards", headers=headers(db, shop, customer_id=newcomer)).get_json()
    refused = post(client, db, shop, {"reward_id": reward_id}, customer_id=newcomer)
    assert seen == {"balance": 0, "rewards": [{"id": reward_id, "name": "10 off", "kind": "fixed_amount",
                                               "cost": 100, "value": "10.00", "min_points": None,
                                               "max_points": None, "affordable": False}]}
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"member": ["Join the loyalty program first."]}

    support.turn_on(db, shop.shop_id, enrolment="auto")
    joined = post(client, db, shop, {"reward_id": reward_id}, customer_id=newcomer,
                  key="0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b")
    assert joined.status_code == 422 and joined.get_json()["errors"] == {"points": ["You need 100 more points."]}
    with db.uow() as s:
        from plugin.loyalty.members import member_of_customer
        assert member_of_customer(s, shop.shop_id, newcomer) is not None


def test_the_program_off_is_a_problem(client, db, shop):
    support.turn_on(db, shop.shop_id, enabled=False)
    answer = client.get(f"{API}/loyalty/rewards", headers=headers(db, shop))
    assert answer.status_code == 404 and answer.mimetype == PROBLEM


def test_a_reward_of_a_tier_is_listed_to_its_members_and_a_merchants_tier_change_shows_at_once(client, db, shop):
    """The widget's list is read from what the process keeps (plugin/read_cache.py): the tiers' order
    decides whether a manual tier (a floor) beats the one earned, and a change is listed at once."""
    from plugin.loyalty.models import LoyaltyMember, Tier

    with db.uow() as s:
        silver = Tier(shop_id=shop.shop_id, name="Silver", position=1)
        gold = Tier(shop_id=shop.shop_id, name="Gold", position=2)
        s.add_all([silver, gold])
        s.commit()
    everyone = support.reward(db, shop.shop_id, name="Everyone", cost=100)
    golden = support.reward(db, shop.shop_id, name="Gold only", cost=100, tier_ids=[gold.id])

    def listed():
        answer = client.get(f"{API}/loyalty/rewards", headers=headers(db, shop))
        return [r["id"] for r in answer.get_json()["rewards"]]

    def set_tiers(earned, manual):
        with db.uow() as s:
            member = s.get(LoyaltyMember, shop.member_id)
            member.tier_id, member.manual_tier_id = earned, manual
            s.commit()

    assert listed() == [everyone]
    set_tiers(gold.id, None)
    assert listed() == [everyone, golden]
    set_tiers(gold.id, silver.id)  # a floor below the tier earned changes nothing
    assert listed() == [everyone, golden]
    set_tiers(silver.id, gold.id)  # the merchant's floor above the tier earned counts
    assert listed() == [everyone, golden]
    set_tiers(silver.id, None)
    assert listed() == [everyone]
    with db.uow() as s:  # the tiers reordered: Silver now above Gold
        s.get(Tier, silver.id).position, s.get(Tier, gold.id).position = 3, 1
        s.commit()
    set_tiers(silver.id, gold.id)
    assert listed() == [everyone]
