"""plugin.read_cache on SQLite and PostgreSQL: what the storefront keeps a few seconds per process, how
a write committed in the process drops it at once, and what another process (another gunicorn worker)
sees of a change: the old value until the entry expires, and never for what decides a write."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from plugin import create_app
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember, Reward
from plugin.loyalty.rewards import create_reward
from plugin.models import metadata
from plugin.read_cache import ReadCache
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from tests.factories import make_customer, make_shop


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def cache(db):
    """A cache of its own on the app's sessions, with a clock the test moves."""
    clock = Clock()
    return ReadCache(db._sessions, clock=clock), clock


def counting(value):
    calls = []

    def load():
        calls.append(1)
        return value

    return load, calls


def test_a_value_is_kept_for_its_time_then_read_again(cache):
    reads, clock = cache
    load, calls = counting("v")
    assert [reads.get("k", load, Reward) for _ in range(3)] == ["v"] * 3
    assert len(calls) == 1
    clock.now += ReadCache.TTL + 0.01
    reads.get("k", load, Reward)
    assert len(calls) == 2


def test_a_committed_write_to_a_watched_model_drops_it_and_others_stay(cache, db):
    reads, _ = cache
    shop_id = _shop(db)
    rewards, rewards_calls = counting("rewards")
    other, other_calls = counting("other")
    reads.get("rewards", rewards, Reward)
    reads.get("other", other)  # watches nothing

    with db.uow() as session:
        create_reward(session, shop_id, {"name": "5 off", "kind": "fixed_amount", "cost": 100, "value": "5.00"})
        session.flush()
        reads.get("rewards", rewards, Reward)
        assert len(rewards_calls) == 1  # flushed, not committed: nothing changed for anyone else yet
        session.commit()
    reads.get("rewards", rewards, Reward)
    reads.get("other", other)
    assert (len(rewards_calls), len(other_calls)) == (2, 1)


def test_a_bulk_update_counts_and_a_rolled_back_write_does_not(cache, db):
    reads, _ = cache
    shop_id = _shop(db)
    with db.uow() as session:
        create_reward(session, shop_id, {"name": "5 off", "kind": "fixed_amount", "cost": 100, "value": "5.00"})
        session.commit()
    load, calls = counting("rewards")
    reads.get("k", load, Reward)

    with db.uow() as session:
        session.execute(update(Reward).where(Reward.shop_id == shop_id).values(active=False))
        session.rollback()
    reads.get("k", load, Reward)
    assert len(calls) == 1

    with db.uow() as session:
        session.execute(update(Reward).where(Reward.shop_id == shop_id).values(active=False))
        session.commit()
    reads.get("k", load, Reward)
    assert len(calls) == 2


def test_an_upsert_of_settings_executed_as_a_statement_counts(app, cache, db):
    """``shop_settings.save`` writes with INSERT ... ON CONFLICT on the table, not through an object."""
    from plugin.admin.models import ShopSetting
    from plugin.admin.shop_settings import save, section
    from plugin.loyalty.settings import DEFAULTS

    reads, _ = cache
    shop_id = _shop(db)
    load, calls = counting("program")
    reads.get("program", load, ShopSetting)
    with app.test_request_context(), db.uow() as session:
        save(session, shop_id, section(app, "loyalty"), {**DEFAULTS, "enabled": True})
    reads.get("program", load, ShopSetting)
    assert len(calls) == 2


def test_a_value_read_while_a_write_committed_is_not_kept(cache, db):
    """A load that began before the drop may hold what was there before the write: it is answered
    once, not kept for the next requests."""
    reads, _ = cache
    shop_id = _shop(db)
    loading, go_on = threading.Event(), threading.Event()

    def slow_load():
        loading.set()
        go_on.wait(10)
        return "before the write"

    reader = threading.Thread(target=lambda: reads.get("k", slow_load, Reward))
    reader.start()
    loading.wait(10)
    with db.uow() as session:
        create_reward(session, shop_id, {"name": "5 off", "kind": "fixed_amount", "cost": 100, "value": "5.00"})
        session.commit()
    go_on.set()
    reader.join(10)

    assert reads.get("k", lambda: "after the write", Reward) == "after the write"


def test_another_process_sees_a_reward_change_when_its_entry_expires_and_never_redeems_a_stale_one(
        settings_with, db):
    """Two apps on one database are two gunicorn workers: a reward the merchant turns off in one is
    listed by the other until the kept list expires; redeeming it there is refused all the same."""
    worker_a = create_app(settings_with())
    worker_b = create_app(settings_with())
    metadata.create_all(worker_a.extensions["storecare.db"].engine)
    clock = Clock()
    worker_b.extensions["storecare.db"].reads._clock = clock
    try:
        with worker_a.app_context():
            token, reward_id = _member_with_points(worker_a)
            a, b = worker_a.test_client(), worker_b.test_client()
            listed = b.get("/storefront/api/v1/loyalty/rewards", headers={TOKEN_HEADER: token})
            assert reward_id in [r["id"] for r in listed.get_json()["rewards"]]

            with worker_a.extensions["storecare.db"].uow() as session:
                session.get(Reward, reward_id).active = False
                session.commit()

            def listed_by(worker):
                answer = worker.get("/storefront/api/v1/loyalty/rewards", headers={TOKEN_HEADER: token})
                return [r["id"] for r in answer.get_json()["rewards"]]

            assert reward_id not in listed_by(a)  # the process that wrote it: at once
            assert reward_id in listed_by(b)  # another one: kept, for now
            refused = b.post("/storefront/api/v1/loyalty/redemptions", json={"reward_id": reward_id},
                             headers={TOKEN_HEADER: token, "Idempotency-Key": "k-stale-reward"})
            assert refused.status_code == 422 and "reward" in refused.get_json()["errors"]

            clock.now += ReadCache.TTL + 0.01
            assert reward_id not in listed_by(b)
            with worker_a.extensions["storecare.db"].uow() as session:
                assert ledger.balance(session.get(LoyaltyMember, _member_id(session)))["approved"] == 900
    finally:
        worker_a.extensions["storecare.db"].dispose()
        worker_b.extensions["storecare.db"].dispose()


def _shop(db) -> int:
    with db.uow() as session:
        shop = make_shop(session, domain="cache.sandbox.test")
        session.commit()
        return shop.id


def _member_with_points(app) -> tuple[str, int]:
    from flask import current_app

    from plugin.admin.shop_settings import save, section
    from plugin.loyalty.settings import DEFAULTS

    db = app.extensions["storecare.db"]
    with db.uow() as session:
        shop = make_shop(session, domain="cache.sandbox.test")
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "storefront-secret-" + "0" * 16})
        customer = make_customer(session, shop)
        session.commit()
        save(session, shop.id, section(current_app, "loyalty"), {**DEFAULTS, "enabled": True, "history": "zero"})
    with db.uow() as session:
        reward = create_reward(session, shop.id, {"name": "5 off", "kind": "fixed_amount", "cost": 100,
                                                  "value": "5.00"})
        ledger.credit(session, ensure_member(session, shop.id, customer.id), 900, source="manual",
                      source_id="test", reason="Test")
        session.commit()
        return issue_shopper_token(shop, customer.platform_id), reward.id


def _member_id(session) -> int:
    from sqlalchemy import select

    return session.scalar(select(LoyaltyMember.id))


def test_a_shopper_not_mirrored_yet_is_looked_up_again_and_sees_their_points_once_mirrored(settings_with, db):
    """A new customer's first order: their widget asks before the worker has mirrored them. Another
    process (the worker) mirrors and credits them; the next read shows the points, not "not a member"
    kept for a few seconds."""
    from flask import current_app

    from plugin.admin.shop_settings import save, section
    from plugin.loyalty.settings import DEFAULTS
    from plugin.shops.models import Shop

    worker = create_app(settings_with())
    web = create_app(settings_with())
    metadata.create_all(worker.extensions["storecare.db"].engine)
    try:
        with worker.app_context():
            wdb = worker.extensions["storecare.db"]
            with wdb.uow() as session:
                shop = make_shop(session, domain="new.sandbox.test")
                shop.credentials_encrypted = worker.extensions["storecare.vault"].encrypt(
                    {"storefront_secret": "storefront-secret-" + "0" * 16})
                session.commit()
                save(session, shop.id, section(current_app, "loyalty"), {**DEFAULTS, "enabled": True})
            with wdb.uow() as session:
                token = issue_shopper_token(session.get(Shop, shop.id), "c-new")
            client = web.test_client()
            before = client.get("/storefront/api/v1/loyalty/me", headers={TOKEN_HEADER: token})
            with wdb.uow() as session:
                customer = make_customer(session, session.get(Shop, shop.id))
                customer.platform_id = "c-new"
                session.commit()
                ledger.credit(session, ensure_member(session, shop.id, customer.id), 900, source="manual",
                              source_id="order", reason="Order")
                session.commit()
            after = client.get("/storefront/api/v1/loyalty/me", headers={TOKEN_HEADER: token})
    finally:
        worker.extensions["storecare.db"].dispose()
        web.extensions["storecare.db"].dispose()

    assert before.get_json()["balance"]["approved"] == 0
    assert after.get_json()["balance"]["approved"] == 900
