"""Tiers: the measure on each basis and period, entry and retention thresholds, the manual floor, the
recalculation (idempotent, shop by shop), the editor's validation and its preview (on SQLite and
PostgreSQL)."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from flask_babel import force_locale

from plugin.admin.shop_settings import save, section
from plugin.loyalty import ledger, tiers
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember, Tier
from plugin.loyalty.settings import DEFAULTS
from tests.factories import make_customer, make_order, make_shop

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
THIS_YEAR = datetime(2026, 3, 1, tzinfo=UTC)
LAST_YEAR_IN_12_MONTHS = datetime(2025, 12, 20, tzinfo=UTC)  # in the rolling 12 months, not this calendar year
LONG_AGO = datetime(2024, 5, 1, tzinfo=UTC)


def configure(app, db, shop_id, **values):
    with db.uow() as s:
        save(s, shop_id, section(app, "loyalty"), {**DEFAULTS, "enabled": True, **values})


def ladder_of(db, shop_id, *rows):
    """Tiers (name, entry, retention) made through the editor."""
    with db.uow() as s:
        made = [tiers.create_tier(s, shop_id, {"name": n, "entry_threshold": e, "retention_threshold": r})
                for n, e, r in rows]
        s.commit()
        return {t.name: t.id for t in made}


def member_with(db, shop, *orders, email=None):
    """A member whose customer has ``orders``: (total, created_at, extra kwargs)."""
    with db.uow() as s:
        shop = s.merge(shop)
        customer = make_customer(s, shop, email=email)
        for total, created_at, extra in orders:
            make_order(s, shop, customer, total=total, created_at=created_at, **extra)
        s.commit()
        member = ensure_member(s, shop.id, customer.id)
        s.commit()
        return member.id


def tier_names(db, *member_ids):
    with db.uow() as s:
        out = []
        for member_id in member_ids:
            member = s.get(LoyaltyMember, member_id)
            tier = s.get(Tier, member.tier_id) if member.tier_id else None
            out.append(tier.name if tier else None)
        return out


@pytest.fixture
def shop(db):
    with db.uow() as s:
        shop = make_shop(s)
        s.commit()
        return shop


def test_placement_enters_by_entry_keeps_by_retention_and_drops_to_what_it_reaches():
    rungs = tiers.ladder([{"id": 1, "entry_threshold": "0", "retention_threshold": "0"},
                          {"id": 3, "entry_threshold": "1000", "retention_threshold": "600"},
                          {"id": 2, "entry_threshold": "300", "retention_threshold": "200"}])
    assert [r.key for r in rungs] == [1, 2, 3]
    assert tiers.place(D(999), None, rungs) == 2  # entry: the highest reached
    assert tiers.place(D(1000), 2, rungs) == 3  # moves up on reaching a higher entry
    assert tiers.place(D(600), 3, rungs) == 3  # kept at the retention threshold
    assert tiers.place(D(599), 3, rungs) == 2  # below it: the highest entry reached
    assert tiers.place(D(250), 2, rungs) == 2
    assert tiers.place(D(199), 2, rungs) == 1
    assert tiers.place(D(5), None, tiers.ladder([{"id": 9, "entry_threshold": "10"}])) is None


def test_spend_over_rolling_12_months_counts_paid_net_revenue_only(app, db, shop):
    configure(app, db, shop.id, tier_basis="spend", tier_period="rolling_12")
    ids = ladder_of(db, shop.id, ("Silver", "0", "0"), ("Gold", "500", "400"))
    in_period = member_with(db, shop, ("300", THIS_YEAR, {}), ("300", LAST_YEAR_IN_12_MONTHS, {}))
    refunded = member_with(db, shop, ("600", THIS_YEAR, {"refunded": "150", "financial_status": "partially_refunded"}))
    old = member_with(db, shop, ("900", LONG_AGO, {}), ("100", THIS_YEAR, {}))
    unpaid = member_with(db, shop, ("700", THIS_YEAR, {"financial_status": "pending"}),
                         ("700", THIS_YEAR, {"cancelled_at": THIS_YEAR}))
    result = tiers.recalculate(db, shop.id, now=NOW)
    assert tier_names(db, in_period, refunded, old, unpaid) == ["Gold", "Silver", "Silver", "Silver"]
    assert result.members == 4 and sorted(result.changed_member_ids) == sorted([in_period, refunded, old, unpaid])
    with db.uow() as s:
        assert s.get(LoyaltyMember, in_period).tier_since == NOW
        assert s.get(LoyaltyMember, in_period).tier_id == ids["Gold"]
    again = tiers.recalculate(db, shop.id, now=NOW + timedelta(hours=1))
    assert again.changed_member_ids == [] and again.members == 4
    with db.uow() as s:
        assert s.get(LoyaltyMember, in_period).tier_since == NOW  # nothing changed, nothing rewritten


def test_orders_over_the_calendar_year_and_over_a_lifetime(app, db, shop):
    ladder_of(db, shop.id, ("Regular", "2", "2"), ("Loyal", "3", "3"))
    three_in_all = member_with(db, shop, ("10", THIS_YEAR, {}), ("10", LAST_YEAR_IN_12_MONTHS, {}),
                               ("10", LONG_AGO, {}))
    two_this_year = member_with(db, shop, ("10", THIS_YEAR, {}), ("10", THIS_YEAR, {}),
                                ("10", THIS_YEAR, {"financial_status": "refunded"}))
    configure(app, db, shop.id, tier_basis="orders", tier_period="calendar_year")
    tiers.recalculate(db, shop.id, now=NOW)
    assert tier_names(db, three_in_all, two_this_year) == [None, "Regular"]
    configure(app, db, shop.id, tier_basis="orders", tier_period="lifetime")
    tiers.recalculate(db, shop.id, now=NOW)
    assert tier_names(db, three_in_all, two_this_year) == ["Loyal", "Regular"]


def test_points_count_credits_less_reversals_not_spending(app, db, shop):
    configure(app, db, shop.id, tier_basis="points", tier_period="lifetime")
    ladder_of(db, shop.id, ("Gold", "100", "100"))
    spender = member_with(db, shop)
    refunded = member_with(db, shop)
    with db.uow() as s:
        a, b = s.get(LoyaltyMember, spender), s.get(LoyaltyMember, refunded)
        ledger.credit(s, a, 80, source="order", source_id="1", reason="r")
        ledger.credit(s, a, 40, source="signup", source_id="a", reason="r", pending_until=NOW)
        ledger.debit(s, a, 70, state="spent", source="redemption", source_id="x", reason="r")
        ledger.credit(s, b, 120, source="order", source_id="2", reason="r")
        ledger.debit(s, b, 30, state="reversed", source="refund", source_id="r2", kind="reversal", reason="r")
        s.commit()
    tiers.recalculate(db, shop.id, now=NOW)
    assert tier_names(db, spender, refunded) == ["Gold", None]


def test_retention_keeps_a_member_until_they_fall_below_it(app, db, shop):
    configure(app, db, shop.id, tier_basis="spend", tier_period="lifetime")
    ids = ladder_of(db, shop.id, ("Silver", "100", "50"), ("Gold", "1000", "600"))
    kept = member_with(db, shop, ("700", THIS_YEAR, {}))
    dropped = member_with(db, shop, ("500", THIS_YEAR, {}))
    fallen = member_with(db, shop, ("40", THIS_YEAR, {}))
    with db.uow() as s:
        for member_id in (kept, dropped, fallen):
            s.get(LoyaltyMember, member_id).tier_id = ids["Gold"]
        s.commit()
    result = tiers.recalculate(db, shop.id, now=NOW)
    assert tier_names(db, kept, dropped, fallen) == ["Gold", "Silver", None]
    assert sorted(result.changed_member_ids) == sorted([dropped, fallen])


def test_a_manual_tier_is_a_floor_and_recalculation_keeps_it(app, db, shop):
    configure(app, db, shop.id, tier_basis="spend", tier_period="lifetime")
    ids = ladder_of(db, shop.id, ("Silver", "0", "0"), ("Gold", "1000", "1000"), ("VIP", "5000", "5000"))
    low = member_with(db, shop, ("10", THIS_YEAR, {}))
    high = member_with(db, shop, ("6000", THIS_YEAR, {}))
    with db.uow() as s:
        for member_id in (low, high):
            tiers.set_manual_tier(s, s.get(LoyaltyMember, member_id), ids["Gold"], actor="owner@shop.test")
        s.commit()
    tiers.recalculate(db, shop.id, now=NOW)
    with db.uow() as s:
        low_member, high_member = s.get(LoyaltyMember, low), s.get(LoyaltyMember, high)
        assert tiers.tier_of(s, low_member).name == "Gold"  # the floor
        assert tiers.tier_of(s, high_member).name == "VIP"  # earned above the floor
        assert low_member.tier_id == ids["Silver"] and low_member.manual_tier_id == ids["Gold"]
        assert tiers.perks_of(s, low_member)["tier"] == "Gold"
        tiers.set_manual_tier(s, low_member, None, actor="owner@shop.test")
        s.commit()
        assert tiers.tier_of(s, low_member).name == "Silver"


def test_a_manual_tier_of_another_shop_is_refused(app, db, shop):
    ladder_of(db, shop.id, ("Silver", "0", "0"))
    with db.uow() as s:
        other = make_shop(s, domain="other.sandbox.test")
        s.commit()
        foreign = tiers.create_tier(s, other.id, {"name": "Foreign", "entry_threshold": "0"})
        s.commit()
        foreign_id = foreign.id
    member_id = member_with(db, shop)
    with db.uow() as s:
        with pytest.raises(tiers.TierInvalid) as refused:
            tiers.set_manual_tier(s, s.get(LoyaltyMember, member_id), foreign_id, actor="owner@shop.test")
        assert refused.value.field == "id"
        s.rollback()
        assert s.get(LoyaltyMember, member_id).manual_tier_id is None


def test_recalculation_places_only_the_shops_own_members(app, db, shop):
    configure(app, db, shop.id, tier_basis="spend", tier_period="lifetime")
    ladder_of(db, shop.id, ("Gold", "100", "100"))
    with db.uow() as s:
        other = make_shop(s, domain="other.sandbox.test")
        s.commit()
    configure(app, db, other.id, tier_basis="spend", tier_period="lifetime")
    ladder_of(db, other.id, ("Platinum", "100", "100"))
    ours = member_with(db, shop, ("500", THIS_YEAR, {}))
    theirs = member_with(db, other, ("500", THIS_YEAR, {}))
    assert tiers.recalculate(db, shop.id, now=NOW).changed_member_ids == [ours]
    assert tier_names(db, ours, theirs) == ["Gold", None]


def test_the_hook_gets_the_members_whose_tier_changed(app, db, shop):
    configure(app, db, shop.id, tier_basis="spend", tier_period="lifetime")
    ladder_of(db, shop.id, ("Gold", "100", "100"))
    member = member_with(db, shop, ("500", THIS_YEAR, {}))
    member_with(db, shop, ("5", THIS_YEAR, {}))
    seen = []
    tiers.TIER_CHANGE_HOOKS.append(lambda session, shop_id, ids: seen.append((shop_id, list(ids))))
    try:
        tiers.recalculate(db, shop.id, now=NOW, batch=1)
    finally:
        tiers.TIER_CHANGE_HOOKS.pop()
    assert seen == [(shop.id, [member])]


@pytest.mark.parametrize("data, field", [
    ({"name": " ", "entry_threshold": "1"}, "name"),
    ({"name": "gold", "entry_threshold": "5"}, "name"),  # taken, whatever the case
    ({"name": "New", "entry_threshold": "-1"}, "entry_threshold"),
    ({"name": "New", "entry_threshold": "abc"}, "entry_threshold"),
    ({"name": "New", "entry_threshold": "100"}, "entry_threshold"),  # Gold's threshold: no ranking
    ({"name": "New", "entry_threshold": "50", "retention_threshold": "60"}, "retention_threshold"),
    ({"name": "New", "entry_threshold": "50", "earn_multiplier": "10.5"}, "earn_multiplier"),
    ({"name": "New", "entry_threshold": "50", "birthday_bonus": "1.5"}, "birthday_bonus"),
])
def test_the_editor_refuses_bad_tiers_naming_the_field_and_writes_nothing(app, db, shop, data, field):
    ladder_of(db, shop.id, ("Gold", "100", "80"))
    with db.uow() as s:
        with pytest.raises(tiers.TierInvalid) as refused:
            tiers.create_tier(s, shop.id, data)
        s.rollback()
        assert refused.value.field == field
        assert [t.name for t in tiers.tiers(s, shop.id)] == ["Gold"]


def test_the_editor_speaks_polish_and_keeps_positions_by_entry_threshold(app, db, shop):
    ids = ladder_of(db, shop.id, ("Gold", "1000", "800"), ("Bronze", "0", "0"))
    with db.uow() as s, app.test_request_context(), force_locale("pl"):
        with pytest.raises(tiers.TierInvalid) as refused:
            tiers.create_tier(s, shop.id, {"name": "Srebro", "entry_threshold": "10", "retention_threshold": "20"})
        assert "próg" in refused.value.message.lower()
        s.rollback()
        tiers.create_tier(s, shop.id, {"name": "Silver", "entry_threshold": "300", "earn_multiplier": "1.5",
                                       "free_shipping": True})
        tiers.update_tier(s, shop.id, ids["Bronze"], {"name": "Bronze", "entry_threshold": "5000"})
        s.commit()
        assert [(t.name, t.position) for t in tiers.tiers(s, shop.id)] == [("Silver", 0), ("Gold", 1), ("Bronze", 2)]
        silver = tiers.tiers(s, shop.id)[0]
        assert (silver.earn_multiplier, silver.retention_threshold, silver.free_shipping) == (D("1.5"), D(300), True)
        tiers.delete_tier(s, shop.id, ids["Gold"])
        s.commit()
        assert [t.name for t in tiers.tiers(s, shop.id)] == ["Silver", "Bronze"]


def test_preview_says_who_moves_up_and_down_and_writes_nothing(app, db, shop):
    configure(app, db, shop.id, tier_basis="spend", tier_period="lifetime")
    ids = ladder_of(db, shop.id, ("Silver", "0", "0"), ("Gold", "1000", "800"))
    small = member_with(db, shop, ("100", THIS_YEAR, {}))
    middle = member_with(db, shop, ("600", THIS_YEAR, {}))
    big = member_with(db, shop, ("900", THIS_YEAR, {}))
    floored = member_with(db, shop, ("100", THIS_YEAR, {}))
    tiers.recalculate(db, shop.id, now=NOW)
    with db.uow() as s:
        s.get(LoyaltyMember, big).tier_id = ids["Gold"]  # entered Gold once; 900 keeps it (retention 800)
        tiers.set_manual_tier(s, s.get(LoyaltyMember, floored), ids["Gold"], actor="owner")
        s.commit()
    proposed = [{"id": ids["Silver"], "name": "Silver", "entry_threshold": "0"},
                {"id": ids["Gold"], "name": "Gold", "entry_threshold": "500", "retention_threshold": "500"},
                {"name": "Platinum", "entry_threshold": "2000", "retention_threshold": "950"}]
    with db.uow() as s:
        before = [(m.id, m.tier_id, m.tier_since) for m in s.query(LoyaltyMember).order_by(LoyaltyMember.id)]
        result = tiers.preview(s, shop.id, proposed, now=NOW)
        s.commit()
    with db.uow() as s:
        assert [(m.id, m.tier_id, m.tier_since) for m in s.query(LoyaltyMember).order_by(LoyaltyMember.id)] == before
        assert s.query(Tier).filter_by(shop_id=shop.id).count() == 2
    assert result["members"] == 4
    assert result["up"] == {"count": 1, "members": [{"member_id": middle, "value": "600.00", "from": "Silver",
                                                      "to": "Gold"}]}
    assert result["down"] == {"count": 0, "members": []}
    assert result["tiers"] == [{"id": ids["Silver"], "name": "Silver", "before": 2, "after": 1},
                               {"id": ids["Gold"], "name": "Gold", "before": 2, "after": 3},
                               {"id": None, "name": "Platinum", "before": 0, "after": 0}]
    assert result["no_tier"] == {"before": 0, "after": 0}
    stricter = [{"id": ids["Gold"], "name": "Gold", "entry_threshold": "2000", "retention_threshold": "2000"}]
    with db.uow() as s:
        result = tiers.preview(s, shop.id, stricter, now=NOW)
    assert result["down"]["count"] == 3  # small and middle lose Silver, big loses Gold; the floor stays
    assert {m["member_id"] for m in result["down"]["members"]} == {small, middle, big}
    with db.uow() as s, pytest.raises(tiers.TierInvalid) as refused:
        tiers.preview(s, shop.id, [{"name": "A", "entry_threshold": "1"}, {"name": "a", "entry_threshold": "2"}])
    assert refused.value.field == "1.name"


def test_the_daily_schedule_queues_a_recalculation_for_shops_with_tiers(app, db, queue, shop):
    from plugin.jobs.models import JobRun
    from plugin.shops.models import Shop

    configure(app, db, shop.id)
    ladder_of(db, shop.id, ("Gold", "100", "100"))
    with db.uow() as s:
        s.get(Shop, shop.id).status = "installed"
        s.commit()
    assert tiers.request_recalculations(db, queue) == 1
    with db.uow() as s:
        run = s.query(JobRun).filter_by(name="loyalty.recalculate_tiers").one()
        assert run.shop_id == shop.id
