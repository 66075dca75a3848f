"""The loyalty admin's referral review queue: held referrals with their reasons in the merchant's words,
approved or rejected once (a second click says so), within the shop."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import Referral
from tests.admin_support import CSRF, sign_in, text
from tests.factories import make_customer, make_shop


@pytest.fixture
def queue(db):
    with db.uow() as s:
        shop = make_shop(s, name="Ceramika")
        other = make_shop(s, domain="other.sandbox.test", name="Other")
        anna = make_customer(s, shop, email="anna@example.com")
        stranger = make_customer(s, other, email="zoe@example.com")
        s.commit()
        advocate = ensure_member(s, shop.id, anna.id)
        outsider = ensure_member(s, other.id, stranger.id)
        s.flush()
        held = Referral(shop_id=shop.id, advocate_id=advocate.id, friend_email="friend@example.com",
                        status="held", hold_reasons=["same_address", "ip_limit"])
        second = Referral(shop_id=shop.id, advocate_id=advocate.id, friend_email="second@example.com",
                          status="held", hold_reasons=["same_email"])
        foreign = Referral(shop_id=other.id, advocate_id=outsider.id, friend_email="x@example.com",
                           status="held", hold_reasons=["ip_limit"])
        s.add_all([held, second, foreign])
        s.commit()
        return {"shop": shop.id, "held": held.id, "second": second.id, "foreign": foreign.id}


def status(db, referral_id):
    with db.uow() as s:
        return s.scalar(select(Referral.status).where(Referral.id == referral_id))


def test_the_queue_lists_held_referrals_of_the_shop_with_their_reasons(client, queue):
    sign_in(client, queue["shop"])
    page = client.get("/admin/loyalty/referrals")
    assert page.status_code == 200
    body = text(page)
    assert "friend@example.com" in body and "second@example.com" in body and "x@example.com" not in body
    assert "The friend gave the same shipping address as the advocate." in body
    assert "Many referrals came from the same IP address." in body


def test_approve_and_reject_count_once_and_another_shops_referral_is_not_found(client, db, queue):
    sign_in(client, queue["shop"])
    url = f"/admin/loyalty/referrals/{queue['held']}/review"
    done = client.post(url, data={"csrf_token": CSRF, "decision": "approve"}, follow_redirects=True)
    assert "Referral approved" in text(done)
    assert status(db, queue["held"]) == "joined"  # no order yet: it waits for the friend's first order
    again = client.post(url, data={"csrf_token": CSRF, "decision": "reject"}, follow_redirects=True)
    assert "This referral was reviewed already." in text(again)
    assert status(db, queue["held"]) == "joined"
    rejected = client.post(f"/admin/loyalty/referrals/{queue['second']}/review",
                           data={"csrf_token": CSRF, "decision": "reject"}, follow_redirects=True)
    assert "Referral rejected" in text(rejected)
    assert status(db, queue["second"]) == "rejected"
    assert "friend@example.com" not in text(client.get("/admin/loyalty/referrals"))
    foreign = client.post(f"/admin/loyalty/referrals/{queue['foreign']}/review",
                          data={"csrf_token": CSRF, "decision": "approve"})
    assert foreign.status_code == 404
    assert status(db, queue["foreign"]) == "held"
    unsigned = client.post(f"/admin/loyalty/referrals/{queue['second']}/review", data={"decision": "approve"})
    assert unsigned.status_code in (400, 403)


def test_the_queue_speaks_polish(client, queue):
    sign_in(client, queue["shop"])
    client.post("/admin/language", data={"csrf_token": CSRF, "lang": "pl"})
    body = text(client.get("/admin/loyalty/referrals"))
    assert "Many referrals came from the same IP address." not in body
