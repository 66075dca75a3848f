"""``flask loyalty rewards`` and ``flask loyalty redeem`` (plugin/loyalty/cli_rewards.py): their JSON, and
exit status 1 with one line on stderr when a redemption is refused."""
from __future__ import annotations

import json

import pytest

from plugin.loyalty.models import Redemption
from tests import loyalty_support as support


@pytest.fixture
def shop(app, db, queue):
    return support.program(app, db, queue, points=600)


def run(app, *args):
    return app.test_cli_runner().invoke(args=["loyalty", *args])


def test_rewards_lists_the_active_rewards_as_json(app, db, shop):
    ten = support.reward(db, shop.shop_id, name="10 off", cost=500)
    ship = support.reward(db, shop.shop_id, name="Free shipping", kind="free_shipping", value="0", cost=400)
    support.reward(db, shop.shop_id, name="Old", active=False)

    result = run(app, "rewards", "--shop", shop.sandbox.domain)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [  # the shop's order: by position, then the cheapest first
        {"id": ship, "name": "Free shipping", "kind": "free_shipping", "cost": 400},
        {"id": ten, "name": "10 off", "kind": "fixed_amount", "cost": 500}]


def test_redeem_prints_the_code_and_a_retry_with_the_key_acts_once(app, db, shop):
    reward_id = support.reward(db, shop.shop_id, cost=500)
    args = ("redeem", "--shop", shop.sandbox.domain, "--email", shop.email.upper(), "--reward", str(reward_id),
            "--key", "ops-1")

    first, again = run(app, *args), run(app, *args)

    assert first.exit_code == 0, first.output
    printed = json.loads(first.stdout)
    assert set(printed) == {"code", "reward", "points"} and printed["code"].startswith("LOYAL-")
    assert (printed["reward"], printed["points"]) == (reward_id, 500)
    assert json.loads(again.stdout) == printed
    assert support.balance(db, shop.member_id)["approved"] == 100
    with db.uow() as s:
        assert s.query(Redemption).count() == 1


def test_a_refused_redemption_exits_1_with_one_line_on_stderr(app, db, shop):
    reward_id = support.reward(db, shop.shop_id, cost=1000)

    result = run(app, "redeem", "--shop", shop.sandbox.domain, "--email", shop.email, "--reward", str(reward_id))

    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == "refused (points): You need 400 more points.\n"
    for args, message in ((("--email", "nobody@example.com", "--reward", str(reward_id)), "no member"),
                          (("--email", shop.email, "--reward", "424242"), "This reward does not exist.")):
        result = run(app, "redeem", "--shop", shop.sandbox.domain, *args)
        assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1
    assert run(app, "rewards", "--shop", "nowhere.test").exit_code == 1


def test_a_customer_is_enrolled_on_redeeming_with_auto_enrolment(app, db, queue, shop):
    from sqlalchemy import select

    from plugin.loyalty.members import member_by_email
    from plugin.sync.models import Customer
    with db.uow() as s:
        other = s.scalars(select(Customer).where(Customer.shop_id == shop.shop_id, Customer.id != shop.customer_id,
                                                 Customer.email.is_not(None))).first()
    reward_id = support.reward(db, shop.shop_id, cost=10)

    result = run(app, "redeem", "--shop", shop.sandbox.domain, "--email", other.email, "--reward", str(reward_id))

    assert result.exit_code == 1 and "You need 10 more points." in result.stderr
    with db.uow() as s:
        assert member_by_email(s, shop.shop_id, other.email) is not None
