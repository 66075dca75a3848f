"""Referrals on SQLite and PostgreSQL: the friend's welcome code made on the sandbox platform, the
normalised email unique per shop, another shop's code refused, the advocate credited once (pending
until the friend's first order's pending period passes, reversed on a full refund), each fraud check
holding the referral, the merchant's review, and the storefront endpoints."""
import json
from datetime import timedelta
from decimal import Decimal as D

import pytest

from adapters.errors import DiscountRefused
from adapters.sandbox import SandboxError, SandboxStore, operations
from adapters.sandbox.discounts import find_code
from plugin.admin.shop_settings import save, section
from plugin.db import utcnow
from plugin.loyalty import referrals
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Referral
from plugin.loyalty.settings import DEFAULTS
from plugin.shops.models import Shop
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from plugin.sync.events import Event
from plugin.sync.payloads import OrderCancelled, OrderPaid, OrderRefunded
from tests import sandbox_support
from tests.factories import make_customer, make_order, make_shop

IP = "203.0.113.7"


@pytest.fixture
def world(app, db):
    installed = sandbox_support.install(app, db, customers=2, orders=0)
    with db.uow() as s:
        save(s, installed.shop_id, section(app, "loyalty"), {**DEFAULTS, "enabled": True, "pending_days": 14,
                                                             "referral_advocate_points": 200,
                                                             "referral_friend_discount": "20.00",
                                                             "referral_ip_limit": 2})
    with db.uow() as s:
        shop = s.get(Shop, installed.shop_id)
        advocate_customer = make_customer(s, shop, email="Ada.Lovelace+shop@gmail.com")
        s.commit()
        advocate = ensure_member(s, shop.id, advocate_customer.id)
        s.commit()
        return {"shop": shop, "shop_id": shop.id, "store": installed.store, "domain": installed.domain,
                "delivery": installed.delivery, "advocate": advocate, "code": advocate.referral_code, "advocate_customer": advocate_customer}


def register(db, world, email, ip=IP, **kw):
    with db.uow() as s:
        return referrals.register_friend(s, world["shop_id"], kw.pop("code", world["code"]), email, ip, **kw)


def referral(db, referral_id):
    with db.uow() as s:
        return s.get(Referral, referral_id)


def advocate(db, world):
    with db.uow() as s:
        return s.get(LoyaltyMember, world["advocate"].id)


def entries(db, world):
    with db.uow() as s:
        return s.query(LedgerEntry).filter_by(member_id=world["advocate"].id).all()


def friend_orders(db, world, email, total="150.00", customer=None, **kw):
    with db.uow() as s:
        shop = s.get(Shop, world["shop_id"])
        friend = customer or make_customer(s, shop, email=email)
        order = make_order(s, shop, friend, total=total, created_at=utcnow() - timedelta(days=1), **kw)
        order.email = email
        s.commit()
        return order.id


def deliver(db, world, name, order_id, **extra):
    deliver_run(db, world, [(name, order_id)])


def deliver_run(db, world, facts):
    """The subscriber's run: the events of ``facts`` ((name, order id), ...) in one transaction."""
    with db.uow() as s:
        from plugin.sync.models import Order

        run = []
        for number, (name, order_id) in enumerate(facts, 1):
            order = s.get(Order, order_id)
            run.append(Event(id=number, shop_id=world["shop_id"], name=name, key=f"{name}:{order.id}",
                             payload=fact(name, order).to_json()))
        referrals.on_orders(s, run)
        s.commit()


def fact(name, order):
    common = dict(source="webhook", historical=False, occurred_at=None, order_id=order.id,
                  order_platform_id=order.platform_id, order_number=order.number, customer_id=order.customer_id,
                  customer_platform_id=None, currency=order.currency, total=str(order.total))
    if name == "OrderPaid":
        return OrderPaid(**common, subtotal=str(order.total), total_tax="0", total_discounts="0", line_items=())
    if name == "OrderRefunded":
        return OrderRefunded(**common, refund_platform_id="r1", amount=str(order.total),
                             total_refunded=str(order.total))
    return OrderCancelled(**common, reason="customer")


def test_a_run_of_orders_rewards_only_the_referred_friends_first_order_and_a_later_run_reverses_it(db, world):
    """The subscriber gets the shop's orders as runs: the friend's (by email, by account) among others'
    is found with one statement for the run, and handled as alone."""
    by_email = register(db, world, "ola.nowak@gmail.com")
    others = [friend_orders(db, world, f"stranger{n}@example.com") for n in range(3)]
    first = friend_orders(db, world, "Ola.Nowak+x@gmail.com")
    second = friend_orders(db, world, "ola.nowak@gmail.com")

    deliver_run(db, world, [("OrderPaid", others[0]), ("OrderPaid", first), ("OrderPaid", others[1]),
                            ("OrderPaid", second)])

    assert referral(db, by_email.referral_id).order_id == first  # the first of the run, not the second
    assert [(e.points, e.state) for e in entries(db, world)] == [(200, "pending")]
    with db.uow() as s:
        from plugin.sync.models import Order

        for cancelled in (others[2], first):
            s.get(Order, cancelled).cancelled_at, s.get(Order, cancelled).financial_status = utcnow(), "voided"
        s.commit()
    deliver_run(db, world, [("OrderCancelled", others[2]), ("OrderCancelled", first)])
    assert referral(db, by_email.referral_id).status == "rejected"
    assert [(e.points, e.state) for e in entries(db, world)] == [(200, "reversed")]


def test_emails_are_normalised_by_case_alias_and_gmail_dots():
    assert referrals.normalise_email(" Jan.Kowalski+promo@GoogleMail.com ") == "jankowalski@gmail.com"
    assert referrals.normalise_email("Jan.Kowalski+x@example.pl") == "jan.kowalski@example.pl"
    for bad in ("", "jan", "jan@", "@example.com", "+x@example.com"):
        with pytest.raises(ValueError):
            referrals.normalise_email(bad)


def test_a_friend_gets_a_single_use_welcome_code_once_per_normalised_email(db, world):
    first = register(db, world, "Ola.Nowak@gmail.com")
    assert first.created and first.discount_code.startswith("FRIEND-") and first.amount == D("20.00")
    with world["store"].reading() as conn:
        made = find_code(conn, world["domain"], first.discount_code)
    assert (made.kind, made.value, made.usage_limit) == ("fixed_amount", D("20.00"), 1)
    again = register(db, world, "olanowak+again@googlemail.com")
    assert not again.created and (again.referral_id, again.discount_code) == (first.referral_id, first.discount_code)
    with db.uow() as s:
        other_customer = make_customer(s, s.get(Shop, world["shop_id"]), email="someone@example.com")
        s.commit()
        other = ensure_member(s, world["shop_id"], other_customer.id)
        s.commit()
    with pytest.raises(referrals.ReferralRefused) as refused:
        register(db, world, "OLANOWAK@gmail.com", code=other.referral_code)
    assert refused.value.field == "email"
    with db.uow() as s:
        assert s.query(Referral).count() == 1
        assert referral(db, first.referral_id).friend_email == "olanowak@gmail.com"


def test_a_guest_friends_welcome_code_is_restricted_to_the_email_they_gave(db, world):
    """A friend who is no customer of the shop yet gets a code tied to the email they gave, on a platform
    that can restrict a code to an email (the sandbox, as WooCommerce): nobody else's order may use it."""
    welcome = register(db, world, " Ola.Nowak+shop@Example.com ")
    with world["store"].reading() as conn:
        made = find_code(conn, world["domain"], welcome.discount_code)
    assert (made.customer_id, made.customer_email) == (None, "ola.nowak+shop@example.com")

    with pytest.raises(SandboxError, match="another customer"):
        operations.create_order(world["store"], world["domain"], guest_email="someone.else@example.com",
                                discount_code=welcome.discount_code, delivery=world["delivery"])
    placed = operations.create_order(world["store"], world["domain"], guest_email="ola.nowak+shop@example.com",
                                     discount_code=welcome.discount_code, delivery=world["delivery"]).subject
    assert placed.total_discounts == D("20.00")


def test_a_guest_friends_code_on_a_platform_that_cannot_limit_codes_to_an_email_is_made_without(db, world):
    """Shopify: a discount names customer records, and a guest has none (adapters/shopify/adapter.py)."""
    from adapters.base import Capability, DiscountCode, DiscountKind

    asked = []

    class NoEmailRestrictions:
        def supports(self, capability):
            return capability != Capability.EMAIL_RESTRICTED_CODES

        def create_discount_code(self, spec):
            asked.append(spec)
            return DiscountCode(platform_id="1", code=spec.code, kind=DiscountKind.FIXED_AMOUNT, value=spec.value)

    welcome = register(db, world, "guest.friend@example.com", adapter=NoEmailRestrictions())
    [spec] = asked
    assert welcome.discount_code == spec.code
    assert (spec.customer_platform_id, spec.customer_email, spec.usage_limit) == (None, None, 1)


def test_a_friend_who_is_a_customer_gets_a_code_for_their_account(db, world):
    known = operations.create_customer(world["store"], world["domain"], email="Known.Friend@example.com",
                                       delivery=world["delivery"]).subject
    with db.uow() as s:
        make_customer(s, s.get(Shop, world["shop_id"]), email=known.email).platform_id = known.platform_id
        s.commit()
    welcome = register(db, world, "known.friend@example.com")
    with world["store"].reading() as conn:
        made = find_code(conn, world["domain"], welcome.discount_code)
    assert (str(made.customer_id), made.customer_email) == (known.platform_id, None)


def test_a_code_of_another_shop_or_a_bad_email_is_refused_and_nothing_written(db, world):
    with db.uow() as s:
        other_shop = make_shop(s, domain="other.sandbox.test")
        member = ensure_member(s, other_shop.id, make_customer(s, other_shop).id)
        s.commit()
        foreign_code = member.referral_code
    with pytest.raises(referrals.ReferralRefused) as refused:
        register(db, world, "friend@example.com", code=foreign_code)
    assert refused.value.field == "code"
    with pytest.raises(referrals.ReferralRefused) as refused:
        register(db, world, "not-an-email")
    assert refused.value.field == "email"
    with db.uow() as s:
        assert s.query(Referral).count() == 0


def test_a_code_the_platform_refuses_writes_nothing_and_says_why(db, world):
    class Refusing:
        def supports(self, capability):
            return False

        def create_discount_code(self, spec):
            raise DiscountRefused(DiscountRefused.MESSAGES[DiscountRefused.REFUSED], DiscountRefused.REFUSED)

    with pytest.raises(referrals.ReferralRefused) as refused:
        register(db, world, "friend@example.com", adapter=Refusing())
    assert "could not create" in refused.value.message
    with db.uow() as s:
        assert s.query(Referral).count() == 0


def test_the_advocate_is_credited_once_pending_until_the_first_orders_period_passes(db, world):
    welcome = register(db, world, "friend@example.com")
    order_id = friend_orders(db, world, "Friend@Example.com")
    deliver(db, world, "OrderPaid", order_id)
    deliver(db, world, "OrderPaid", order_id)  # delivered again
    deliver(db, world, "OrderPaid", friend_orders(db, world, "friend@example.com"))  # a second order
    [entry] = entries(db, world)
    assert (entry.points, entry.state, entry.source, entry.source_id) == (200, "pending", "referral",
                                                                        str(welcome.referral_id))
    with db.uow() as s:
        from plugin.sync.models import Order

        paid_at = s.get(Order, order_id).paid_at
    assert entry.settle_after == paid_at + timedelta(days=14)
    assert (advocate(db, world).pending, advocate(db, world).approved) == (200, 0)
    assert referral(db, welcome.referral_id).status == "ordered"
    with db.uow() as s:
        assert referrals.approve_referrals(s, world["shop_id"], now=utcnow()) == []
        assert referrals.approve_referrals(s, world["shop_id"], now=utcnow() + timedelta(days=14)) == \
            [welcome.referral_id]
        s.commit()
    with db.uow() as s:
        assert referrals.approve_referrals(s, world["shop_id"], now=utcnow() + timedelta(days=15)) == []
        s.commit()
    assert (advocate(db, world).pending, advocate(db, world).approved) == (0, 200)
    assert referral(db, welcome.referral_id).status == "rewarded"


@pytest.mark.parametrize("how", ["OrderRefunded", "OrderCancelled"])
def test_a_first_order_returned_in_the_window_reverses_the_advocates_points(db, world, how):
    welcome = register(db, world, "friend@example.com")
    order_id = friend_orders(db, world, "friend@example.com")
    deliver(db, world, "OrderPaid", order_id)
    with db.uow() as s:
        from plugin.sync.models import Order

        order = s.get(Order, order_id)
        if how == "OrderRefunded":
            order.total_refunded, order.financial_status = order.total, "refunded"
        else:
            order.cancelled_at, order.financial_status = utcnow(), "voided"
        s.commit()
    deliver(db, world, how, order_id)
    [entry] = entries(db, world)
    assert entry.state == "reversed"
    assert (advocate(db, world).pending, advocate(db, world).approved, advocate(db, world).lifetime) == (0, 0, 0)
    assert referral(db, welcome.referral_id).status == "rejected"


def test_the_advocates_own_email_is_held_and_gets_no_welcome_code(db, world):
    welcome = register(db, world, "adalovelace@googlemail.com")
    assert welcome.held and welcome.discount_code is None
    assert referral(db, welcome.referral_id).hold_reasons == ["same_email"]
    deliver(db, world, "OrderPaid", friend_orders(db, world, "adalovelace@googlemail.com"))
    assert entries(db, world) == []
    assert referral(db, welcome.referral_id).status == "held"


def test_the_same_shipping_address_is_held(db, world):
    first = register(db, world, "one@example.com", shipping_address="ul. Długa 5/3, 00-001 Warszawa")
    second = register(db, world, "two@example.com", ip="198.51.100.1",
                      shipping_address="UL DŁUGA 5/3  00-001  warszawa")
    assert not first.held and second.held
    assert referral(db, second.referral_id).hold_reasons == ["same_address"]
    with db.uow() as s:
        assert "Długa" not in json.dumps([r.address_key for r in s.query(Referral)])


def test_the_advocate_ordering_for_themselves_is_held(db, world):
    welcome = register(db, world, "friend@example.com")
    deliver(db, world, "OrderPaid", friend_orders(db, world, "friend@example.com", customer=world["advocate_customer"]))
    found = referral(db, welcome.referral_id)
    assert (found.status, found.hold_reasons) == ("held", ["advocate_ordered"])
    assert entries(db, world) == []


def test_more_referrals_from_one_address_than_the_limit_are_held(db, world):
    results = [register(db, world, f"friend{n}@example.com") for n in range(3)]
    assert [r.held for r in results] == [False, False, True]
    assert referral(db, results[2].referral_id).hold_reasons == ["ip_limit"]
    assert results[2].discount_code is not None  # the friend keeps the welcome code; the advocate waits


def test_the_merchant_approves_or_rejects_a_held_referral(db, world):
    held = [register(db, world, f"friend{n}@example.com") for n in range(4)][2:]
    orders = [friend_orders(db, world, f"friend{n}@example.com") for n in (2, 3)]
    for order_id in orders:
        deliver(db, world, "OrderPaid", order_id)
    with db.uow() as s:
        queue = referrals.held_referrals(s, world["shop_id"])
    assert [q["id"] for q in queue] == [h.referral_id for h in held]
    assert queue[0]["advocate_email"] == "Ada.Lovelace+shop@gmail.com" and queue[0]["hold_reasons"] == ["ip_limit"]
    with db.uow() as s:
        referrals.review(s, world["shop_id"], held[0].referral_id, True, actor="owner@shop.test")
        referrals.review(s, world["shop_id"], held[1].referral_id, False, actor="owner@shop.test")
        s.commit()
    [entry] = entries(db, world)
    assert (entry.points, entry.state, entry.source_id) == (200, "pending", str(held[0].referral_id))
    assert [referral(db, h.referral_id).status for h in held] == ["ordered", "rejected"]
    assert referral(db, held[0].referral_id).reviewed_by == "owner@shop.test"
    with db.uow() as s, pytest.raises(referrals.ReferralRefused):
        referrals.review(s, world["shop_id"], held[1].referral_id, True, actor="owner@shop.test")
    with db.uow() as s:
        assert referrals.held_referrals(s, world["shop_id"]) == []


def test_a_referral_approved_before_the_order_is_rewarded_without_new_checks(db, world):
    welcome = register(db, world, "adalovelace@gmail.com")
    with db.uow() as s:
        referrals.review(s, world["shop_id"], welcome.referral_id, True, actor="owner@shop.test")
        s.commit()
    assert referral(db, welcome.referral_id).status == "joined"
    deliver(db, world, "OrderPaid", friend_orders(db, world, "adalovelace@gmail.com"))
    assert referral(db, welcome.referral_id).status == "ordered"
    assert [e.points for e in entries(db, world)] == [200]


# -- the storefront ----------------------------------------------------------------------------------

def headers(world, platform_customer_id, key=None):
    out = {TOKEN_HEADER: issue_shopper_token(world["shop"], platform_customer_id)}
    if key:
        out["Idempotency-Key"] = key
    return out


def test_the_member_reads_their_link_and_a_guest_friend_joins(client, db, world):
    answer = client.get("/storefront/api/v1/loyalty/referral",
                        headers=headers(world, world["advocate_customer"].platform_id))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json == {"code": world["code"], "link": f"https://{world['domain']}/?ref={world['code']}",
                           "friends": 0, "rewarded": 0, "pending": 0}
    assert client.get("/storefront/api/v1/loyalty/referral", headers=headers(world, None)).status_code == 401
    joined = client.post("/storefront/api/v1/loyalty/referrals", headers=headers(world, None, "referral-key-1"),
                         json={"code": world["code"].lower(), "email": "Friend@Example.com"})
    assert joined.status_code == 201, joined.get_data(as_text=True)
    assert joined.json["discount_code"].startswith("FRIEND-")
    assert (joined.json["amount"], joined.json["currency"], joined.json["held"]) == ("20.00", "PLN", False)
    assert client.get("/storefront/api/v1/loyalty/referral",
                      headers=headers(world, world["advocate_customer"].platform_id)).json["friends"] == 1


def test_a_refused_referral_is_a_problem_naming_the_field_in_the_shoppers_language(client, db, world):
    refused = client.post("/storefront/api/v1/loyalty/referrals?lang=pl", headers=headers(world, None, "referral-key-2"),
                          json={"code": "NOSUCHCODE", "email": "friend@example.com"})
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert list(refused.json["errors"]) == ["code"]
    assert "polecający" in refused.json["errors"]["code"][0]
    with db.uow() as s:
        assert s.query(Referral).count() == 0
