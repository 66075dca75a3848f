"""The ledger: idempotent entries, balances kept with them, debits refused beyond the balance,
reversals that owe instead of going below zero, settlements once (on SQLite and PostgreSQL)."""
from datetime import timedelta

import pytest

from plugin.db import utcnow
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member, member_by_email, member_by_referral_code
from plugin.loyalty.models import LedgerEntry, LoyaltyMember
from plugin.loyalty.points import points_for, share_of
from tests.factories import make_customer, make_shop


@pytest.fixture
def member(db):
    with db.uow() as s:
        shop = make_shop(s)
        customer = make_customer(s, shop, email="Anna@Example.com")
        s.commit()
        member = ensure_member(s, shop.id, customer.id)
        s.commit()
        return member


def fresh(db, member_id):
    with db.uow() as s:
        return s.get(LoyaltyMember, member_id)


def test_a_credit_delivered_twice_counts_once(db, member):
    with db.uow() as s:
        first = ledger.credit(s, member, 35, source="order", source_id="1001", reason="Order %(number)s",
                              reason_params={"number": "#1001"})
        again = ledger.credit(s, member, 35, source="order", source_id="1001", reason="Order %(number)s")
        s.commit()
    assert first.created and not again.created and again.entry.id == first.entry.id
    row = fresh(db, member.id)
    assert (row.approved, row.lifetime, row.pending) == (35, 35, 0)


def test_pending_points_settle_once_and_a_reversal_owes_what_was_spent(db, member):
    with db.uow() as s:
        pending = ledger.credit(s, member, 100, source="order", source_id="1", reason="r",
                                pending_until=utcnow() + timedelta(days=14)).entry
        s.commit()
    assert (fresh(db, member.id).pending, fresh(db, member.id).approved) == (100, 0)
    with db.uow() as s:
        entry = s.get(LedgerEntry, pending.id)
        assert ledger.settle(s, entry, "approved") is True
        assert ledger.settle(s, entry, "approved") is False
        s.commit()
    with db.uow() as s:
        ledger.debit(s, member, 80, state="spent", source="redemption", source_id="7", reason="r")
        ledger.debit(s, member, 50, state="reversed", source="refund", source_id="r1", kind="reversal", reason="r")
        s.commit()
    row = fresh(db, member.id)
    assert (row.approved, row.owed, row.spent, row.lifetime) == (0, 30, 80, 50)
    with db.uow() as s:
        ledger.credit(s, member, 40, source="signup", source_id="x", reason="r")
        s.commit()
    row = fresh(db, member.id)
    assert (row.approved, row.owed) == (10, 0)


def test_a_spend_beyond_the_balance_is_refused_and_writes_nothing(db, member):
    with db.uow() as s:
        ledger.credit(s, member, 10, source="signup", source_id="s", reason="r")
        s.commit()
    with db.uow() as s:
        with pytest.raises(ledger.InsufficientPoints):
            ledger.debit(s, member, 11, state="spent", source="redemption", source_id="1", reason="r")
        s.rollback()
    with db.uow() as s:
        assert s.query(LedgerEntry).filter_by(member_id=member.id).count() == 1
    assert fresh(db, member.id).approved == 10


def test_points_round_down_and_reversals_take_the_same_share_rounded_up():
    from decimal import Decimal as D
    assert points_for(D("99.99"), D(1), D(10)) == 9  # 1 point per 10 zł
    assert points_for(D("10.00"), D("2.5"), D(1)) == 25  # 2.5 points per 1 €
    assert points_for(D("0.39"), D("2.5"), D(1)) == 0
    assert share_of(25, D("3.00"), D("10.00")) == 8
    assert share_of(25, D("10.00"), D("10.00")) == 25


def test_members_are_found_only_within_their_shop(db, member):
    with db.uow() as s:
        other = make_shop(s, domain="other.sandbox.test")
        s.commit()
        assert member_by_email(s, member.shop_id, " anna@example.COM ").id == member.id
        assert member_by_email(s, other.id, "anna@example.com") is None
        assert member_by_referral_code(s, other.id, member.referral_code) is None
        assert member_by_referral_code(s, member.shop_id, member.referral_code.lower()).id == member.id
        assert ensure_member(s, member.shop_id, member.customer_id).id == member.id


def test_an_adjustment_needs_a_reason_and_never_takes_the_balance_below_zero(db, member):
    from plugin.loyalty.adjustments import AdjustmentRefused, adjust
    with db.uow() as s:
        with pytest.raises(AdjustmentRefused) as refused:
            adjust(s, member, 10, reason="  ", actor="owner@shop.test")
        assert refused.value.field == "reason"
        posted = adjust(s, member, 30, reason="Sorry for the delay", actor="owner@shop.test", key="k1")
        again = adjust(s, member, 30, reason="Sorry for the delay", actor="owner@shop.test", key="k1")
        s.commit()
    assert posted.created and not again.created and posted.entry.actor == "owner@shop.test"
    with db.uow() as s:
        with pytest.raises(ledger.InsufficientPoints):
            adjust(s, member, -31, reason="Correction", actor="owner@shop.test")
        s.rollback()
    with db.uow() as s:
        adjust(s, member, -30, reason="Correction", actor="owner@shop.test")
        s.commit()
    row = fresh(db, member.id)
    assert (row.approved, row.owed) == (0, 0)
