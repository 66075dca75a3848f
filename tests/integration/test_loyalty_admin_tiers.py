"""The loyalty admin's tiers editor: tiers listed, created, edited and deleted within the shop; a Preview
that says who moves up and who down without writing; Save writing and queueing the recalculation."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from plugin.admin.shop_settings import save, section
from plugin.jobs.models import JobRun
from plugin.loyalty import ledger, tiers
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember, Tier
from plugin.loyalty.settings import DEFAULTS
from tests.admin_support import CSRF, sign_in, text
from tests.factories import make_customer, make_shop


@pytest.fixture
def ladder(app, db):
    """Silver from 100 points, Gold from 500: Anna 600 (Gold), Jan 150 (Silver), Eve 0; a neighbour's tier."""
    with db.uow() as s:
        shop = make_shop(s, name="Ceramika")
        other = make_shop(s, domain="other.sandbox.test", name="Other")
        customers = {n: make_customer(s, shop, email=f"{n}@example.com") for n in ("anna", "jan", "eve")}
        s.commit()
        save(s, shop.id, section(app, "loyalty"), {**DEFAULTS, "enabled": True, "tier_basis": "points",
                                                   "tier_period": "lifetime"})
        silver = tiers.create_tier(s, shop.id, {"name": "Silver", "entry_threshold": "100"})
        gold = tiers.create_tier(s, shop.id, {"name": "Gold", "entry_threshold": "500"})
        foreign = tiers.create_tier(s, other.id, {"name": "Elsewhere", "entry_threshold": "1"})
        members = {n: ensure_member(s, shop.id, c.id) for n, c in customers.items()}
        s.commit()
        for name, points in (("anna", 600), ("jan", 150)):
            ledger.credit(s, members[name], points, source="manual", source_id=name, reason="Welcome")
        members["anna"].tier_id, members["jan"].tier_id = gold.id, silver.id
        s.commit()
        return {"shop": shop.id, "silver": silver.id, "gold": gold.id, "foreign": foreign.id,
                **{n: m.id for n, m in members.items()}}


def form(**values):
    return {"csrf_token": CSRF, "name": "Gold", "entry_threshold": "700", "retention_threshold": "700",
            "earn_multiplier": "1.5", "birthday_bonus": "50", **values}


def queued(db, shop_id):
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(JobRun).where(
            JobRun.shop_id == shop_id, JobRun.name == "loyalty.recalculate_tiers"))


def test_tiers_are_listed_within_the_shop(client, ladder):
    sign_in(client, ladder["shop"])
    page = client.get("/admin/loyalty/tiers")
    assert page.status_code == 200
    assert re.findall(r'data-tier="(\d+)"', page.text) == [str(ladder["silver"]), str(ladder["gold"])]
    assert "Elsewhere" not in text(page)
    assert client.get(f"/admin/loyalty/tiers/{ladder['foreign']}").status_code == 404


def test_preview_says_who_moves_and_writes_nothing_then_save_writes_and_queues_the_recalculation(client, db, ladder):
    sign_in(client, ladder["shop"])
    url = f"/admin/loyalty/tiers/{ladder['gold']}"
    shown = client.post(url, data={**form(), "action": "preview"})
    assert shown.status_code == 200
    counts = dict(re.findall(r'data-moves="(\w+)">(\d+)<', shown.text))
    assert counts == {"up": "0", "down": "1"}
    listed = [re.sub(r"<[^>]+>", "", item) for item in re.findall(r'data-move="down">(.*?)</li>', shown.text)]
    assert listed == ["anna@example.com: Gold → Silver"]
    rows = re.findall(r'data-preview-tier="(\w*)"><td>.*?</td><td class="num">(\d+)</td><td class="num">(\d+)<',
                      shown.text)
    assert rows == [("Silver", "1", "2"), ("Gold", "1", "0"), ("", "1", "1")]
    assert 'value="700"' in shown.text  # the typed values stay in the form
    with db.uow() as s:
        assert s.get(Tier, ladder["gold"]).entry_threshold == Decimal("500")
    assert queued(db, ladder["shop"]) == 0
    saved = client.post(url, data={**form(), "action": "save"})
    assert saved.status_code == 302
    with db.uow() as s:
        gold = s.get(Tier, ladder["gold"])
        assert (gold.entry_threshold, gold.earn_multiplier, gold.birthday_bonus) == (700, Decimal("1.5"), 50)
    assert queued(db, ladder["shop"]) == 1
    created = client.post("/admin/loyalty/tiers", data={**form(name="Platinum", entry_threshold="2000",
                                                                retention_threshold=""), "action": "save"})
    assert created.status_code == 302
    assert queued(db, ladder["shop"]) == 1  # one recalculation waiting covers both changes


def test_bad_input_is_shown_at_the_field_and_nothing_is_written(client, db, ladder):
    sign_in(client, ladder["shop"])
    for values, field in (({"entry_threshold": "lots"}, "entry_threshold"), ({"name": "silver"}, "name"),
                          ({"retention_threshold": "900"}, "retention_threshold")):
        for action in ("preview", "save"):
            bad = client.post(f"/admin/loyalty/tiers/{ladder['gold']}", data={**form(**values), "action": action})
            assert bad.status_code == 422
            assert re.search(rf'data-error="{field}">[^<]+<', bad.text)
    with db.uow() as s:
        assert s.get(Tier, ladder["gold"]).name == "Gold"
    assert queued(db, ladder["shop"]) == 0
    for url in (f"/admin/loyalty/tiers/{ladder['foreign']}", f"/admin/loyalty/tiers/{ladder['foreign']}/delete"):
        assert client.post(url, data={**form(), "action": "save"}).status_code == 404
    with db.uow() as s:
        assert s.get(Tier, ladder["foreign"]).name == "Elsewhere"


def test_a_tier_is_deleted_and_its_members_wait_for_the_recalculation(client, db, ladder):
    sign_in(client, ladder["shop"])
    assert client.post(f"/admin/loyalty/tiers/{ladder['gold']}/delete", data={"csrf_token": CSRF}).status_code == 302
    with db.uow() as s:
        assert s.get(Tier, ladder["gold"]) is None
        assert s.get(LoyaltyMember, ladder["anna"]).tier_id is None
    assert queued(db, ladder["shop"]) == 1


def test_the_editor_speaks_polish(client, ladder):
    sign_in(client, ladder["shop"])
    client.post("/admin/language", data={"csrf_token": CSRF, "lang": "pl"})
    body = text(client.post(f"/admin/loyalty/tiers/{ladder['gold']}", data={**form(), "action": "preview"}))
    assert "Preview: who moves up, who moves down" not in body and "Threshold to enter" not in body
