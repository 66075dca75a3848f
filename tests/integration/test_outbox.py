"""The outbox: messages to shoppers written once per (shop, kind, source key), moved through their states
by compare-and-set, listed for the merchant (English and Polish) with shopper text escaped and isolated."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.db import utcnow
from plugin.outbox import service
from plugin.outbox.kinds import MessageKind, MessageKindError, register_message_kind
from plugin.outbox.models import OutboxMessage
from tests.factories import make_customer, make_shop
from tests.integration.test_admin_pages import sign_in, text

XSS = "<script>alert(1)</script>"
RLO = "\u202e"
REASON = "Order %(number)s"  # a catalogue message (Polish: "Zamówienie %(number)s")


@pytest.fixture
def shop(app, db):
    register_message_kind(app, MessageKind("care.thank_you", "Thank-you note"))
    register_message_kind(app, MessageKind("returns.label", "Return label"))
    with db.uow() as s:
        shop = make_shop(s, locale="pl")
        anna = make_customer(s, shop, email="anna@example.com", first_name="Anna", last_name="Kowalska",
                             locale="en")
        mallory = make_customer(s, shop, email="mallory@example.com", first_name=XSS, last_name=RLO + "evil",
                                locale=None)
        other = make_shop(s, domain="other.sandbox.test")
        stranger = make_customer(s, other, email="stranger@example.com")
        s.commit()
        return {"id": shop.id, "anna": anna.id, "mallory": mallory.id, "other": other.id, "stranger": stranger.id}


def enqueue(db, shop_id, **kw) -> OutboxMessage:
    kw.setdefault("kind", "care.thank_you")
    kw.setdefault("reason", REASON)
    with db.uow() as s:
        message = service.enqueue_message(s, shop_id, **kw)
        s.commit()
        return message


def test_a_message_is_written_once_per_shop_kind_and_source_key(db, shop):
    first = enqueue(db, shop["id"], source_key="order:1043", customer_id=shop["anna"], reason_params={"number": "1043"})
    again = enqueue(db, shop["id"], source_key="order:1043", customer_id=shop["anna"], reason="something else")
    other_kind = enqueue(db, shop["id"], kind="returns.label", source_key="order:1043", customer_id=shop["anna"])
    elsewhere = enqueue(db, shop["other"], source_key="order:1043", customer_id=shop["stranger"])

    assert again.id == first.id and again.reason == REASON
    assert len({first.id, other_kind.id, elsewhere.id}) == 3
    assert (first.status, first.locale, first.channel, first.email) == ("waiting", "en", "email", None)
    assert abs((first.due_at - utcnow()).total_seconds()) < 60
    with db.uow() as s:
        assert service.cancel_message(s, shop["id"], first.id)
        s.commit()
    assert enqueue(db, shop["id"], source_key="order:1043", customer_id=shop["anna"]).status == "cancelled"


def test_the_language_is_the_customers_else_the_shops_and_a_guest_needs_an_address(db, shop):
    assert enqueue(db, shop["id"], source_key="a", customer_id=shop["mallory"]).locale == "pl"  # no locale: the shop's
    guest = enqueue(db, shop["id"], source_key="b", email="  Guest@Example.NET ", locale="de")
    assert (guest.email, guest.locale, guest.customer_id) == ("guest@example.net", "de", None)


@pytest.mark.parametrize(("changes", "field"), [
    ({"kind": "loyalty.nobody_declared_it"}, "kind"),
    ({"source_key": " "}, "source_key"),
    ({"source_key": "x" * 129}, "source_key"),
    ({"reason": ""}, "reason"),
    ({"customer_id": None}, "customer_id"),
    ({"customer_id": None, "email": "not-an-address"}, "email"),
    ({"channel": "carrier-pigeon"}, "channel"),
    ({"due_at": utcnow().replace(tzinfo=None)}, "due_at"),
])
def test_a_message_that_cannot_be_written_names_the_field(db, shop, changes, field):
    wanted = {"source_key": "k", "customer_id": shop["anna"], **changes}
    with db.uow() as s, pytest.raises(service.InvalidMessage) as refused:
        service.enqueue_message(s, shop["id"], kind=wanted.pop("kind", "care.thank_you"),
                                reason=wanted.pop("reason", REASON), **wanted)
    assert refused.value.field == field


def test_a_customer_of_another_shop_is_refused(db, shop):
    with db.uow() as s, pytest.raises(service.InvalidMessage, match="customer_id"):
        service.enqueue_message(s, shop["id"], kind="care.thank_you", source_key="k", reason=REASON,
                                customer_id=shop["stranger"])


def test_a_kind_is_declared_once(app, shop):
    with pytest.raises(MessageKindError, match="care.thank_you"):
        register_message_kind(app, MessageKind("care.thank_you", "Again"))


def test_states_move_only_from_waiting_and_only_within_the_shop(db, shop):
    sent = enqueue(db, shop["id"], source_key="1", customer_id=shop["anna"])
    failed = enqueue(db, shop["id"], source_key="2", customer_id=shop["anna"])
    withdrawn = enqueue(db, shop["id"], kind="returns.label", source_key="return:7", customer_id=shop["anna"])
    with db.uow() as s:
        assert not service.mark_sent(s, shop["other"], sent.id)  # another shop's id is not ours to move
        assert service.mark_sent(s, shop["id"], sent.id)
        assert not service.cancel_message(s, shop["id"], sent.id)  # sent is final: a late cancel loses
        assert service.mark_failed(s, shop["id"], failed.id, "mailbox full")
        assert not service.mark_sent(s, shop["id"], failed.id)
        assert service.cancel_about(s, shop["id"], "returns.label", "return:7")
        s.commit()
        rows = {m.id: (m.status, m.attempts, m.last_error)
                for m in s.scalars(select(OutboxMessage).where(OutboxMessage.shop_id == shop["id"]))}
    assert rows == {sent.id: ("sent", 1, None), failed.id: ("failed", 1, "mailbox full"),
                    withdrawn.id: ("cancelled", 0, None)}


def test_the_messages_page_lists_what_is_waiting_soonest_first_in_english_and_polish(client, db, shop):
    later = enqueue(db, shop["id"], source_key="later", customer_id=shop["anna"], reason_params={"number": "1044"},
                    due_at=utcnow() + timedelta(days=2))
    soon = enqueue(db, shop["id"], kind="returns.label", source_key="soon", customer_id=shop["anna"],
                   reason_params={"number": "1043"}, due_at=utcnow() + timedelta(hours=1))
    enqueue(db, shop["other"], source_key="theirs", customer_id=shop["stranger"])
    with db.uow() as s:
        done = service.enqueue_message(s, shop["id"], kind="care.thank_you", source_key="done",
                                       customer_id=shop["anna"], reason=REASON, reason_params={"number": "1000"})
        service.mark_sent(s, shop["id"], done.id)
        s.commit()
    sign_in(client, shop["id"])
    client.post("/admin/language", data={"lang": "en", "csrf_token": "test-csrf-token"})  # the shop speaks Polish

    page = client.get("/admin/messages/")
    assert page.status_code == 200
    rows = [int(m) for m in re.findall(r'data-message="(\d+)"', page.text)]
    assert rows == [soon.id, later.id]  # waiting only, soonest due first; nothing of the other shop
    shown = text(page)
    assert "Return label" in shown and "Order 1043" in shown and "Anna Kowalska" in shown and "English" in shown
    assert 'href="/admin/messages/"' in page.text and 'aria-current="page"' in page.text  # the nav item
    sent_page = client.get("/admin/messages/?status=sent")
    assert [int(m) for m in re.findall(r'data-message="(\d+)"', sent_page.text)] == [done.id]
    only_labels = client.get("/admin/messages/?status=all&kind=returns.label")
    assert [int(m) for m in re.findall(r'data-message="(\d+)"', only_labels.text)] == [soon.id]
    unknown_kind = client.get("/admin/messages/?kind=nope")
    assert unknown_kind.status_code == 200 and f'data-message="{later.id}"' in unknown_kind.text

    client.post("/admin/language", data={"lang": "pl", "csrf_token": "test-csrf-token"})
    polish = text(client.get("/admin/messages/"))
    assert "Wiadomości" in polish and "Zamówienie 1043" in polish and "angielski" in polish
    assert "Oczekujące" in polish and "Wysłane" in polish


def test_shopper_text_on_the_messages_page_is_escaped_and_isolated(client, db, shop):
    enqueue(db, shop["id"], source_key="x", customer_id=shop["mallory"], reason_params={"number": XSS + RLO})
    enqueue(db, shop["id"], source_key="guest", email=f"{RLO}guest@example.net")
    sign_in(client, shop["id"])

    html = client.get("/admin/messages/").text
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"<bdi>&lt;script&gt;alert(1)&lt;/script&gt;{RLO}</bdi>" in html  # the reason's parameter, isolated
    assert f"<bdi>{RLO}evil</bdi>" in html  # the name's parts, each isolated
    assert f'title="{RLO}guest@example.net">{RLO}guest@example.net</bdi>' in html


def test_the_merchant_cancels_a_waiting_message_of_their_own_shop_only(client, db, shop):
    mine = enqueue(db, shop["id"], source_key="mine", customer_id=shop["anna"])
    theirs = enqueue(db, shop["other"], source_key="theirs", customer_id=shop["stranger"])
    token = sign_in(client, shop["id"])
    client.post("/admin/language", data={"lang": "en", "csrf_token": token})

    assert client.post(f"/admin/messages/{mine.id}/cancel").status_code in (400, 403)  # no CSRF token
    response = client.post(f"/admin/messages/{mine.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "The message is cancelled: it will not be sent." in text(response)
    again = client.post(f"/admin/messages/{mine.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "no longer waiting" in text(again)
    assert client.post(f"/admin/messages/{theirs.id}/cancel", data={"csrf_token": token},
                       headers={"Accept": "text/html"}).status_code == 404
    with db.uow() as s:
        assert s.get(OutboxMessage, theirs.id).status == "waiting"
        assert s.get(OutboxMessage, mine.id).status == "cancelled"


def test_signed_out_visitors_see_no_messages(client, db, shop):
    enqueue(db, shop["id"], source_key="x", customer_id=shop["anna"])
    response = client.get("/admin/messages/", headers={"Accept": "text/html"})
    assert response.status_code == 401 and "anna" not in response.text.lower()
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
