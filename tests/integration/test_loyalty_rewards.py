"""The rewards service (plugin/loyalty/rewards.py) on SQLite and PostgreSQL: what a reward may be, who
sees it, the default set, and what the rewards need from the platform."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from adapters.base import Capability
from plugin.loyalty import rewards
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import Tier
from plugin.shops.models import Shop
from tests.factories import make_customer, make_shop


@pytest.fixture
def world(db):
    with db.uow() as s:
        shop, other = make_shop(s), make_shop(s, domain="other.sandbox.test")
        customer = make_customer(s, shop)
        gold = Tier(shop_id=shop.id, name="Gold", position=2)
        s.add(gold)
        s.commit()
        member = ensure_member(s, shop.id, customer.id)
        s.commit()
        return {"shop": shop.id, "other": other.id, "member": member, "gold": gold.id}


@pytest.mark.parametrize(("values", "field"), [
    ({"kind": "percentage", "value": "0"}, "value"),
    ({"kind": "percentage", "value": "101"}, "value"),
    ({"cost": 0}, "cost"),
    ({"kind": "fixed_amount", "value": "0"}, "value"),
    ({"kind": "free_product", "value": "0"}, "free_product_id"),
    ({"kind": "variable", "value": "1", "cost": 100, "min_points": 100}, "max_points"),
    ({"kind": "variable", "value": "1", "cost": 100, "min_points": 150, "max_points": 1000}, "min_points"),
    ({"kind": "bitcoin"}, "kind"),
    ({"product_ids": ["1"], "collection_ids": ["2"]}, "collection_ids"),
])
def test_a_reward_out_of_its_rules_is_refused_naming_the_field(db, world, values, field):
    with db.uow() as s, pytest.raises(ValidationError) as refused:
        rewards.create_reward(s, world["shop"], {"name": "R", "kind": "fixed_amount", "cost": 100, "value": "5",
                                                 **values})
    assert field in refused.value.messages


def test_field_messages_are_in_polish_for_a_polish_merchant(app, db, world):
    with app.test_request_context(headers={"Accept-Language": "pl"}), db.uow() as s:
        with pytest.raises(ValidationError) as refused:
            rewards.create_reward(s, world["shop"], {"name": "R", "kind": "percentage", "cost": 0, "value": "120"})
    assert refused.value.messages["cost"] == ["Punkty to liczba całkowita od 1 do 10000000."]
    with app.test_request_context(headers={"Accept-Language": "pl"}), db.uow() as s:
        with pytest.raises(ValidationError) as refused:
            rewards.create_reward(s, world["shop"], {"name": "R", "kind": "percentage", "cost": 10, "value": "120"})
    assert refused.value.messages["value"] == ["Procent musi wynosić od 1 do 100."]


def test_members_see_active_rewards_of_their_shop_and_tier(db, world):
    with db.uow() as s:
        everyone = rewards.create_reward(s, world["shop"], {"name": "A", "kind": "free_shipping", "cost": 400})
        golden = rewards.create_reward(s, world["shop"], {"name": "B", "kind": "percentage", "cost": 800,
                                                          "value": "10", "tier_ids": [world["gold"]]})
        gone = rewards.create_reward(s, world["shop"], {"name": "C", "kind": "fixed_amount", "cost": 1,
                                                        "value": "1"})
        rewards.create_reward(s, world["other"], {"name": "D", "kind": "fixed_amount", "cost": 1, "value": "1"})
        rewards.deactivate_reward(s, world["shop"], gone.id)
        s.commit()
        member = world["member"]
        assert [r.id for r in rewards.visible_rewards(s, world["shop"], member)] == [everyone.id]
        assert rewards.visible_rewards(s, world["other"], member) == []
        member = s.merge(member)
        member.manual_tier_id = world["gold"]
        s.commit()
        assert [r.id for r in rewards.visible_rewards(s, world["shop"], member)] == [everyone.id, golden.id]
        with pytest.raises(rewards.RewardNotFound):
            rewards.update_reward(s, world["other"], everyone.id, {"cost": 1})
        with pytest.raises(ValidationError):  # a tier of another shop
            rewards.create_reward(s, world["other"], {"name": "E", "kind": "free_shipping", "cost": 1,
                                                      "tier_ids": [world["gold"]]})
        changed = rewards.update_reward(s, world["shop"], everyone.id, {"cost": 450})
        assert (changed.cost, changed.kind, changed.name) == (450, "free_shipping", "A")


def test_default_rewards_are_seeded_once(db, world):
    with db.uow() as s:
        seeded = rewards.default_rewards(s, world["shop"])
        s.commit()
        assert {r.kind for r in seeded} == {"fixed_amount", "percentage", "free_shipping", "variable"}
        assert rewards.default_rewards(s, world["shop"]) == []
        assert len(rewards.list_rewards(s, world["shop"])) == 4


POLISH_DEFAULTS = ["10,00\u00a0zł rabatu na zamówienie", "10% rabatu na zamówienie", "Darmowa dostawa",
                   "Rabat za punkty"]


@pytest.mark.parametrize(("locale", "currency", "in_request", "names"), [
    ("en", "USD", True, ["$10.00 off your order", "10% off your order", "Free shipping", "Points for money off"]),
    ("pl", "PLN", True, POLISH_DEFAULTS),
    ("pl_PL", "PLN", False, POLISH_DEFAULTS),
])
def test_default_rewards_are_named_in_the_shops_language(app, db, locale, currency, in_request, names):
    """Whoever turns the program on (a merchant whose admin is in English, a job with no request),
    the default rewards are named in the shop's language and money, for its shoppers to read."""
    with db.uow() as s:
        shop = make_shop(s, domain=f"{locale.lower()}.sandbox.test", locale=locale, currency=currency)
        s.commit()
        if in_request:
            with app.test_request_context(headers={"Accept-Language": "en"}):
                seeded = rewards.default_rewards(s, shop.id)
        else:
            seeded = rewards.default_rewards(s, shop.id)
        s.commit()
        assert [r.name for r in seeded] == names


def test_store_credit_is_needed_while_a_store_credit_reward_is_offered(db, world):
    with db.uow() as s:
        shop = s.get(Shop, world["shop"])
        assert rewards.platform_needs(s, shop) == ()
        credit = rewards.create_reward(s, world["shop"], {"name": "Credit", "kind": "store_credit", "cost": 100,
                                                          "value": "5"})
        s.commit()
        assert rewards.platform_needs(s, shop) == (Capability.STORE_CREDIT,)
        rewards.deactivate_reward(s, world["shop"], credit.id)
        s.commit()
        assert rewards.platform_needs(s, shop) == ()
