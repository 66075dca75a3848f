"""Store operations a user drives from the CLI: each changes the store and announces it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.base import Connection, DiscountKind, DiscountSpec, FinancialStatus, FulfillmentStatus
from adapters.errors import AuthRevoked, NotFound
from adapters.sandbox import Delivery, SandboxAdapter, SandboxError, SandboxStore, operations, seed_shop
from adapters.sandbox.webhooks import TOPIC_HEADER

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
SHOP = "ops.sandbox.test"
SECRET = "ops-secret"
ALL_TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
              "orders/delete", "refunds/create", "customers/create", "customers/update"]


class Recorder:
    """A ``send`` that accepts everything and remembers the topics, in order."""

    def __init__(self):
        self.topics: list[str] = []

    def __call__(self, url, body, headers) -> int:
        self.topics.append(headers[TOPIC_HEADER])
        return 200


@pytest.fixture
def store(tmp_path) -> SandboxStore:
    store = SandboxStore(tmp_path / "sandbox.db")
    seed_shop(store, SHOP, customers=5, orders=10, now=NOW, currency="USD")
    SandboxAdapter(Connection(shop_domain=SHOP), str(store.path)).subscribe_webhooks(
        "http://storecare.test/webhooks/sandbox", ALL_TOPICS, SECRET)
    return store


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def delivery(recorder) -> Delivery:
    return Delivery(send=recorder, retry_delays=(0.0, 0.0))


@pytest.fixture
def customer_email(store) -> str:
    return store.top_customers(SHOP, 1)[0][0].email


def place(store, delivery, **options):
    return operations.create_order(store, SHOP, delivery=delivery, now=LATER, **options).subject


def test_a_customer_order_takes_the_next_number_and_adds_up(store, delivery, recorder, customer_email):
    order = place(store, delivery, customer_email=customer_email.upper(), items=3)

    assert order.number == "1011"
    assert order.customer.email == customer_email and order.email == customer_email
    assert len(order.line_items) == 3 and order.currency == "USD"
    assert order.subtotal == sum(line.line_total for line in order.line_items) == order.total
    assert order.financial_status is FinancialStatus.PAID and order.paid_at == LATER
    assert recorder.topics == ["orders/create", "orders/paid"]


def test_an_unpaid_guest_order_is_pending_and_sends_only_orders_create(store, delivery, recorder):
    order = place(store, delivery, items=1, paid=False)

    assert order.customer is None and order.email == f"guest-{order.number}@example.net"
    assert order.financial_status is FinancialStatus.PENDING and order.paid_at is None
    assert recorder.topics == ["orders/create"]


def test_a_discount_code_lowers_the_total_and_is_used_up(store, delivery):
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(store.path))
    adapter.create_discount_code(DiscountSpec(code="ONCE-15", kind=DiscountKind.PERCENTAGE,
                                              value=Decimal(15), title="Reward"))

    order = place(store, delivery, items=2, discount_code="once-15")

    assert order.discount_codes == ("ONCE-15",)
    assert order.total_discounts == (order.subtotal * Decimal("0.15")).quantize(Decimal("0.01"))
    assert order.total == order.subtotal - order.total_discounts
    with pytest.raises(SandboxError, match="used up"):
        place(store, delivery, items=2, discount_code="ONCE-15")


def test_a_code_restricted_to_an_email_is_for_orders_placed_with_that_email_only(store, delivery, customer_email):
    """As a WooCommerce coupon's email restriction: a guest's code, whoever places the order with it."""
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(store.path))
    adapter.create_discount_code(DiscountSpec(code="FRIEND-1", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5),
                                              title="Welcome", customer_email="Ola.Nowak@Example.com"))
    adapter.create_discount_code(DiscountSpec(code="FRIEND-1", kind=DiscountKind.FIXED_AMOUNT, value=Decimal(5),
                                              title="Welcome", customer_email="ola.nowak@example.com"))  # a retry

    for other in ({"guest_email": "someone.else@example.com"}, {"customer_email": customer_email}, {}):
        with pytest.raises(SandboxError, match="another customer"):
            place(store, delivery, items=1, discount_code="FRIEND-1", **other)
    order = place(store, delivery, items=1, discount_code="friend-1", guest_email="OLA.NOWAK@example.com")

    assert order.uses_discount_code("FRIEND-1") and order.total_discounts == Decimal(5)
    assert adapter.supports("email_restricted_codes")


def test_a_free_product_code_adds_its_product_and_takes_off_one_unit(store, delivery, customer_email):
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(store.path))
    product = store.products(SHOP)[-1]
    customer = next(c for c in adapter.list_customers(limit=250).items if c.email == customer_email)
    adapter.create_discount_code(DiscountSpec(code="FREE-MUG", kind=DiscountKind.FREE_PRODUCT, value=Decimal(0),
                                              title="A free mug", product_ids=(str(product.id),),
                                              customer_platform_id=customer.platform_id))

    order = place(store, delivery, customer_email=customer_email, items=1, discount_code="free-mug")

    line = next(line for line in order.line_items if line.product_id == str(product.id))
    assert order.total_discounts == line.unit_price == Decimal(product.price_cents) / 100
    assert order.total == order.subtotal - order.total_discounts and order.uses_discount_code("FREE-MUG")


def test_a_percentage_limited_to_a_product_takes_off_only_that_products_lines(store, delivery):
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(store.path))
    product = store.products(SHOP)[0]
    adapter.create_discount_code(DiscountSpec(code="TEA-50", kind=DiscountKind.PERCENTAGE, value=Decimal(50),
                                              title="Half off tea", product_ids=(str(product.id),)))

    order = place(store, delivery, items=3, discount_code="TEA-50")

    lines = [line for line in order.line_items if line.product_id == str(product.id)]
    assert len(order.line_items) >= 3 and lines
    assert order.total_discounts == (sum(line.line_total for line in lines) / 2).quantize(Decimal("0.01"))


def test_a_partial_then_a_final_refund_refund_the_order(store, delivery, recorder):
    order = place(store, delivery, items=2)
    recorder.topics.clear()

    partial = operations.create_refund(store, SHOP, int(order.number), amount=Decimal("5.00"),
                                       reason="Scratched", delivery=delivery, now=LATER).subject
    final = operations.create_refund(store, SHOP, int(order.number), delivery=delivery, now=LATER).subject

    assert partial.financial_status is FinancialStatus.PARTIALLY_REFUNDED
    assert partial.total_refunded == Decimal(5)
    assert partial.refunds[0].reason == "Scratched"
    assert final.financial_status is FinancialStatus.REFUNDED and final.total_refunded == final.total
    assert recorder.topics == ["refunds/create", "orders/updated"] * 2


def test_a_deleted_order_is_gone_and_its_deletion_sends_its_id(store, recorder, tmp_path):
    bodies = []
    delivery = Delivery(send=lambda url, body, headers: bodies.append(body) or recorder(url, body, headers))
    order = place(store, delivery, items=2)
    recorder.topics.clear()

    outcome = operations.delete_order(store, SHOP, int(order.number), delivery=delivery, now=LATER)

    assert outcome.subject == order and outcome.payload == {"id": int(order.platform_id)}
    assert recorder.topics == ["orders/delete"] and bodies[-1] == b'{"id":%d}' % int(order.platform_id)
    with pytest.raises(NotFound):
        store.order(SHOP, int(order.platform_id))
    with pytest.raises(NotFound):
        operations.delete_order(store, SHOP, int(order.number), delivery=delivery)


@pytest.mark.parametrize("amount", [Decimal(0), Decimal(-1), Decimal(100000), Decimal("1.001")])
def test_a_refund_must_fit_what_is_left(store, delivery, amount):
    order = place(store, delivery, items=1)

    with pytest.raises(SandboxError):
        operations.create_refund(store, SHOP, int(order.number), amount=amount, delivery=delivery)


def test_an_unpaid_order_cannot_be_refunded(store, delivery):
    order = place(store, delivery, items=1, paid=False)

    with pytest.raises(SandboxError, match="pending"):
        operations.create_refund(store, SHOP, int(order.number), delivery=delivery)


def test_fulfilling_ships_and_closes_a_paid_order_once(store, delivery, recorder):
    order = place(store, delivery, items=1)
    recorder.topics.clear()

    shipped = operations.fulfil(store, SHOP, int(order.number), delivery=delivery, now=LATER).subject

    assert shipped.fulfillment_status is FulfillmentStatus.FULFILLED
    assert shipped.fulfilled_at is not None and shipped.closed_at == shipped.fulfilled_at
    assert recorder.topics == ["orders/fulfilled", "orders/updated"]
    with pytest.raises(SandboxError, match="already fulfilled"):
        operations.fulfil(store, SHOP, int(order.number), delivery=delivery)


def test_cancelling_a_paid_order_refunds_it_and_an_unpaid_one_is_voided(store, delivery, recorder):
    paid = place(store, delivery, items=1)
    unpaid = place(store, delivery, items=1, paid=False)
    recorder.topics.clear()

    cancelled = operations.cancel(store, SHOP, int(paid.number), reason="inventory",
                                  delivery=delivery).subject
    voided = operations.cancel(store, SHOP, int(unpaid.number), delivery=delivery).subject

    assert cancelled.financial_status is FinancialStatus.REFUNDED
    assert cancelled.total_refunded == cancelled.total
    assert cancelled.cancel_reason == "inventory" and cancelled.cancelled_at is not None
    assert voided.financial_status is FinancialStatus.VOIDED and voided.refunds == ()
    assert recorder.topics == ["orders/cancelled", "orders/updated"] * 2
    with pytest.raises(SandboxError, match="already cancelled"):
        operations.cancel(store, SHOP, int(paid.number), delivery=delivery)
    with pytest.raises(SandboxError, match="cancelled"):
        operations.fulfil(store, SHOP, int(paid.number), delivery=delivery)


def test_a_shipped_order_cannot_be_cancelled(store, delivery):
    order = place(store, delivery, items=1)
    operations.fulfil(store, SHOP, int(order.number), delivery=delivery)

    with pytest.raises(SandboxError, match="refund it instead"):
        operations.cancel(store, SHOP, int(order.number), delivery=delivery)


def test_every_change_moves_updated_at_forward_even_within_one_instant(store, delivery):
    order = place(store, delivery, items=2)
    number = int(order.number)

    steps = [order,
             operations.create_refund(store, SHOP, number, amount=Decimal(1), delivery=delivery,
                                      now=LATER).subject,
             operations.fulfil(store, SHOP, number, delivery=delivery, now=LATER).subject,
             operations.create_refund(store, SHOP, number, delivery=delivery, now=NOW).subject]

    stamps = [step.updated_at for step in steps]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_a_new_customer_is_announced_and_readable(store, delivery, recorder):
    outcome = operations.create_customer(store, SHOP, email="Ada@Example.com", first_name="Ada", locale="pl",
                                         accepts_marketing=True, delivery=delivery, now=LATER)
    adapter = SandboxAdapter(Connection(shop_domain=SHOP), str(store.path))

    assert outcome.subject == adapter.get_customer(outcome.subject.platform_id)
    assert outcome.subject.email == "ada@example.com" and outcome.subject.accepts_marketing
    assert recorder.topics == ["customers/create"]
    with pytest.raises(SandboxError, match="already exists"):
        operations.create_customer(store, SHOP, email="ada@example.com", delivery=delivery)


def test_unknown_customers_orders_codes_and_shops_are_named_errors(store, delivery):
    with pytest.raises(NotFound, match="nobody@example.com"):
        place(store, delivery, customer_email="nobody@example.com")
    with pytest.raises(NotFound, match="#9999"):
        operations.fulfil(store, SHOP, 9999, delivery=delivery)
    with pytest.raises(NotFound, match="NOPE"):
        place(store, delivery, discount_code="NOPE")
    with pytest.raises(AuthRevoked, match="unknown shop"):
        operations.create_order(store, "missing.sandbox.test", delivery=delivery)
    with pytest.raises(SandboxError, match="between 1 and 30"):
        place(store, delivery, items=31)


def test_a_failed_operation_changes_nothing(store, delivery):
    before = store.count_orders(SHOP)

    with pytest.raises(NotFound):
        place(store, delivery, items=2, discount_code="NOPE")

    assert store.count_orders(SHOP) == before
