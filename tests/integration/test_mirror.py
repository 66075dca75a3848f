from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from adapters import base as dto
from plugin.sync import events, mirror
from plugin.sync.models import Customer, DomainEvent, LineItem, Order, Refund
from tests.dto_factories import T0, customer, later, order
from tests.factories import make_shop


def _count(session, model, **where):
    q = select(func.count()).select_from(model)
    for k, v in where.items():
        q = q.where(getattr(model, k) == v)
    return session.scalar(q)


def _event_names(session, shop_id):
    return sorted(session.scalars(select(DomainEvent.name).where(DomainEvent.shop_id == shop_id)))


def test_upserts_an_order_with_its_customer_children_and_events(db):
    with db.uow() as s:
        shop = make_shop(s)
        result = mirror.upsert_orders(s, shop.id, [order()], source="webhook")
        s.commit()
        assert (result.applied, result.skipped) == (1, 0)
        row = s.scalars(select(Order)).one()
        assert row.total == Decimal("120.00") and isinstance(row.total, Decimal)
        assert row.customer.email == "ola@example.com" and row.customer.orders_count == 1
        assert row.customer.total_spent == Decimal("120.00")
        assert [(li.title, li.quantity, li.unit_price) for li in row.line_items] == [("Mug", 2, Decimal("60.00"))]
        assert _event_names(s, shop.id) == ["CustomerCreated", "OrderPaid"]


def test_duplicate_and_out_of_order_deliveries_are_harmless(db):
    first = order(total="100.00")
    refunded = later(first, financial_status=dto.FinancialStatus.PARTIALLY_REFUNDED,
                     refunds=(dto.Refund("r1", Decimal("30.00"), first.created_at + timedelta(days=1), "size"),))
    with db.uow() as s:
        shop = make_shop(s)
        mirror.upsert_orders(s, shop.id, [refunded], source="webhook")
        again = mirror.upsert_orders(s, shop.id, [refunded], source="webhook")
        stale = mirror.upsert_orders(s, shop.id, [first], source="webhook")
        s.commit()
        assert (again.applied, again.events) == (0, 0)
        assert stale.applied == 0
        row = s.scalars(select(Order)).one()
        assert row.financial_status == "partially_refunded" and row.total_refunded == Decimal("30.00")
        assert _count(s, Refund) == 1 and _count(s, LineItem) == 1
        assert row.customer.total_spent == Decimal("70.00")
        assert _event_names(s, shop.id) == ["CustomerCreated", "OrderPaid", "OrderRefunded"]


def test_newer_version_replaces_line_items_and_records_new_facts(db):
    o = order()
    with db.uow() as s:
        shop = make_shop(s)
        mirror.upsert_orders(s, shop.id, [o], source="webhook")
        newer = later(o, fulfillment_status=dto.FulfillmentStatus.FULFILLED, cancelled_at=None,
                      line_items=(dto.LineItem("li2", "Tea", 1, Decimal("120.00")),))
        assert mirror.upsert_orders(s, shop.id, [newer], source="webhook").applied == 1
        cancelled = later(newer, 10, cancelled_at=newer.updated_at, cancel_reason="customer")
        mirror.upsert_orders(s, shop.id, [cancelled], source="webhook")
        s.commit()
        assert [li.title for li in s.scalars(select(LineItem))] == ["Tea"]
        assert _event_names(s, shop.id) == ["CustomerCreated", "OrderCancelled", "OrderFulfilled", "OrderPaid"]
        # a cancelled order does not count towards the customer's aggregates
        assert s.scalars(select(Customer)).one().orders_count == 0


def test_rows_are_scoped_by_shop(db):
    with db.uow() as s:
        a, b = make_shop(s, "a.sandbox.test"), make_shop(s, "b.sandbox.test")
        mirror.upsert_orders(s, a.id, [order("o1")], source="webhook")
        mirror.upsert_orders(s, b.id, [order("o1", total="5.00")], source="webhook")
        s.commit()
        assert _count(s, Order, shop_id=a.id) == 1 and _count(s, Order, shop_id=b.id) == 1
        assert _count(s, Customer) == 2
        totals = dict(s.execute(select(Order.shop_id, Order.total)).all())
        assert totals == {a.id: Decimal("120.00"), b.id: Decimal("5.00")}


def test_customer_records_update_only_when_newer_and_aggregate_over_orders(db):
    with db.uow() as s:
        shop = make_shop(s)
        c = customer()
        mirror.upsert_orders(s, shop.id, [order("o1", cust=c), order("o2", cust=c, total="30.00")], source="backfill")
        full = customer(first_name="Aleksandra", updated=c.updated_at + timedelta(hours=1), accepts_marketing=True)
        assert mirror.upsert_customers(s, shop.id, [full], source="webhook").applied == 1
        assert mirror.upsert_customers(s, shop.id, [customer(first_name="Old")], source="webhook").applied == 0
        s.commit()
        row = s.scalars(select(Customer)).one()
        assert (row.first_name, row.accepts_marketing, row.orders_count, row.total_spent) == \
            ("Aleksandra", True, 2, Decimal("150.00"))


def test_events_dispatch_once_to_subscribers_in_order(app, db):
    seen = []
    bus = app.extensions["storecare.events"]
    bus._subscriptions.clear()  # this test's subscriber only (the features' own are tested with them)
    bus.subscribe(events.ORDER_PAID, lambda session, e: seen.append((e.name, e.key, e.payload["source"])))
    with db.uow() as s:
        shop = make_shop(s)
        mirror.upsert_orders(s, shop.id, [order("o1"), order("o2")], source="webhook")
        s.commit()
        shop_id = shop.id
    assert events.dispatch_pending(db, bus, shop_id) == 2  # two OrderPaid (the CustomerCreated has no subscriber)
    assert events.dispatch_pending(db, bus, shop_id) == 0
    assert seen == [("OrderPaid", "o1", "webhook"), ("OrderPaid", "o2", "webhook")]


def test_text_longer_than_its_column_is_cut_and_the_order_still_syncs(db):
    """A shopper can type 5,000 characters into a name field, and platforms store it: the order and the
    customer are kept, each text cut to its column (PostgreSQL refuses the row otherwise), and an email
    too long to be one is dropped rather than stored half."""
    long = "Ż" * 5000
    cust = customer(first_name=long, last_name=long, email="x" * 400 + "@example.com")
    refund = dto.Refund("r1", Decimal("10.00"), T0, reason=long)
    line = dto.LineItem("li1", long, 1, Decimal("120.00"), sku="S" * 300)
    placed = order(cust=cust, line_items=(line,), refunds=(refund,), cancel_reason=long,
                   financial_status=dto.FinancialStatus.PARTIALLY_REFUNDED)
    with db.uow() as s:
        shop = make_shop(s)
        mirror.upsert_customers(s, shop.id, [cust], source="webhook")
        assert mirror.upsert_orders(s, shop.id, [placed], source="webhook").applied == 1
        s.commit()
        row = s.scalars(select(Order)).one()
        assert (row.cancel_reason, row.email) == ("Ż" * 64, None)
        assert (row.customer.first_name, row.customer.last_name, row.customer.email) == ("Ż" * 255, "Ż" * 255, None)
        assert (row.line_items[0].title, row.line_items[0].sku) == ("Ż" * 512, "S" * 128)
        assert row.refunds[0].reason == "Ż" * 255
