"""The loyalty admin: members listed, searched, filtered and sorted within the shop; a member's page with
the ledger; manual adjustments (reason required, once per form, never below zero, by whom); the manual
tier; the program's settings saved with messages at the fields; CSV exports safe from formulas."""
from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from sqlalchemy import func, select

from plugin.loyalty import ledger
from plugin.loyalty.admin_service import LEDGER_COLUMNS, MEMBER_COLUMNS, safe_cell
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.sync.models import Customer
from tests.admin_support import sign_in, text
from tests.factories import make_customer, make_shop


@pytest.fixture
def program(db):
    """A shop with three members (Anna 300 points in Gold, Jan 50, Eve 0) and a neighbour shop's member."""
    with db.uow() as s:
        shop = make_shop(s, name="Ceramika", currency="PLN")
        gold = Tier(shop_id=shop.id, name="Gold", position=1)
        silver = Tier(shop_id=shop.id, name="Silver", position=0)
        s.add_all([gold, silver])
        customers = {name: make_customer(s, shop, email=f"{name}@example.com", first_name=name.title(),
                                         last_name="Kowalska") for name in ("anna", "jan", "eve")}
        other_shop = make_shop(s, domain="other.sandbox.test", name="Other")
        stranger = make_customer(s, other_shop, email="anna@example.com", first_name="Anna")
        s.commit()
        members = {name: ensure_member(s, shop.id, c.id) for name, c in customers.items()}
        outsider = ensure_member(s, other_shop.id, stranger.id)
        members["anna"].tier_id = gold.id
        s.commit()
        ledger.credit(s, members["anna"], 300, source="order", source_id="1", reason="Order %(number)s",
                      reason_params={"number": "#1001"})
        ledger.credit(s, members["jan"], 50, source="signup", source_id="j", reason="Welcome to the program")
        ledger.credit(s, outsider, 999, source="signup", source_id="x", reason="Welcome to the program")
        s.commit()
        return {"shop": shop.id, "other": other_shop.id, "gold": gold.id, "silver": silver.id,
                "outsider": outsider.id, **{name: m.id for name, m in members.items()}}


def balance(db, member_id):
    with db.uow() as s:
        return s.get(LoyaltyMember, member_id).approved


def entries(db, member_id):
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.member_id == member_id))


def member_rows(response) -> list[str]:
    return re.findall(r'data-member="(\d+)"', response.text)


def test_members_are_listed_sorted_searched_and_filtered_within_the_shop(client, program):
    sign_in(client, program["shop"])
    page = client.get("/admin/loyalty/members")
    assert page.status_code == 200
    assert member_rows(page) == [str(program["anna"]), str(program["jan"]), str(program["eve"])]
    assert str(program["outsider"]) not in member_rows(page)
    ascending = client.get("/admin/loyalty/members?sort=balance_asc")
    assert member_rows(ascending) == [str(program["eve"]), str(program["jan"]), str(program["anna"])]
    assert member_rows(client.get("/admin/loyalty/members?q=JAN@")) == [str(program["jan"])]
    assert member_rows(client.get(f"/admin/loyalty/members?tier={program['gold']}")) == [str(program["anna"])]
    assert member_rows(client.get(f"/admin/loyalty/members?tier={program['silver']}")) == []


def test_a_member_page_shows_balances_and_the_ledger_and_another_shops_member_is_not_found(client, program):
    sign_in(client, program["shop"])
    page = client.get(f"/admin/loyalty/members/{program['anna']}")
    assert page.status_code == 200
    body = text(page)
    assert "Order #1001" in body and "+300" in body and "Gold" in body
    assert client.get(f"/admin/loyalty/members/{program['outsider']}").status_code == 404
    assert client.post(f"/admin/loyalty/members/{program['outsider']}/adjust",
                       data={"csrf_token": "test-csrf-token", "points": "5", "reason": "x",
                             "key": uuid.uuid4().hex}).status_code == 404
    assert balance(client.application.extensions["storecare.db"], program["outsider"]) == 999


def adjust(client, member_id, points, reason, key=None):
    return client.post(f"/admin/loyalty/members/{member_id}/adjust",
                       data={"csrf_token": "test-csrf-token", "points": points, "reason": reason,
                             "key": key or uuid.uuid4().hex})


def test_an_adjustment_is_recorded_with_its_reason_and_who_did_it_once_per_form(client, db, program):
    sign_in(client, program["shop"])
    key = uuid.uuid4().hex
    first = adjust(client, program["jan"], "+25", "Sorry for the late parcel", key)
    assert first.status_code == 302
    again = adjust(client, program["jan"], "+25", "Sorry for the late parcel", key)  # a double submit
    assert again.status_code == 302
    assert balance(db, program["jan"]) == 75 and entries(db, program["jan"]) == 2
    page = client.get(f"/admin/loyalty/members/{program['jan']}")
    assert "recorded already" in text(page) or "Sorry for the late parcel" in text(page)
    with db.uow() as s:
        entry = s.scalar(select(LedgerEntry).where(LedgerEntry.member_id == program["jan"],
                                                   LedgerEntry.source == "manual"))
        assert (entry.points, entry.note, entry.actor) == (25, "Sorry for the late parcel",
                                                           "admin (demo.sandbox.test)")
    assert adjust(client, program["jan"], "-75", "Correction").status_code == 302
    assert balance(db, program["jan"]) == 0


def test_an_adjustment_without_a_reason_or_below_zero_is_refused_at_the_field_and_writes_nothing(client, db,
                                                                                               program):
    sign_in(client, program["shop"])
    no_reason = adjust(client, program["jan"], "10", "   ")
    assert no_reason.status_code == 422
    assert 'id="adjust-reason-error"' in no_reason.text and "reason" in text(no_reason).lower()
    below = adjust(client, program["jan"], "-51", "Too many")
    assert below.status_code == 422
    assert 'id="adjust-points-error"' in below.text and "50 points" in text(below)
    not_a_number = adjust(client, program["jan"], "1.5", "Half")
    assert not_a_number.status_code == 422 and 'id="adjust-points-error"' in not_a_number.text
    zero = adjust(client, program["jan"], "0", "Nothing")
    assert zero.status_code == 422
    assert balance(db, program["jan"]) == 50 and entries(db, program["jan"]) == 1
    xss = adjust(client, program["jan"], "5", "<script>alert(1)</script>")
    assert xss.status_code == 302
    assert "<script>alert(1)</script>" not in client.get(f"/admin/loyalty/members/{program['jan']}").text


def test_polish_admin_speaks_polish_on_the_member_page(client, program):
    sign_in(client, program["shop"])
    client.post("/admin/language", data={"csrf_token": "test-csrf-token", "lang": "pl"})
    page = adjust(client, program["jan"], "-51", "Za dużo")
    assert "punktów" in text(page) or "punkty" in text(page)


def test_a_manual_tier_is_a_floor_and_only_the_shops_tiers_are_taken(client, db, program):
    sign_in(client, program["shop"])
    done = client.post(f"/admin/loyalty/members/{program['jan']}/tier",
                       data={"csrf_token": "test-csrf-token", "tier": str(program["gold"])})
    assert done.status_code == 302
    assert member_rows(client.get(f"/admin/loyalty/members?tier={program['gold']}")) == sorted(
        [str(program["anna"]), str(program["jan"])], key=lambda m: -balance(db, int(m)))
    with db.uow() as s:
        other_tier = Tier(shop_id=program["other"], name="Theirs", position=5)
        s.add(other_tier)
        s.commit()
        other_id = other_tier.id
    refused = client.post(f"/admin/loyalty/members/{program['jan']}/tier",
                          data={"csrf_token": "test-csrf-token", "tier": str(other_id)})
    assert refused.status_code == 422
    with db.uow() as s:
        assert s.get(LoyaltyMember, program["jan"]).manual_tier_id == program["gold"]


def csv_rows(response) -> list[list[str]]:
    """The rows of a streamed CSV answer, read to the end and closed (as a server does: the request's
    teardown, which ends its database session, runs when the stream is closed)."""
    try:
        return list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    finally:
        response.close()


def test_csv_exports_are_the_shops_own_and_safe_from_formulas(client, db, program):
    sign_in(client, program["shop"])
    assert adjust(client, program["jan"], "5", "=HYPERLINK(\"http://evil\")").status_code == 302
    members = client.get("/admin/loyalty/members.csv")
    assert members.status_code == 200 and members.mimetype == "text/csv"
    assert "attachment" in members.headers["Content-Disposition"]
    rows = csv_rows(members)
    assert rows[0][:6] == ["email", "first_name", "last_name", "tier", "pending", "approved"]
    by_email = {row[0]: row for row in rows[1:]}
    assert set(by_email) == {"anna@example.com", "jan@example.com", "eve@example.com"}
    assert by_email["anna@example.com"][3:6] == ["Gold", "0", "300"]
    ledger_rows = csv_rows(client.get("/admin/loyalty/ledger.csv"))
    assert len(ledger_rows) == 1 + 3  # two credits and the adjustment; the neighbour's entry is not there
    reasons = [row[6] for row in ledger_rows[1:]]
    assert "Order #1001" in reasons and "'=HYPERLINK(\"http://evil\")" in reasons
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@a", "a=b", None, 5)] == ["'=1", "'+1", "'-1", "'@a", "a=b",
                                                                               "", "5"]


def expected_csv(header, rows) -> str:
    """The export as it has always been written: the header, then each row's cells made formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def exports_as_before(db, shop_id: int) -> dict[str, str]:
    """Both exports of the ``program`` shop, written from the database as the exports wrote them before
    they were streamed: the same columns, rows, order and cells."""
    with db.uow() as s:
        members = s.execute(select(LoyaltyMember, Customer, Tier).join(Customer, Customer.id == LoyaltyMember.customer_id)
                            .outerjoin(Tier, Tier.id == LoyaltyMember.tier_id)
                            .where(LoyaltyMember.shop_id == shop_id).order_by(LoyaltyMember.id)).all()
        entries = s.execute(select(LedgerEntry, Customer.email)
                            .join(LoyaltyMember, LoyaltyMember.id == LedgerEntry.member_id)
                            .join(Customer, Customer.id == LoyaltyMember.customer_id)
                            .where(LedgerEntry.shop_id == shop_id).order_by(LedgerEntry.id)).all()
        return {
            "members": expected_csv(MEMBER_COLUMNS, [
                [c.email, c.first_name, c.last_name, t.name if t else "", m.pending, m.approved, m.spent, m.expired,
                 m.lifetime, m.owed, m.joined_at.isoformat(), m.last_activity_at.isoformat(), m.referral_code]
                for m, c, t in members]),
            "ledger": expected_csv(LEDGER_COLUMNS, [
                [e.id, email, e.points, e.state, e.source, e.source_id, e.note or e.reason % (e.reason_params or {}),
                 e.actor or "", e.created_at.isoformat()] for e, email in entries]),
        }


@pytest.mark.parametrize("export", ["members", "ledger"])
def test_csv_exports_are_streamed_as_their_rows_are_read(client, db, program, monkeypatch, export):
    """The view answers before it reads any row: rows are read (in batches from the database) while the
    CSV is written out, so a shop of many members is never held in memory whole. The file is the one
    the export always wrote."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from plugin.loyalty import admin_service

    sign_in(client, program["shop"])
    assert adjust(client, program["jan"], "5", "=HYPERLINK(\"http://evil\")").status_code == 302
    read, batched = [], []
    source = getattr(admin_service, f"{export[:-1] if export == 'members' else export}_rows")

    def counted(*args, **kwargs):
        for row in source(*args, **kwargs):
            read.append(row)
            yield row

    def statement(state):
        if state.is_select:
            batched.append(state.execution_options.get("yield_per"))

    monkeypatch.setattr(admin_service, source.__name__, counted)
    event.listen(Session, "do_orm_execute", statement)
    try:
        response = client.get(f"/admin/loyalty/{export}.csv", buffered=False)
        assert response.status_code == 200 and response.is_streamed
        assert read == []  # nothing read yet: the rows come as the answer is sent
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == f'attachment; filename="loyalty-{export}.csv"'
        body = b"".join(response.response).decode()
        response.close()
    finally:
        event.remove(Session, "do_orm_execute", statement)
    assert len(read) == len(body.splitlines()) - 1 > 0
    assert batched and batched[-1]  # the rows' query was read in batches (yield_per)
    assert body == exports_as_before(db, program["shop"])[export]


def stored(app, db, shop_id):
    from plugin.loyalty.settings import program as read_program

    with app.app_context(), db.uow() as s:
        return read_program(s, shop_id)


def test_program_settings_are_saved_with_rows_and_bad_input_is_shown_at_the_field(client, db, program):
    sign_in(client, program["shop"])
    page = client.get("/admin/loyalty/program")
    assert page.status_code == 200 and "data-preview" in page.text
    form = dict(re.findall(r'name="([a-z_]+)" type="text" value="([^"]*)"', page.text))
    form.update({"csrf_token": "test-csrf-token", "enabled": "true", "enrolment": "auto", "history": "zero",
                 "earn_points": "1", "earn_per": "10", "event_points_period": "month", "tier_basis": "points",
                 "tier_period": "lifetime", "launcher_position": "left", "point_name": "stars",
                 "multipliers-0-product_id": "p-1", "multipliers-0-multiplier": "2",
                 "multipliers-1-product_id": "", "multipliers-1-multiplier": "",
                 "campaigns-0-name": "Black Friday", "campaigns-0-multiplier": "2",
                 "campaigns-0-starts_on": "2026-11-27", "campaigns-0-ends_on": "2026-11-30"})
    saved = client.post("/admin/loyalty/program", data=form)
    assert saved.status_code == 302
    values = stored(client.application, db, program["shop"])
    assert values["point_name"] == "stars" and str(values["earn_per"]) == "10.0000"
    assert [(m["product_id"], str(m["multiplier"])) for m in values["multipliers"]] == [("p-1", "2")]
    assert values["campaigns"][0]["name"] == "Black Friday" and values["history"] == "zero"
    again = client.get("/admin/loyalty/program")
    assert 'value="p-1"' in again.text and 'value="Black Friday"' in again.text

    bad = dict(form, earn_per="0", primary_colour="red", **{"campaigns-0-ends_on": "2026-11-01"})
    refused = client.post("/admin/loyalty/program", data=bad)
    assert refused.status_code == 422
    assert 'id="setting-loyalty-earn_per-error"' in refused.text
    assert 'id="setting-loyalty-primary_colour-error"' in refused.text
    assert 'id="setting-loyalty-campaigns-0-ends_on-error"' in refused.text
    assert str(stored(client.application, db, program["shop"])["earn_per"]) == "10.0000"


def test_analytics_on_a_small_known_dataset(client, db):
    from decimal import Decimal

    from plugin.loyalty.admin_service import analytics
    from plugin.loyalty.models import Redemption, Reward
    from tests.factories import make_order

    with db.uow() as s:
        shop = make_shop(s, currency="PLN")
        gold = Tier(shop_id=shop.id, name="Gold", position=1)
        s.add(gold)
        anna, jan, eve, bob = (make_customer(s, shop, email=f"{n}@example.com") for n in ("anna", "jan", "eve", "bob"))
        make_order(s, shop, anna, total="100.00")
        used = make_order(s, shop, anna, total="50.00")
        make_order(s, shop, jan, total="30.00")
        make_order(s, shop, bob, total="200.00")
        make_order(s, shop, bob, total="20.00", financial_status="pending")  # not paid: counts nowhere
        other = make_shop(s, domain="other.sandbox.test")
        make_order(s, other, make_customer(s, other), total="999.00")
        s.add_all([Reward(shop_id=shop.id, name="10 zł", kind="fixed_amount", cost=100, value=Decimal("10")),
                   Reward(shop_id=shop.id, name="Slider", kind="variable", cost=20, value=Decimal("5")),
                   Reward(shop_id=shop.id, name="50 %", kind="percentage", cost=10, value=Decimal("50")),
                   Reward(shop_id=shop.id, name="Old", kind="fixed_amount", cost=1, value=Decimal("100"),
                          active=False)])
        s.commit()
        members = [ensure_member(s, shop.id, c.id) for c in (anna, jan, eve)]
        members[0].tier_id = gold.id
        s.commit()
        ledger.credit(s, members[0], 300, source="order", source_id="a", reason="Order")
        ledger.credit(s, members[1], 50, source="signup", source_id="j", reason="Welcome")
        ledger.debit(s, members[0], 100, state="spent", source="redemption", source_id="r", reason="Reward")
        s.add(Redemption(shop_id=shop.id, member_id=members[0].id, key="k", points=100, kind="fixed_amount",
                         value=Decimal("10"), status="used", used_order_id=used.id))
        s.commit()
        data = analytics(s, shop.id)
        shop_id = shop.id
    assert data.members == 3 and sum(n for _m, n in data.signups) == 3
    assert [(i, r, e) for _m, i, r, e in data.points] == [(350, 100, 0)]
    assert (data.outstanding, data.point_value, data.liability) == (250, Decimal("0.25"), Decimal("62.50"))
    assert data.redemption_rate == Decimal("0.2857")
    assert data.reward_revenue == Decimal("50.00")
    assert data.repeat_rate == Decimal("0.3333")
    assert (data.member_aov, data.member_clv) == (Decimal("60.00"), Decimal("90.00"))
    assert (data.other_aov, data.other_clv) == (Decimal("200.00"), Decimal("200.00"))
    assert data.tiers == [("", 2), ("Gold", 1)]
    sign_in(client, shop_id)
    page = client.get("/admin/loyalty/analytics")
    assert page.status_code == 200
    assert "<svg" in page.text and 'role="img"' in page.text and "62.50" in text(page)
