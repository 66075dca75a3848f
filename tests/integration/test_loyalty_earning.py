"""Points from the shop's events through the real subscriber: the earning rules, pending until the
return window passes (approved by the job), refunds and cancellations taking points back in proportion
even after approval (owed, never below zero), redelivered events counting once (SQLite and PostgreSQL)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from plugin.db import utcnow
from plugin.loyalty import earning, ledger
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.loyalty.rounds import APPROVE_JOB, approve_due
from plugin.loyalty.tasks import enqueue_approvals
from plugin.sync.events import Event
from plugin.sync.models import Order
from tests.factories import T0, make_customer, make_order, make_shop
from tests.loyalty_support import (
    cancelled,
    customer_created,
    deleted,
    deliver,
    fulfilled,
    line,
    paid,
    program_on,
    refunded,
)


@pytest.fixture
def world(db):
    with db.uow() as s:
        shop = make_shop(s)
        anna = make_customer(s, shop, email="anna@example.com")
        s.commit()
        return {"shop": shop.id, "anna": anna.id}


def order_of(db, world, total="100.00", customer=True, **kw) -> Order:
    with db.uow() as s:
        from plugin.shops.models import Shop
        from plugin.sync.models import Customer
        shop = s.get(Shop, world["shop"])
        order = make_order(s, shop, s.get(Customer, world["anna"]) if customer else None, total=total, **kw)
        s.commit()
        s.refresh(order)
        s.expunge(order)
        return order


def member(db, world) -> LoyaltyMember | None:
    with db.uow() as s:
        return s.scalar(select(LoyaltyMember).where(LoyaltyMember.shop_id == world["shop"],
                                                    LoyaltyMember.customer_id == world["anna"]))


def balances(db, world) -> tuple[int, int, int, int]:
    m = member(db, world)
    return (m.pending, m.approved, m.owed, m.lifetime)


def entries(db, world) -> list[tuple[str, int, str]]:
    with db.uow() as s:
        return [(e.source, e.points, e.state) for e in s.scalars(select(LedgerEntry).where(
            LedgerEntry.shop_id == world["shop"]).order_by(LedgerEntry.id))]


def test_a_paid_order_earns_pending_points_by_the_rule_rounded_down(db, world):
    program_on(db, world["shop"], earn_points="2.5", earn_per="10", signup_points=0)
    order = order_of(db, world, total="123.45")
    deliver(db, world["shop"], paid(order))
    # 123.45 / 10 * 2.5 = 30.8625 -> 30
    assert balances(db, world) == (30, 0, 0, 30)
    assert entries(db, world) == [("order", 30, "pending")]


def test_shipping_and_tax_count_only_when_the_program_says_so(db, world):
    program_on(db, world["shop"], signup_points=0, include_shipping=False, include_tax=False)
    first = order_of(db, world, total="130.00")
    # subtotal 100, tax 20, so shipping 10: only the 100 counts
    deliver(db, world["shop"], paid(first, subtotal="100.00", tax="20.00"))
    assert member(db, world).pending == 100
    program_on(db, world["shop"], signup_points=0, include_shipping=True, include_tax=True)
    second = order_of(db, world, total="130.00")
    deliver(db, world["shop"], paid(second, subtotal="100.00", tax="20.00"))
    assert member(db, world).pending == 230


def test_product_multipliers_campaigns_and_the_tier_multiply_the_points(db, world):
    program_on(db, world["shop"], signup_points=0,
               multipliers=[{"product_id": "double", "multiplier": "2"}, {"product_id": "gift", "multiplier": "0"}],
               campaigns=[{"name": "June", "multiplier": "3", "starts_on": "2026-06-01", "ends_on": "2026-06-30"},
                          {"name": "Small", "multiplier": "1.5", "starts_on": "2026-06-01", "ends_on": "2026-06-02"}])
    order = order_of(db, world, total="100.00")
    lines = (line("double", "50.00"), line("gift", "30.00"), line("plain", "20.00"))
    with db.uow() as s:
        gold = Tier(shop_id=world["shop"], name="Gold", position=2, earn_multiplier=Decimal("1.5"))
        s.add(gold)
        s.commit()
        gold_id = gold.id
    # not yet a member: the tier applies from the next order
    deliver(db, world["shop"], paid(order, lines=lines))
    # (50*2 + 30*0 + 20) = 120, the June campaign (highest running) x3 = 360
    assert member(db, world).pending == 360
    with db.uow() as s:
        s.get(LoyaltyMember, member(db, world).id).manual_tier_id = gold_id
        s.commit()
    outside = order_of(db, world, total="10.00", created_at=T0 + timedelta(days=60))
    deliver(db, world["shop"], paid(outside, when=T0 + timedelta(days=60)))
    assert member(db, world).pending == 360 + 15  # 10 x 1.5 (tier), no campaign in August


def test_first_order_points_come_once_with_the_first_order(db, world):
    program_on(db, world["shop"], signup_points=0, first_order_points=40)
    first = order_of(db, world, total="10.00")
    second = order_of(db, world, total="10.00", created_at=T0 + timedelta(days=1))
    deliver(db, world["shop"], paid(first), paid(second))
    assert sorted(entries(db, world)) == [("first_order", 40, "pending"), ("order", 10, "pending"),
                                          ("order", 10, "pending")]


def test_orders_in_another_currency_and_history_earn_nothing(db, world):
    program_on(db, world["shop"], signup_points=0)
    foreign = order_of(db, world, total="50.00")
    old = order_of(db, world, total="50.00")
    foreign.currency = "EUR"
    deliver(db, world["shop"], paid(foreign), paid(old, historical=True))
    assert entries(db, world) == []


def test_a_program_turned_off_earns_nothing(db, world):
    program_on(db, world["shop"], enabled=False)
    deliver(db, world["shop"], paid(order_of(db, world)))
    assert member(db, world) is None


def test_pending_points_are_approved_by_the_job_after_the_return_window(db, world, queue):
    program_on(db, world["shop"], signup_points=0, pending_days=14)
    order = order_of(db, world, total="80.00")
    deliver(db, world["shop"], paid(order))
    assert approve_due(db, world["shop"], now=utcnow() + timedelta(days=400)) == 0  # not fulfilled: no date
    shipped = utcnow() - timedelta(days=15)
    deliver(db, world["shop"], fulfilled(order, shipped))
    with db.uow() as s:
        entry = s.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == world["shop"])).one()
        assert abs(entry.settle_after - (shipped + timedelta(days=14))) < timedelta(seconds=1)
    enqueue_approvals()
    with db.uow() as s:
        from plugin.jobs.models import JobRun
        assert [r.name for r in s.scalars(select(JobRun).where(JobRun.name == APPROVE_JOB))] == [APPROVE_JOB]
    queue.drain()
    assert balances(db, world) == (0, 80, 0, 80)
    assert approve_due(db, world["shop"]) == 0  # again: nothing more
    assert balances(db, world) == (0, 80, 0, 80)


def test_approval_goes_in_batches_and_leaves_what_is_not_due(db, world):
    program_on(db, world["shop"], signup_points=0, pending_days=0)
    orders = [order_of(db, world, total="10.00", fulfilled_at=T0) for _ in range(5)]
    deliver(db, world["shop"], *[paid(o) for o in orders])
    late = order_of(db, world, total="7.00", fulfilled_at=utcnow() + timedelta(days=3))
    deliver(db, world["shop"], paid(late))
    assert approve_due(db, world["shop"], batch=2) == 5
    assert balances(db, world) == (7, 50, 0, 57)


def test_a_partial_refund_of_pending_points_keeps_the_rest_pending(db, world):
    program_on(db, world["shop"], signup_points=0)
    order = order_of(db, world, total="100.00")
    deliver(db, world["shop"], paid(order))
    deliver(db, world["shop"], refunded(order, "r1", "30.00", "30.00"))
    assert balances(db, world) == (70, 0, 0, 70)
    deliver(db, world["shop"], refunded(order, "r2", "70.00", "100.00"))
    assert balances(db, world) == (0, 0, 0, 0)


def test_a_refund_after_approval_takes_points_back_and_owes_what_was_spent(db, world):
    program_on(db, world["shop"], signup_points=0, pending_days=0)
    order = order_of(db, world, total="100.00", fulfilled_at=T0)
    deliver(db, world["shop"], paid(order))
    approve_due(db, world["shop"])
    with db.uow() as s:
        ledger.debit(s, s.get(LoyaltyMember, member(db, world).id), 80, state="spent", source="redemption",
                     source_id="x", reason="r")
        s.commit()
    deliver(db, world["shop"], refunded(order, "r1", "25.00", "25.00"))  # 25 back: 20 approved left, no debt
    assert balances(db, world)[:3] == (0, 0, 5)
    deliver(db, world["shop"], cancelled(order))  # the other 75: owed
    assert balances(db, world)[:3] == (0, 0, 80)
    program_on(db, world["shop"], signup_points=0, pending_days=0)
    nxt = order_of(db, world, total="100.00", fulfilled_at=T0)
    deliver(db, world["shop"], paid(nxt))
    approve_due(db, world["shop"])
    assert balances(db, world)[:3] == (0, 20, 0)  # the next credit pays the debt first


def test_a_partial_share_is_rounded_up_and_a_full_refund_takes_back_exactly_what_was_given(db, world):
    program_on(db, world["shop"], signup_points=0, earn_points="2.5", earn_per="1", pending_days=0)
    order = order_of(db, world, total="10.00", fulfilled_at=T0)
    deliver(db, world["shop"], paid(order))  # 25
    approve_due(db, world["shop"])
    deliver(db, world["shop"], refunded(order, "r1", "3.00", "3.00"))  # 7.5 -> 8
    assert balances(db, world)[1] == 17
    deliver(db, world["shop"], refunded(order, "r2", "7.00", "10.00"))
    assert balances(db, world)[1] == 0


def test_a_deleted_order_takes_back_what_is_left(db, world):
    program_on(db, world["shop"], signup_points=0)
    order = order_of(db, world, total="60.00")
    deliver(db, world["shop"], paid(order), refunded(order, "r1", "10.00", "10.00"))
    deliver(db, world["shop"], deleted(order))
    assert balances(db, world) == (0, 0, 0, 0)


def test_redelivered_events_count_once(db, world):
    program_on(db, world["shop"], signup_points=0)
    order = order_of(db, world, total="100.00")
    deliver(db, world["shop"], paid(order), refunded(order, "r1", "50.00", "50.00"))
    deliver(db, world["shop"], paid(order), refunded(order, "r1", "50.00", "50.00"))  # the webhook again
    assert balances(db, world) == (50, 0, 0, 50)
    # the handler itself, run again on the same events (a retry after a rollback), changes nothing
    for facts in ([paid(order)], [refunded(order, "r1", "50.00", "50.00")],
                  [paid(order), refunded(order, "r1", "50.00", "50.00")]):  # one by one, then as one run
        with db.uow() as s:
            earning.handle(s, [Event(0, world["shop"], fact.name, "k", fact.to_json()) for fact in facts])
            s.commit()
    assert balances(db, world) == (50, 0, 0, 50)


def test_auto_enrolment_on_sign_up_and_guest_orders_of_a_customer_count_for_them(db, world):
    program_on(db, world["shop"], signup_points=50)
    with db.uow() as s:
        from plugin.sync.models import Customer
        deliver(db, world["shop"], customer_created(s.get(Customer, world["anna"])))
    assert balances(db, world) == (0, 50, 0, 50)
    guest = order_of(db, world, total="20.00", customer=False)
    with db.uow() as s:
        s.get(Order, guest.id).email = "ANNA@example.com"
        s.commit()
        guest = s.get(Order, guest.id)
        s.expunge(guest)
    deliver(db, world["shop"], paid(guest))
    assert balances(db, world) == (20, 50, 0, 70)


def test_with_opt_in_only_members_who_joined_earn(db, world):
    from plugin.loyalty.enrolment import join
    program_on(db, world["shop"], signup_points=50, enrolment="opt_in")
    deliver(db, world["shop"], paid(order_of(db, world, total="20.00")))
    assert member(db, world) is None
    with db.uow() as s:
        join(s, world["shop"], world["anna"])
        join(s, world["shop"], world["anna"])
        s.commit()
    deliver(db, world["shop"], paid(order_of(db, world, total="30.00")))
    assert balances(db, world) == (30, 50, 0, 80)


def test_a_campaign_counts_by_the_shops_day(db, world):
    from plugin.loyalty.earning import campaign_factor
    settings = {"campaigns": [{"name": "x", "multiplier": Decimal(2), "starts_on": date(2026, 6, 1),
                               "ends_on": date(2026, 6, 1)}]}
    assert campaign_factor(settings, date(2026, 6, 1)) == 2
    assert campaign_factor(settings, date(2026, 6, 2)) == 1


def test_a_run_of_events_credits_what_handling_them_one_by_one_credits(db, world):
    """The subscriber is given the shop's waiting events together; crediting a run of orders at once
    (members, first orders, guests, imports read in one query each) gives what one at a time gives."""
    program_on(db, world["shop"], signup_points=5, first_order_points=10)
    with db.uow() as s:
        from plugin.shops.models import Shop
        from plugin.sync.models import Customer
        shop = s.get(Shop, world["shop"])
        anna, bob = s.get(Customer, world["anna"]), make_customer(s, shop, email="Bob@Example.com")
        carol = make_customer(s, shop, email="carol@example.com")
        orders = [make_order(s, shop, anna, total="100.00", created_at=T0 + timedelta(days=1)),
                  make_order(s, shop, anna, total="40.00", created_at=T0),  # anna's first, paid second
                  make_order(s, shop, None, total="60.00", created_at=T0 + timedelta(days=2)),  # bob's, as a guest
                  make_order(s, shop, bob, total="80.00", created_at=T0 + timedelta(days=3)),
                  make_order(s, shop, bob, total="99.00", created_at=T0 + timedelta(days=5)),  # in EUR: nothing
                  make_order(s, shop, anna, total="70.00", created_at=T0 + timedelta(days=4))]  # imported already
        orders[2].email, orders[4].currency = " BOB@example.com", "EUR"
        s.commit()
        facts = [paid(o) for o in orders]
        facts.insert(3, refunded(orders[0], "r1", "50.00", "50.00"))
        facts.append(paid(orders[3]))  # a fact given twice
        facts[1:1] = [customer_created(carol), customer_created(bob)]  # joining: a member, sign-up points
        imported = orders[5].id
    events = [Event(0, world["shop"], fact.name, f"k{n}", fact.to_json(), seq=n + 1) for n, fact in enumerate(facts)]

    def outcome(runs) -> tuple:
        with db.uow() as s:
            anna_member = earning.members_for(s, world["shop"], {world["anna"]}, earning.program(s, world["shop"]))
            ledger.credit(s, anna_member[world["anna"]], 7, source="import", source_id=str(imported),
                          reason="x", order_id=imported)
            for run in runs:
                earning.handle(s, run)
            s.flush()
            members = {m.id: m for m in s.scalars(select(LoyaltyMember).where(LoyaltyMember.shop_id == world["shop"]))}
            written = sorted((members[e.member_id].customer_id, e.source, e.kind, e.points, e.state, e.order_id)
                             for e in s.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == world["shop"])))
            held = sorted((m.customer_id, m.pending, m.approved, m.owed, m.lifetime) for m in members.values())
            s.rollback()
        return written, held

    one_by_one = outcome([[event] for event in events])
    together = outcome([events])

    assert together == one_by_one
    written, held = together
    assert ("order", "credit", 10, "reversed", orders[0].id) not in written  # sanity: the refund settled it
    assert [w[1:4] for w in written if w[1] == "first_order"] == [("first_order", "credit", 10)] * 2
    assert {(w[0], w[5]) for w in written if w[1] == "first_order"} == {(world["anna"], orders[1].id),
                                                                        (bob.id, orders[2].id)}
    assert not [w for w in written if w[5] == orders[4].id] and len([w for w in written if w[5] == imported]) == 1
    assert sorted(w[0] for w in written if w[1] == "signup") == sorted([world["anna"], bob.id, carol.id])
    assert (carol.id, 0, 5, 0, 5) in held  # sign-up points are approved at once
