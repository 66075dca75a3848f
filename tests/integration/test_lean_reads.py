"""plugin/lean_reads.py: the storefront's one-statement reads on a SQLite file, run on a connection of
the thread's own without SQLAlchemy's execution. They answer as SQLAlchemy would, see every write the
moment it commits, never hold the write-ahead log, and are closed with the database."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import bindparam, select, text

from plugin.loyalty.models import Tier
from plugin.loyalty.storefront_rewards import _TIER_POSITIONS
from plugin.shops.models import Shop
from plugin.storefront.identity import _CUSTOMER, _INSTALLED_ON
from tests.conftest import only_on
from tests.factories import make_customer, make_shop

pytestmark = only_on("sqlite", "the SQLite path")


def _shop_with_tiers(db) -> int:
    with db.uow() as session:
        shop = make_shop(session, domain="lean.sandbox.test")
        session.add_all([Tier(shop_id=shop.id, name="Bronze", position=0),
                         Tier(shop_id=shop.id, name="Silver", position=1)])
        make_customer(session, shop).platform_id = "c-lean"
        session.commit()
        return shop.id


def test_a_lean_read_answers_what_sqlalchemy_answers_named_as_its_columns(db):
    shop_id = _shop_with_tiers(db)
    named = select(Shop.id.label("shop"), Shop.domain).where(Shop.id == bindparam("shop_id"))
    for statement, params in ((_TIER_POSITIONS, {"shop_id": shop_id}),
                              (_CUSTOMER, {"shop_id": shop_id, "platform_id": "c-lean"}),
                              (named, {"shop_id": shop_id}),
                              (_INSTALLED_ON, {"domain": "lean.sandbox.test"})):  # an Enum: through SQLAlchemy
        with db.engine.connect() as conn:
            expected = conn.execute(statement, params).all()
        got = db.read(statement, params)
        assert [tuple(row) for row in got] == [tuple(row) for row in expected]
        assert [row._asdict() for row in got] == [row._asdict() for row in expected]
    assert db._lean.plan(_TIER_POSITIONS) is not None and db._lean.plan(_INSTALLED_ON) is None


def test_a_write_is_read_the_moment_it_commits_and_the_log_is_never_held(db):
    shop_id = _shop_with_tiers(db)
    before = dict(db.read(_TIER_POSITIONS, {"shop_id": shop_id}))  # two rows: every one fetched
    with db.uow() as session:
        session.add(Tier(shop_id=shop_id, name="Gold", position=2))
        session.commit()
    after = dict(db.read(_TIER_POSITIONS, {"shop_id": shop_id}))
    assert sorted(before.values()) == [0, 1] and sorted(after.values()) == [0, 1, 2]
    with db.engine.connect() as conn:  # a reader still inside a snapshot would make this busy
        busy, _pages, _moved = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    assert busy == 0


def test_each_thread_reads_on_its_own_connection_and_dispose_closes_them_all(db):
    shop_id = _shop_with_tiers(db)
    seen = []

    def read():
        db.read(_TIER_POSITIONS, {"shop_id": shop_id})
        seen.append(db._lean._local.conn)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(conn) for conn in seen}) == 3
    db.dispose()
    for conn in seen:
        with pytest.raises(Exception, match="closed"):
            conn.execute("SELECT 1")
