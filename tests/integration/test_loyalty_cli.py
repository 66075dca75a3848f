"""``flask loyalty member`` and ``flask loyalty adjust``: the JSON shapes scripts rely on, reasons in
the member's language, refusals with exit status 1 and one line on stderr."""
import json
from datetime import datetime

import pytest

from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import Tier
from tests.factories import make_customer, make_shop

ISO = datetime.fromisoformat


@pytest.fixture
def world(db):
    with db.uow() as s:
        shop = make_shop(s)
        anna = make_customer(s, shop, email="anna@example.com", locale="pl")
        make_customer(s, shop, email="ben@example.com")
        other = make_shop(s, domain="other.sandbox.test")
        make_customer(s, other, email="anna@example.com")
        silver = Tier(shop_id=shop.id, name="Silver", position=1)
        s.add(silver)
        s.commit()
        member = ensure_member(s, shop.id, anna.id)
        member.tier_id = silver.id
        ledger.credit(s, member, 35, source="order", source_id="1", reason="Points for order %(number)s",
                      reason_params={"number": "#1001"}, pending=True)
        ledger.credit(s, member, 50, source="signup", source_id="s", reason="Welcome to the program")
        s.commit()
        return {"shop": shop.domain}


def run(app, *args):
    return app.test_cli_runner().invoke(args=["loyalty", *args])


def test_member_prints_the_document(app, world):
    result = run(app, "member", "--shop", world["shop"], "--email", "ANNA@example.com")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["email", "tier", "balance", "entries"]
    assert doc["email"] == "anna@example.com" and doc["tier"] == "Silver"
    assert doc["balance"] == {"pending": 35, "approved": 50, "spent": 0, "lifetime": 85}
    assert [list(e) for e in doc["entries"]] == [["points", "state", "reason", "source", "created_at"]] * 2
    newest, oldest = doc["entries"]
    assert (newest["points"], newest["state"], newest["source"]) == (50, "approved", "signup")
    assert newest["reason"] == "Witamy w programie"  # the member's language
    assert oldest["reason"] == "Punkty za zamówienie #1001"
    assert ISO(newest["created_at"]) >= ISO(oldest["created_at"]) and ISO(oldest["created_at"]).tzinfo


def test_adjust_adds_and_takes_points_and_prints_the_member(app, world):
    added = run(app, "adjust", "--shop", world["shop"], "--email", "anna@example.com", "--points", "15",
                "--reason", "Sorry for the delay")
    assert added.exit_code == 0, added.stderr
    doc = json.loads(added.stdout)
    assert doc["balance"]["approved"] == 65
    assert doc["entries"][0] == {**doc["entries"][0], "points": 15, "state": "approved", "source": "manual",
                                 "reason": "Sorry for the delay"}
    taken = run(app, "adjust", "--shop", world["shop"], "--email", "anna@example.com", "--points", "-65",
                "--reason", "Correction")
    assert taken.exit_code == 0 and json.loads(taken.stdout)["balance"]["approved"] == 0


@pytest.mark.parametrize("args", [
    ["--points", "-1", "--reason", "Too much"],
    ["--points", "10", "--reason", "  "],
    ["--points", "0", "--reason", "Nothing"],
])
def test_a_refused_adjustment_exits_1_with_one_line_and_writes_nothing(app, world, args):
    result = run(app, "adjust", "--shop", world["shop"], "--email", "ben@example.com", *args)
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    shown = run(app, "member", "--shop", world["shop"], "--email", "ben@example.com")
    assert shown.exit_code == 1  # ben was not enrolled by the refused adjustment


def test_unknown_shop_or_customer_is_refused(app, world):
    assert run(app, "member", "--shop", "nowhere.test", "--email", "anna@example.com").exit_code == 1
    unknown = run(app, "member", "--shop", world["shop"], "--email", "nobody@example.com")
    assert unknown.exit_code == 1 and "nobody@example.com" in unknown.stderr
    # anna of the other shop has no points: each shop's members are its own
    other = run(app, "member", "--shop", "other.sandbox.test", "--email", "anna@example.com")
    assert other.exit_code == 1
