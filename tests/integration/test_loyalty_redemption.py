"""Redeeming a reward (plugin/loyalty/redemption.py) against the sandbox store, on SQLite and PostgreSQL:
the code made on the platform, a retry with the same key, the platform's refusal giving the points back,
a transient failure finished later, the refusals before anything is written, and many redemptions
racing for a balance that covers one."""
from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from adapters.sandbox import discounts
from plugin.db import utcnow
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Redemption, Tier
from plugin.loyalty.redemption import RedemptionRefused, finish_pending, redeem, schedule_finish_pending
from tests import loyalty_support as support


@pytest.fixture
def shop(app, db, queue):
    return support.program(app, db, queue, points=1000)


def sandbox_code(shop, code):
    with shop.sandbox.store.writing() as conn:
        return discounts.find_code(conn, shop.sandbox.domain, code)


def entries(db, member_id) -> list[tuple[int, str]]:
    with db.uow() as s:
        return [(e.points, e.state) for e in s.scalars(select(LedgerEntry).where(
            LedgerEntry.member_id == member_id).order_by(LedgerEntry.id))]


def test_a_redemption_spends_the_points_and_the_store_has_a_single_use_code_for_that_customer(db, shop):
    reward_id = support.reward(db, shop.shop_id, min_order="50.00", code_expiry_days=30)

    done = redeem(db, shop.shop_id, shop.member_id, reward_id, key="k-1")

    assert done.status == "issued" and done.code.startswith("LOYAL-") and done.points == 500
    assert support.balance(db, shop.member_id)["approved"] == 500
    made = sandbox_code(shop, done.code)
    with db.uow() as s:
        from plugin.sync.models import Customer
        customer = s.get(Customer, shop.customer_id)
    assert (made.usage_limit, str(made.customer_id), made.minimum_subtotal) == (1, customer.platform_id,
                                                                                 done.value * 5)
    assert made.ends_at == done.expires_at and (done.expires_at - done.created_at).days == 30


def test_a_retry_with_the_same_key_returns_the_first_redemption_and_debits_once(db, shop):
    reward_id = support.reward(db, shop.shop_id)

    first = redeem(db, shop.shop_id, shop.member_id, reward_id, key="same")
    again = redeem(db, shop.shop_id, shop.member_id, reward_id, key="same")

    assert (again.id, again.code) == (first.id, first.code)
    assert support.balance(db, shop.member_id)["approved"] == 500
    assert entries(db, shop.member_id) == [(1000, "approved"), (-500, "spent")]


def test_a_platform_refusal_gives_the_points_back_and_says_why(db, shop):
    reward_id = support.reward(db, shop.shop_id, name="A free mug", kind="free_product", value="0",
                               free_product_id="987654321")  # the sandbox sells no such product

    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, shop.shop_id, shop.member_id, reward_id, key="mug")
    assert refused.value.field == "reward"
    assert refused.value.message == "The product of this reward is no longer in the store."
    assert support.balance(db, shop.member_id)["approved"] == 1000
    assert entries(db, shop.member_id) == [(1000, "approved"), (-500, "reversed")]
    with pytest.raises(RedemptionRefused):  # the same key again: the same answer, nothing spent again
        redeem(db, shop.shop_id, shop.member_id, reward_id, key="mug")
    assert support.balance(db, shop.member_id) == {"pending": 0, "approved": 1000, "spent": 0, "lifetime": 1000}
    with db.uow() as s:
        assert s.scalars(select(Redemption.status)).all() == ["refused"]


def test_a_refusal_is_in_the_shoppers_language(app, db, shop):
    reward_id = support.reward(db, shop.shop_id, cost=5000)
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        with pytest.raises(RedemptionRefused) as refused:
            redeem(db, shop.shop_id, shop.member_id, reward_id, key="pl")
    assert refused.value.field == "points" and "4000" in refused.value.message
    assert "You need" not in refused.value.message


def test_a_transient_failure_leaves_it_pending_and_the_same_key_finishes_it(db, shop):
    reward_id = support.reward(db, shop.shop_id)
    shop.sandbox.store.inject_failures(shop.sandbox.domain, 1)

    waiting = redeem(db, shop.shop_id, shop.member_id, reward_id, key="flaky")
    assert waiting.status == "pending" and sandbox_code(shop, waiting.code) is None
    assert support.balance(db, shop.member_id)["approved"] == 500  # held while the store is asked

    done = redeem(db, shop.shop_id, shop.member_id, reward_id, key="flaky")
    assert (done.id, done.status) == (waiting.id, "issued") and sandbox_code(shop, done.code) is not None
    assert support.balance(db, shop.member_id)["approved"] == 500


def test_the_job_finishes_redemptions_left_pending(db, queue, shop):
    from datetime import timedelta
    reward_id = support.reward(db, shop.shop_id)
    shop.sandbox.store.inject_failures(shop.sandbox.domain, 1)
    waiting = redeem(db, shop.shop_id, shop.member_id, reward_id, key="left")

    assert finish_pending(db, older_than=timedelta(minutes=5)) == 0  # too recent: its shopper may retry
    schedule_finish_pending()
    assert queue.drain() == 0
    with db.uow() as s:
        s.execute(update(Redemption).values(created_at=utcnow() - timedelta(minutes=6)))
        s.commit()
    schedule_finish_pending()  # what the worker runs every 5 minutes
    assert queue.drain() == 2  # the redemption finished, then the balance published
    with db.uow() as s:
        assert s.get(Redemption, waiting.id).status == "issued"
    assert finish_pending(db, older_than=timedelta(0)) == 0


def test_store_credit_is_added_once(db, shop):
    reward_id = support.reward(db, shop.shop_id, name="20 zł credit", kind="store_credit", value="20.00")

    done = redeem(db, shop.shop_id, shop.member_id, reward_id, key="credit")
    again = redeem(db, shop.shop_id, shop.member_id, reward_id, key="credit")

    assert done.status == "issued" and done.code is None and done.platform_id and again.id == done.id
    with shop.sandbox.store.reading() as conn:
        credits = conn.execute("SELECT COUNT(*), SUM(amount_cents) FROM store_credits").fetchone()
    assert tuple(credits) == (1, 2000)


def test_a_variable_reward_buys_money_in_steps(db, shop):
    reward_id = support.reward(db, shop.shop_id, name="Money off", kind="variable", cost=100, value="1.00",
                               min_points=100, max_points=800)
    for points in (None, 50, 150, 900):
        with pytest.raises(RedemptionRefused) as refused:
            redeem(db, shop.shop_id, shop.member_id, reward_id, key=f"v{points}", points=points)
        assert refused.value.field == "points"
    done = redeem(db, shop.shop_id, shop.member_id, reward_id, key="v300", points=300)
    assert (done.points, done.value, done.kind) == (300, Decimal("3.00"), "variable")
    assert sandbox_code(shop, done.code).value == done.value


def test_refusals_before_anything_is_written(db, shop, app):
    reward_id = support.reward(db, shop.shop_id, cost=1500)
    cases = [(reward_id, "points", "You need 500 more points."), (999_999, "reward", "This reward does not exist.")]
    for asked, field, message in cases:
        with pytest.raises(RedemptionRefused) as refused:
            redeem(db, shop.shop_id, shop.member_id, asked, key=str(uuid.uuid4()))
        assert (refused.value.field, refused.value.message) == (field, message)
    with db.uow() as s:
        gold = Tier(shop_id=shop.shop_id, name="Gold", position=2)
        s.add(gold)
        s.commit()
        gold_id = gold.id
    golden = support.reward(db, shop.shop_id, cost=100, tier_ids=[gold_id])
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, shop.shop_id, shop.member_id, golden, key="gold")
    assert refused.value.field == "reward"
    support.turn_on(db, shop.shop_id, enabled=False)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, shop.shop_id, shop.member_id, support.reward(db, shop.shop_id, cost=10), key="off")
    assert refused.value.field == "program"
    with db.uow() as s:
        assert s.scalar(select(func.count()).select_from(Redemption)) == 0
    assert entries(db, shop.member_id) == [(1000, "approved")]


def test_another_shops_reward_or_member_is_never_reachable(app, db, queue, shop):
    other = support.program(app, db, queue, domain="other.sandbox.test", points=1000)
    theirs = support.reward(db, other.shop_id, cost=10)
    ours = support.reward(db, shop.shop_id, cost=10)

    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, shop.shop_id, shop.member_id, theirs, key="x1")
    assert refused.value.field == "reward"
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, shop.shop_id, other.member_id, ours, key="x2")
    assert refused.value.field == "member"
    assert support.balance(db, other.member_id)["approved"] == 1000
    assert support.balance(db, shop.member_id)["approved"] == 1000


def test_concurrent_redemptions_against_a_balance_that_covers_one(app, db, shop):
    member_id = shop.member_id  # 1000 points: one reward of 1000
    reward_id = support.reward(db, shop.shop_id, cost=1000)
    threads, results, start = 8, [], threading.Barrier(8)
    lock = threading.Lock()

    def attempt(n: int) -> None:
        start.wait()
        with app.app_context():
            try:
                outcome = redeem(db, shop.shop_id, member_id, reward_id, key=f"race-{n}")
            except RedemptionRefused as exc:
                outcome = exc
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=attempt, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    won = [r for r in results if isinstance(r, Redemption)]
    lost = [r for r in results if isinstance(r, RedemptionRefused)]
    assert len(won) == 1 and won[0].status == "issued" and len(lost) == threads - 1
    assert {r.field for r in lost} == {"points"}
    with db.uow() as s:
        row = s.get(LoyaltyMember, member_id)
        assert (row.approved, row.spent) == (0, 1000)
        assert s.scalar(select(func.count()).select_from(Redemption)) == 1


def test_what_the_platform_cannot_do_is_refused_with_the_points_given_back(db, shop):
    reward_id = support.reward(db, shop.shop_id, collection_ids=["summer"])  # the sandbox has no collections

    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, shop.shop_id, shop.member_id, reward_id, key="collections")

    assert refused.value.message == "This store cannot limit a reward to collections."
    assert support.balance(db, shop.member_id)["approved"] == 1000
    with db.uow() as s:
        assert [(r.status, r.refusal) for r in s.scalars(select(Redemption))] == [
            ("refused", "This store cannot limit a reward to collections.")]
