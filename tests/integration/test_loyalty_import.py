"""Turning the program on imports past orders once: credited as approved entries by the rules,
refunds taken back, cancelled, deleted and foreign-currency orders left out, guest orders counted for
the customer with their email, orders credited live not counted twice; "zero" imports nothing."""
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from plugin.admin import shop_settings
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.loyalty.importing import IMPORT_JOB, import_history
from plugin.loyalty.models import LedgerEntry, LoyaltyMember
from plugin.loyalty.settings import DEFAULTS
from plugin.shops.models import Shop
from plugin.sync.models import Customer
from tests.factories import T0, make_customer, make_order, make_shop
from tests.loyalty_support import deliver, paid, program_on


@pytest.fixture
def world(db):
    with db.uow() as s:
        shop = make_shop(s)
        other = make_shop(s, domain="other.sandbox.test")
        anna = make_customer(s, shop, email="anna@example.com")
        ben = make_customer(s, shop, email="ben@example.com")
        make_order(s, shop, anna, total="100.00")
        make_order(s, shop, anna, total="50.00", refunded="20.00")
        make_order(s, shop, anna, total="30.00", cancelled_at=T0)
        make_order(s, shop, anna, total="40.00", deleted_at=T0)
        guest = make_order(s, shop, None, total="25.00")
        guest.email = "Ben@Example.com"
        make_order(s, shop, None, total="5.00")  # a guest nobody matches
        make_order(s, shop, ben, total="60.00", financial_status="pending")  # never paid
        make_order(s, other, make_customer(s, other, email="anna@example.com"), total="999.00")
        s.commit()
        return {"shop": shop.id, "other": other.id, "anna": anna.id, "ben": ben.id}


def save(db, shop_id, **changes):
    with db.uow() as s:
        return shop_settings.save(s, shop_id, shop_settings.section(current_app, "loyalty"),
                                  {**DEFAULTS, **changes})


def balances(db, shop_id):
    with db.uow() as s:
        return {s.get(Customer, m.customer_id).email: (m.approved, m.lifetime)
                for m in s.scalars(select(LoyaltyMember).where(LoyaltyMember.shop_id == shop_id))}


def test_turning_the_program_on_imports_history_once(db, queue, world):
    save(db, world["shop"], enabled=True, signup_points=0)
    save(db, world["shop"], enabled=True, signup_points=0, earn_points="2")  # still on: no second import
    save(db, world["shop"], enabled=False)
    save(db, world["shop"], enabled=True)  # on again: history was imported already
    with db.uow() as s:
        runs = s.scalars(select(JobRun).where(JobRun.name == IMPORT_JOB)).all()
        assert [r.shop_id for r in runs] == [world["shop"]]
    queue.drain()
    # anna: 100 + 50 less the 20 refunded; ben: his guest order, 25 (points by the rules in force)
    got = balances(db, world["shop"])
    assert got == {"anna@example.com": (130, 130), "ben@example.com": (25, 25)}
    assert balances(db, world["other"]) == {}
    with db.uow() as s:
        rows = sorted((e.source, e.points, e.state) for e in s.scalars(
            select(LedgerEntry).where(LedgerEntry.shop_id == world["shop"])))
    assert rows == [("import", 25, "approved"), ("import", 50, "approved"), ("import", 100, "approved"),
                    ("refund", -20, "reversed")]
    until = utcnow()
    assert import_history(db, world["shop"], until) == 0  # run again: nothing more
    assert balances(db, world["shop"]) == got


def test_history_zero_imports_nothing(db, queue, world):
    save(db, world["shop"], enabled=True, history="zero")
    queue.drain()
    with db.uow() as s:
        assert s.scalars(select(JobRun).where(JobRun.name == IMPORT_JOB)).all() == []
    assert balances(db, world["shop"]) == {}


def test_an_order_credited_live_is_not_imported_and_an_imported_one_not_credited_live(db, world):
    program_on(db, world["shop"], signup_points=0)
    with db.uow() as s:
        live = make_order(s, s.get(Shop, world["shop"]), s.get(Customer, world["anna"]), total="10.00")
        s.commit()
        s.refresh(live)
        s.expunge(live)
    deliver(db, world["shop"], paid(live))
    assert import_history(db, world["shop"], utcnow() + timedelta(seconds=1), batch=2) == 3
    with db.uow() as s:
        anna = s.scalar(select(LoyaltyMember).where(LoyaltyMember.customer_id == world["anna"]))
        assert (anna.pending, anna.approved) == (10, 130)
        old = s.scalar(select(LedgerEntry).where(LedgerEntry.source == "import",
                                                 LedgerEntry.amount == Decimal("100.00")))
        from plugin.sync.models import Order
        old_order = s.get(Order, old.order_id)
        s.expunge(old_order)
    deliver(db, world["shop"], paid(old_order))  # its event, late: already imported
    with db.uow() as s:
        anna = s.scalar(select(LoyaltyMember).where(LoyaltyMember.customer_id == world["anna"]))
        assert (anna.pending, anna.approved) == (10, 130)


def test_with_opt_in_only_members_who_joined_get_their_history(db, world):
    from plugin.loyalty.enrolment import join
    program_on(db, world["shop"], signup_points=0, enrolment="opt_in")
    with db.uow() as s:
        join(s, world["shop"], world["ben"])
        s.commit()
    import_history(db, world["shop"], utcnow())
    assert balances(db, world["shop"]) == {"ben@example.com": (25, 25)}


def test_the_import_job_waits_for_the_shops_first_sync(db, queue, world):
    from plugin.jobs.queue import TransientJobError
    from plugin.loyalty.importing import import_history_job
    program_on(db, world["shop"], signup_points=0)
    with db.uow() as s:
        backfill = queue.enqueue(s, "sync.backfill", {"shop_id": world["shop"]}, shop_id=world["shop"])
        s.commit()
    with pytest.raises(TransientJobError):
        import_history_job(world["shop"], utcnow().isoformat())
    assert balances(db, world["shop"]) == {}
    with db.uow() as s:
        s.get(JobRun, backfill.id).status = "succeeded"
        s.commit()
    import_history_job(world["shop"], utcnow().isoformat())
    assert balances(db, world["shop"])["anna@example.com"] == (130, 130)
