"""Event points (review, social follow, custom events) through the merchant API with its limit per
period, member lookup and adjustments scoped to the key's shop; birthdays once a year; expiry with its
warning in the outbox (SQLite and PostgreSQL)."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.api import service as api_service
from plugin.jobs.models import JobRun
from plugin.loyalty import ledger
from plugin.loyalty.activities import award_birthdays, expire_points
from plugin.loyalty.enrolment import set_birthday
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
from plugin.loyalty.rounds import DAILY_JOB, daily, request_daily
from plugin.outbox.models import OutboxMessage
from plugin.shops.models import Shop
from tests.factories import make_customer, make_shop
from tests.loyalty_support import program_on

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db):
    with db.uow() as s:
        ours, theirs = make_shop(s, domain="ours.sandbox.test"), make_shop(s, domain="theirs.sandbox.test")
        anna = make_customer(s, ours, email="anna@example.com")
        stranger = make_customer(s, theirs, email="stranger@example.com")
        s.commit()
        world = {"ours": ours.id, "theirs": theirs.id, "anna": anna.id, "stranger": stranger.id}
    world["key"] = api_service.create_key(db, world["ours"], "CRM").secret
    world["their_key"] = api_service.create_key(db, world["theirs"], "CRM").secret
    return world


def post(client, key, path, body):
    return client.post(f"/api/v1/loyalty{path}", json=body, headers={"Authorization": f"Bearer {key}"})


def entries(db, shop_id):
    with db.uow() as s:
        return s.scalars(select(LedgerEntry).where(LedgerEntry.shop_id == shop_id)).all()


def test_events_credit_once_per_key_by_the_rule_or_the_points_given(client, db, world):
    program_on(db, world["ours"], signup_points=0, review_points=25)
    review = {"customer_email": "ANNA@example.com", "event": "review", "idempotency_key": "rev-1"}
    first = post(client, world["key"], "/events", review)
    again = post(client, world["key"], "/events", review)
    assert first.status_code == 201 and first.json["points"] == 25 and first.json["created"] is True
    assert again.json["created"] is False and again.json["entry_id"] == first.json["entry_id"]
    custom = post(client, world["key"], "/events", {"customer_id": world["anna"], "event": "newsletter",
                                                    "points": 7, "idempotency_key": "nl-1"})
    assert custom.status_code == 201 and custom.json["member"]["balance"]["approved"] == 32
    assert sorted((e.source, e.points) for e in entries(db, world["ours"])) == [("custom_event", 7), ("review", 25)]


@pytest.mark.parametrize("body,field,status", [
    ({"customer_email": "nobody@example.com", "event": "review", "idempotency_key": "k"}, "customer_email", 404),
    ({"customer_email": "stranger@example.com", "event": "review", "idempotency_key": "k"}, "customer_email", 404),
    ({"customer_id": 10**9, "event": "review", "idempotency_key": "k"}, "customer_id", 404),
    ({"event": "review", "idempotency_key": "k"}, "customer_email", 404),
    ({"customer_email": "anna@example.com", "event": "newsletter", "idempotency_key": "k"}, "points", 409),
    ({"customer_email": "anna@example.com", "event": "Bad Name!", "idempotency_key": "k"}, "event", 422),
    ({"customer_email": "anna@example.com", "event": "review"}, "idempotency_key", 422),
])
def test_a_bad_event_is_a_problem_naming_the_field_and_writes_nothing(client, db, world, body, field, status):
    program_on(db, world["ours"], signup_points=0)
    answer = post(client, world["key"], "/events", body)
    assert answer.status_code == status and answer.mimetype == PROBLEM and field in answer.json["errors"]
    assert entries(db, world["ours"]) == []


def test_a_program_turned_off_refuses_events(client, db, world):
    answer = post(client, world["key"], "/events", {"customer_id": world["anna"], "event": "review",
                                                    "idempotency_key": "k"})
    assert answer.status_code == 409 and entries(db, world["ours"]) == []


def test_event_points_are_limited_per_period(client, db, world):
    program_on(db, world["ours"], signup_points=0, event_points_limit=30, event_points_period="month")
    body = {"customer_id": world["anna"], "event": "newsletter", "points": 20}
    assert post(client, world["key"], "/events", {**body, "idempotency_key": "a"}).json["points"] == 20
    assert post(client, world["key"], "/events", {**body, "idempotency_key": "b"}).json["points"] == 10
    refused = post(client, world["key"], "/events", {**body, "idempotency_key": "c"})
    assert refused.status_code == 409 and refused.mimetype == PROBLEM
    assert sum(e.points for e in entries(db, world["ours"])) == 30
    # last month's points do not count against this month
    with db.uow() as s:
        for entry in s.scalars(select(LedgerEntry)):
            entry.created_at = entry.created_at - timedelta(days=40)
        s.commit()
    assert post(client, world["key"], "/events", {**body, "idempotency_key": "d"}).json["points"] == 20


def test_members_and_adjustments_stay_within_the_keys_shop(client, db, world):
    program_on(db, world["ours"], signup_points=0)
    with db.uow() as s:
        theirs = ensure_member(s, world["theirs"], world["stranger"])
        ours = ensure_member(s, world["ours"], world["anna"])
        s.commit()
        theirs_id, ours_id = theirs.id, ours.id
    headers = {"Authorization": f"Bearer {world['key']}"}
    found = client.get("/api/v1/loyalty/members", query_string={"email": "anna@example.com"}, headers=headers)
    assert [m["id"] for m in found.json["data"]] == [ours_id]
    assert client.get("/api/v1/loyalty/members", query_string={"email": "stranger@example.com"},
                      headers=headers).json["data"] == []
    foreign = post(client, world["key"], f"/members/{theirs_id}/adjustments", {"points": 5, "reason": "x"})
    assert foreign.status_code == 404
    added = post(client, world["key"], f"/members/{ours_id}/adjustments", {"points": 5, "reason": "Welcome gift"})
    assert added.status_code == 201 and added.json["balance"]["approved"] == 5
    too_much = post(client, world["key"], f"/members/{ours_id}/adjustments", {"points": -6, "reason": "Oops"})
    assert too_much.status_code == 409 and "points" in too_much.json["errors"]
    no_reason = post(client, world["key"], f"/members/{ours_id}/adjustments", {"points": 1, "reason": " "})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]
    assert client.get("/api/v1/loyalty/members", query_string={"email": "anna@example.com"}).status_code == 401
    with db.uow() as s:
        assert s.get(LoyaltyMember, theirs_id).approved == 0 and s.get(LoyaltyMember, ours_id).approved == 5


def test_birthdays_are_credited_once_a_year_with_the_tiers_bonus(db, world):
    program_on(db, world["ours"], birthday_points=100, signup_points=0)
    with db.uow() as s:
        gold = Tier(shop_id=world["ours"], name="Gold", position=1, birthday_bonus=50)
        s.add(gold)
        s.flush()
        member = ensure_member(s, world["ours"], world["anna"])
        with pytest.raises(ValueError):
            set_birthday(s, member, date.today() + timedelta(days=1))
        set_birthday(s, member, date(1990, 3, 14))
        member.tier_id = gold.id
        leap = ensure_member(s, world["ours"], make_customer(s, s.get(Shop, world["ours"])).id)
        leap.birthday = date(2000, 2, 29)
        s.commit()
        anna_id, leap_id = member.id, leap.id
    day = datetime(2027, 3, 14, 12, tzinfo=UTC)
    with db.uow() as s:
        assert award_birthdays(s, world["ours"], day - timedelta(days=1)) == 0
        assert award_birthdays(s, world["ours"], day) == 1
        assert award_birthdays(s, world["ours"], day + timedelta(hours=3)) == 0  # the same day again
        assert award_birthdays(s, world["ours"], datetime(2027, 2, 28, 12, tzinfo=UTC)) == 1  # 29 Feb, not a leap year
        s.commit()
        assert s.get(LoyaltyMember, anna_id).approved == 150 and s.get(LoyaltyMember, leap_id).approved == 100
    with db.uow() as s:
        assert award_birthdays(s, world["ours"], day.replace(year=2028)) == 1  # next year
        s.commit()


def test_points_expire_after_months_without_activity_with_a_warning_first(db, world, queue):
    program_on(db, world["ours"], signup_points=0, expiry_months=12, expiry_warning_days=30)
    start = datetime(2026, 1, 10, 9, tzinfo=UTC)
    with db.uow() as s:
        member = ensure_member(s, world["ours"], world["anna"])
        ledger.credit(s, member, 40, source="signup", source_id="s", reason="r", now=start)
        s.commit()
        member_id = member.id
    assert daily(db, world["ours"], datetime(2026, 12, 1, tzinfo=UTC)) == (0, 0, 0)  # not yet
    assert daily(db, world["ours"], datetime(2026, 12, 15, tzinfo=UTC)) == (0, 1, 0)  # 26 days before
    assert daily(db, world["ours"], datetime(2026, 12, 16, tzinfo=UTC)) == (0, 1, 0)  # written once
    with db.uow() as s:
        messages = s.scalars(select(OutboxMessage).where(OutboxMessage.shop_id == world["ours"])).all()
        assert [(m.kind, m.customer_id, m.reason_params) for m in messages] == [
            ("loyalty.points_expiring", world["anna"], {"points": 40, "date": "2027-01-10"})]
    assert daily(db, world["ours"], datetime(2027, 1, 10, 10, tzinfo=UTC)) == (0, 0, 1)
    assert daily(db, world["ours"], datetime(2027, 1, 11, tzinfo=UTC)) == (0, 0, 0)
    with db.uow() as s:
        row = s.get(LoyaltyMember, member_id)
        assert (row.approved, row.expired) == (0, 40)
        assert expire_points(s, world["ours"], datetime(2027, 2, 1, tzinfo=UTC)) == (0, 0)


def test_the_daily_job_is_queued_once_a_day_per_shop_with_members(db, world, queue):
    with db.uow() as s:
        ensure_member(s, world["ours"], world["anna"])
        s.commit()
    assert request_daily(db) == [world["ours"]]
    assert request_daily(db) == []  # an hour later: queued today already
    with db.uow() as s:
        assert s.query(JobRun).filter_by(name=DAILY_JOB, shop_id=world["ours"]).count() == 1
    assert request_daily(db, now=datetime.now(UTC) + timedelta(days=1)) == [world["ours"]]
