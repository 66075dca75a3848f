"""Redeeming a reward in a WooCommerce store (the store simulator, ``responses``), on SQLite and PostgreSQL:
a coupon restricted to the member's email with a usage limit of 1; store credit, which WooCommerce has
not, refused with the points given back and the reason said; a refusal by the store likewise; and a
paid order that used the coupon (lowercased by WooCommerce) marks the redemption used."""
from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from plugin.loyalty.models import Redemption
from plugin.loyalty.redemption import RedemptionRefused, mark_used, redeem
from plugin.shops.models import Shop
from plugin.sync.events import Event
from plugin.sync.models import Customer, Order
from tests import loyalty_support as support
from tests.contract.woocommerce_kit import WooSimulator, build_store
from tests.woocommerce_support import connect_store

STORE = "https://ceramika.woo.test/sklep"
DOMAIN = "ceramika.woo.test/sklep"


@pytest.fixture
def store():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock).add(build_store(STORE, seed=41, orders=8, customers=3))


@pytest.fixture
def woo(client, db, queue, store):
    answer, _landing, _key = connect_store(client, store)
    assert answer.json["status"] == "connected", answer.text
    queue.drain()  # the first backfill: customers and orders mirrored
    with db.uow() as s:
        shop_id = s.scalars(select(Shop.id).where(Shop.domain == DOMAIN)).one()
        customer = s.scalars(select(Customer).where(Customer.shop_id == shop_id, Customer.email.is_not(None))
                             .order_by(Customer.id)).first()
    support.turn_on(db, shop_id)
    member_id = support.member_of(db, shop_id, customer.id)
    support.give(db, member_id, 1000)
    return {"shop_id": shop_id, "member_id": member_id, "customer": customer}


def test_a_coupon_for_the_members_email_used_once(db, store, woo):
    reward_id = support.reward(db, woo["shop_id"], cost=500, value="15.00", min_order="100.00")

    done = redeem(db, woo["shop_id"], woo["member_id"], reward_id, key="woo-1")
    again = redeem(db, woo["shop_id"], woo["member_id"], reward_id, key="woo-1")

    assert done.status == "issued" and again.id == done.id
    coupons = [c for c in store.coupons.values() if c["code"] == done.code.lower()]
    assert len(coupons) == 1
    coupon = coupons[0]
    assert (coupon["discount_type"], coupon["amount"], coupon["usage_limit"]) == ("fixed_cart", "15.00", 1)
    assert coupon["email_restrictions"] == [woo["customer"].email]
    assert coupon["minimum_amount"] == "100.00"
    assert support.balance(db, woo["member_id"])["approved"] == 500


def test_store_credit_is_refused_in_a_woocommerce_store_and_the_points_come_back(db, woo):
    reward_id = support.reward(db, woo["shop_id"], name="Credit", kind="store_credit", value="20.00", cost=300)

    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, woo["shop_id"], woo["member_id"], reward_id, key="woo-credit")

    assert refused.value.message == "This store does not offer store credit."
    assert support.balance(db, woo["member_id"])["approved"] == 1000


def test_a_coupon_the_store_refuses_gives_the_points_back(db, store, woo):
    store.forbidden.add("wc/v3/coupons")  # a security plugin answers 403 on coupons
    reward_id = support.reward(db, woo["shop_id"], cost=500)

    with pytest.raises(RedemptionRefused):
        redeem(db, woo["shop_id"], woo["member_id"], reward_id, key="woo-403")

    assert support.balance(db, woo["member_id"])["approved"] == 1000
    with db.uow() as s:
        assert s.scalars(select(Redemption.status)).all() == ["refused"]


def test_a_paid_order_with_the_lowercased_coupon_marks_it_used(db, woo):
    done = redeem(db, woo["shop_id"], woo["member_id"], support.reward(db, woo["shop_id"]), key="woo-used")
    with db.uow() as s:
        order = s.scalars(select(Order).where(Order.shop_id == woo["shop_id"]).order_by(Order.id)).first()
        order.discount_codes = [done.code.lower()]
        s.commit()
        mark_used(s, Event(id=0, shop_id=woo["shop_id"], name="OrderPaid", key=order.platform_id,
                           payload={"order_id": order.id}))
        s.commit()
    with db.uow() as s:
        used = s.get(Redemption, done.id)
        assert (used.status, used.used_order_id) == ("used", order.id)


def test_a_referred_guest_friends_welcome_coupon_is_restricted_to_the_email_they_gave(db, store, woo):
    """A friend with no account in the store: the coupon's email restriction is the address they gave,
    which WooCommerce checks against the order's billing email."""
    from plugin.loyalty import referrals
    from plugin.loyalty.models import LoyaltyMember

    support.turn_on(db, woo["shop_id"], referrals_enabled=True, referral_friend_discount="20.00")
    with db.uow() as s:
        code = s.get(LoyaltyMember, woo["member_id"]).referral_code
        welcome = referrals.register_friend(s, woo["shop_id"], code, "Ola.Nowak@Example.com", "203.0.113.7")
    [coupon] = [c for c in store.coupons.values() if c["code"] == welcome.discount_code.lower()]
    assert coupon["email_restrictions"] == ["ola.nowak@example.com"]
    assert (coupon["discount_type"], coupon["amount"], coupon["usage_limit"]) == ("fixed_cart", "20.00", 1)
