"""The loyalty admin's rewards editor: rewards listed, created, edited and deactivated within the shop,
limited to tiers with checkboxes; the rewards' own validation shown at each field, nothing written."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from plugin.loyalty.models import Reward, Tier
from plugin.loyalty.rewards import create_reward
from tests.admin_support import CSRF, sign_in, text
from tests.factories import make_shop


@pytest.fixture
def shop(db):
    with db.uow() as s:
        shop = make_shop(s, name="Ceramika", currency="PLN")
        other = make_shop(s, domain="other.sandbox.test", name="Other")
        gold = Tier(shop_id=shop.id, name="Gold", position=0)
        foreign_tier = Tier(shop_id=other.id, name="Elsewhere", position=0)
        s.add_all([gold, foreign_tier])
        s.flush()
        mine = create_reward(s, shop.id, {"name": "10 off", "kind": "fixed_amount", "cost": 500, "value": "10"})
        theirs = create_reward(s, other.id, {"name": "Secret", "kind": "percentage", "cost": 100, "value": "50"})
        s.commit()
        return {"shop": shop.id, "gold": gold.id, "foreign_tier": foreign_tier.id, "mine": mine.id,
                "theirs": theirs.id}


def form(**values):
    data = {"csrf_token": CSRF, "name": "Free mug", "kind": "free_product", "cost": "900", "value": "0",
            "free_product_id": "gid://shopify/Product/7", "active": "1"}
    data.update(values)
    return data


def rewards(db, shop_id):
    with db.uow() as s:
        return {r.name: r for r in s.scalars(select(Reward).where(Reward.shop_id == shop_id))}


def test_rewards_are_listed_within_the_shop(client, shop):
    sign_in(client, shop["shop"])
    page = client.get("/admin/loyalty/rewards")
    assert page.status_code == 200
    assert re.findall(r'data-reward="(\d+)"', page.text) == [str(shop["mine"])]
    assert "Secret" not in text(page)
    assert client.get(f"/admin/loyalty/rewards/{shop['theirs']}").status_code == 404


def test_a_reward_is_created_limited_to_a_tier_edited_and_deactivated(client, db, shop):
    sign_in(client, shop["shop"])
    created = client.post("/admin/loyalty/rewards", data={**form(), "tier_ids": [str(shop["gold"])],
                                                          "combines_with": ["shipping"]})
    assert created.status_code == 302
    mug = rewards(db, shop["shop"])["Free mug"]
    assert (mug.kind, mug.cost, mug.free_product_id, mug.tier_ids, mug.combines_with, mug.active) == \
        ("free_product", 900, "gid://shopify/Product/7", [shop["gold"]], ["shipping"], True)
    page = client.get(created.headers["Location"])
    assert re.search(rf'name="tier_ids" value="{shop["gold"]}" checked', page.text)
    edited = client.post(f"/admin/loyalty/rewards/{mug.id}", data=form(name="Free big mug", cost="1200"))
    assert edited.status_code == 302
    mug = rewards(db, shop["shop"])["Free big mug"]
    assert (mug.cost, mug.tier_ids) == (1200, [])
    for _ in range(2):  # a second click changes nothing
        assert client.post(f"/admin/loyalty/rewards/{mug.id}/deactivate", data={"csrf_token": CSRF}).status_code == 302
    assert rewards(db, shop["shop"])["Free big mug"].active is False
    assert "Deactivated" in text(client.get("/admin/loyalty/rewards"))


def test_bad_input_is_shown_at_each_field_and_nothing_is_written(client, db, shop):
    sign_in(client, shop["shop"])
    before = len(rewards(db, shop["shop"]))
    bad = client.post("/admin/loyalty/rewards", data=form(kind="percentage", value="150", cost="lots",
                                                          free_product_id=""))
    assert bad.status_code == 422
    errors = dict(re.findall(r'data-error="(\w+)">([^<]+)<', bad.text))
    assert errors["cost"] == "Enter a whole number."
    assert 'value="lots"' in bad.text  # shown again as typed
    no_value = client.post("/admin/loyalty/rewards", data=form(kind="percentage", value="150"))
    assert dict(re.findall(r'data-error="(\w+)">([^<]+)<', no_value.text))["value"] == \
        "A percentage is between 1 and 100."
    foreign = client.post("/admin/loyalty/rewards", data={**form(), "tier_ids": [str(shop["foreign_tier"])]})
    assert foreign.status_code == 422
    assert dict(re.findall(r'data-error="(\w+)">([^<]+)<', foreign.text))["tier_ids"] == "Choose tiers of this shop."
    assert len(rewards(db, shop["shop"])) == before
    assert client.post(f"/admin/loyalty/rewards/{shop['theirs']}", data=form()).status_code == 404
    assert client.post(f"/admin/loyalty/rewards/{shop['theirs']}/deactivate",
                       data={"csrf_token": CSRF}).status_code == 404
    with db.uow() as s:
        theirs = s.get(Reward, shop["theirs"])
        assert (theirs.name, theirs.active, theirs.value) == ("Secret", True, Decimal("50.00"))
        assert s.scalar(select(func.count()).select_from(Reward)) == before + 1


def test_the_editor_speaks_polish(client, shop):
    sign_in(client, shop["shop"])
    client.post("/admin/language", data={"csrf_token": CSRF, "lang": "pl"})
    bad = client.post("/admin/loyalty/rewards", data=form(cost="lots"))
    body = text(bad)
    assert "Enter a whole number." not in body and "Points it costs" not in body


@pytest.mark.parametrize("path", ["/admin/loyalty/members", "/admin/loyalty/rewards", "/admin/loyalty/tiers"])
def test_every_loyalty_page_marks_loyalty_in_the_navigation(client, shop, path):
    """The item opens the members page, and stands for the section: on the rewards page it was the
    overview that was marked, as /admin/ is a prefix of every page."""
    sign_in(client, shop["shop"])

    active = re.findall(r'<a href="([^"]+)" class="sidebar__link is-active"', client.get(path).text)

    assert active == ["/admin/loyalty/members"]
