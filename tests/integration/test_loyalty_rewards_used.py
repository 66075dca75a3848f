"""A reward code used by an order (the ``loyalty.rewards_used`` subscriber on OrderPaid), on SQLite and
PostgreSQL, and the demo's path: a code redeemed through the use case is accepted by
``cli sandbox order --customer EMAIL --discount CODE``, the order syncs, and the redemption is used."""
from __future__ import annotations

from sqlalchemy import select

from adapters.sandbox import operations
from plugin.loyalty.models import Redemption
from plugin.loyalty.redemption import redeem
from plugin.sync.models import Order
from plugin.sync.reconcile import request_reconcile
from tests import loyalty_support as support


def redemption(db, redemption_id) -> Redemption:
    with db.uow() as s:
        return s.get(Redemption, redemption_id)


def test_the_sandbox_order_command_accepts_the_code_and_the_synced_order_marks_it_used(app, db, queue):
    # The shop's webhooks go nowhere (a closed port): the order reaches us through the reconcile.
    shop = support.program(app, db, queue, points=700, address="http://127.0.0.1:9")
    reward_id = support.reward(db, shop.shop_id, cost=500, value="10.00")
    done = redeem(db, shop.shop_id, shop.member_id, reward_id, key="demo")

    placed = app.test_cli_runner().invoke(args=["sandbox", "order", "--shop", shop.sandbox.domain,
                                                "--customer", shop.email, "--discount", done.code.lower()])
    assert placed.exit_code == 0, placed.output
    assert done.code in placed.output  # the store applied it (as it was created)
    with db.uow() as s:
        request_reconcile(s, shop.shop_id)
        s.commit()
    queue.drain()

    used = redemption(db, done.id)
    with db.uow() as s:
        order = s.scalars(select(Order).where(Order.shop_id == shop.shop_id, Order.id == used.used_order_id)).one()
    assert used.status == "used" and used.used_at is not None
    assert [c.upper() for c in order.discount_codes] == [done.code]
    again = app.test_cli_runner().invoke(args=["sandbox", "order", "--shop", shop.sandbox.domain,
                                               "--customer", shop.email, "--discount", done.code])
    assert again.exit_code != 0  # single use


def test_an_order_paid_with_the_code_marks_it_used_once_and_another_shops_code_is_untouched(app, db, queue):
    shop = support.program(app, db, queue, points=2000)
    other = support.program(app, db, queue, domain="other.sandbox.test", points=2000)
    ours = redeem(db, shop.shop_id, shop.member_id, support.reward(db, shop.shop_id), key="a")
    unused = redeem(db, shop.shop_id, shop.member_id, support.reward(db, shop.shop_id), key="b")
    theirs = redeem(db, other.shop_id, other.member_id, support.reward(db, other.shop_id), key="a")

    operations.create_order(shop.sandbox.store, shop.sandbox.domain, customer_email=shop.email,
                            discount_code=ours.code, delivery=shop.sandbox.delivery)
    queue.drain()

    assert redemption(db, ours.id).status == "used"
    assert redemption(db, unused.id).status == "issued"
    assert redemption(db, theirs.id).status == "issued"
    first = redemption(db, ours.id)
    # the same order delivered again (a webhook twice) changes nothing
    with db.uow() as s:
        order = s.get(Order, first.used_order_id)
    from plugin.loyalty.redemption import mark_used_in_run
    from plugin.sync.events import Event
    with db.uow() as s:
        mark_used_in_run(s, [Event(id=0, shop_id=shop.shop_id, name="OrderPaid", key=order.platform_id,
                                   payload={"order_id": order.id})])
        s.commit()
    assert (redemption(db, ours.id).used_at, redemption(db, ours.id).used_order_id) == (first.used_at,
                                                                                      first.used_order_id)
    with db.uow() as s:  # another shop's event naming this order finds nothing
        mark_used_in_run(s, [Event(id=0, shop_id=other.shop_id, name="OrderPaid", key="x",
                                   payload={"order_id": order.id})])
        s.commit()
    assert redemption(db, theirs.id).status == "issued"


def test_a_run_of_paid_orders_marks_each_code_by_the_order_that_used_it(app, db, queue):
    """The subscriber gets the shop's paid orders as runs; the codes (any case) are found for the run at
    once, and each redemption is marked used by its own order."""
    from plugin.loyalty.redemption import mark_used_in_run
    from plugin.shops.models import Shop
    from plugin.sync.events import Event
    from tests.factories import make_customer, make_order

    shop = support.program(app, db, queue, points=3000)
    first, second, kept = (redeem(db, shop.shop_id, shop.member_id, support.reward(db, shop.shop_id), key=k)
                           for k in ("a", "b", "c"))
    with db.uow() as s:
        store = s.get(Shop, shop.shop_id)
        buyer = make_customer(s, store)
        orders = [make_order(s, store, buyer, discount_codes=codes)
                  for codes in ([], [second.code.lower()], ["NOT-OURS"], [first.code, "NOT-OURS"])]
        s.commit()
        ids = [o.id for o in orders]
    with db.uow() as s:
        mark_used_in_run(s, [Event(id=n, shop_id=shop.shop_id, name="OrderPaid", key=str(i),
                                   payload={"order_id": i}) for n, i in enumerate(ids)])
        s.commit()

    assert (redemption(db, first.id).status, redemption(db, first.id).used_order_id) == ("used", ids[3])
    assert (redemption(db, second.id).status, redemption(db, second.id).used_order_id) == ("used", ids[1])
    assert redemption(db, kept.id).status == "issued"
