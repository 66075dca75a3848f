"""``storecare sandbox ...``: drive the local sandbox store by hand, for the demo.

Every command works on the store file named by the app's settings (``sandbox_path``). Commands that
change a shop deliver its webhooks to the subscriptions the app registered (through the adapter's
subscribe_webhooks at install) and print each delivery attempt. This module deliberately knows nothing
of the app's own shops or sync: it is the "platform" side of the demo.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import click
from flask import current_app
from flask.cli import with_appcontext

from adapters.base import Order
from adapters.errors import AdapterError, AuthRevoked
from adapters.sandbox import operations
from adapters.sandbox.catalogue import PRICE_FACTORS
from adapters.sandbox.generator import seed_shop
from adapters.sandbox.records import DeliveryRecord
from adapters.sandbox.schema import from_cents
from adapters.sandbox.store import SandboxStore, ShopExistsError, normalise_domain

shop_option = click.option("--shop", "domain", required=True,
                           help="The sandbox shop's domain, e.g. demo.sandbox.test.")


@click.group("sandbox")
def sandbox_cli() -> None:
    """The local sandbox store: seed shops, place orders, refund, fulfil, cancel, delete, watch webhooks."""


def _store() -> SandboxStore:
    return SandboxStore(current_app.config["STORECARE_SETTINGS"].sandbox_path)


def _friendly(command: Callable) -> Callable:
    """Turn the store's typed errors into one-line messages instead of tracebacks."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AuthRevoked as exc:
            domain = kwargs.get("domain", "")
            raise click.ClickException(
                f"{exc.message}. Seed it first: storecare sandbox seed --shop {domain}") from None
        except ShopExistsError as exc:
            raise click.ClickException(f"{exc.message} (add --replace to rebuild it)") from None
        except AdapterError as exc:
            raise click.ClickException(exc.message) from None
    return wrapper


def _order_number(ctx: click.Context, param: click.Parameter, value: str) -> int:
    text = value.strip().lstrip("#")
    if not text.isdigit():
        raise click.BadParameter(f"{value!r} is not an order number such as 1001 or #1001")
    return int(text)


def _amount(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount such as 12.50") from None


@sandbox_cli.command("seed")
@shop_option
@click.option("--seed", default=42, show_default=True, help="Random seed: the same seed gives the same shop.")
@click.option("--customers", default=500, show_default=True, type=click.IntRange(min=0))
@click.option("--orders", default=3000, show_default=True, type=click.IntRange(min=0))
@click.option("--years", default=2.0, show_default=True, type=click.FloatRange(min=0.1),
              help="How many years of history.")
@click.option("--currency", default="PLN", show_default=True, type=click.Choice(sorted(PRICE_FACTORS)))
@click.option("--replace", is_flag=True, help="Delete the shop first if it exists (seeding never merges).")
@with_appcontext
@_friendly
def seed_command(domain: str, seed: int, customers: int, orders: int, years: float, currency: str,
                 replace: bool) -> None:
    """Create a shop with a catalogue, customers and a history of orders."""
    store = _store()
    if replace and store.has_shop(domain):
        store.delete_shop(domain)
    started = time.perf_counter()
    summary = seed_shop(store, domain, seed=seed, customers=customers, orders=orders, years=years,
                        currency=currency)
    click.echo(f"Seeded {summary.domain} ({summary.currency}) in {time.perf_counter() - started:.1f} s "
               f"into {store.path}")
    click.echo(f"  {summary.products} products, {summary.customers} customers, {summary.orders} orders "
               f"({summary.guest_orders} guest, {summary.discounted_orders} with a discount code)")
    click.echo(f"  {summary.fulfillments} fulfilments, {summary.refunds} refunds, "
               f"{summary.cancellations} cancellations")


@sandbox_cli.command("customers")
@shop_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@with_appcontext
@_friendly
def customers_command(domain: str, limit: int) -> None:
    """The shop's customers, most orders first (handy for finding a loyal one)."""
    for customer, order_count in _store().top_customers(normalise_domain(domain), limit):
        name = " ".join(p for p in (customer.first_name, customer.last_name) if p) or "-"
        click.echo(f"{customer.id}  {customer.email:<40} {name:<28} {customer.locale or '-':<3} "
                   f"{order_count:>4} orders")


@sandbox_cli.command("orders")
@shop_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@with_appcontext
@_friendly
def orders_command(domain: str, limit: int) -> None:
    """The shop's latest orders."""
    store = _store()
    domain = normalise_domain(domain)
    store.shop(domain)
    for record in store.recent_orders(domain, limit):
        cancelled = "  cancelled" if record.cancelled_at else ""
        click.echo(f"#{record.number}  {record.created_at:%Y-%m-%d %H:%M}  {record.email or '-':<40} "
                   f"{from_cents(record.total_cents):>10} {record.currency}  {record.financial_status:<18} "
                   f"{record.fulfillment_status or 'unfulfilled'}{cancelled}")


@sandbox_cli.command("customer")
@shop_option
@click.option("--email", required=True)
@click.option("--first-name")
@click.option("--last-name")
@click.option("--locale", default="en", show_default=True, type=click.Choice(["en", "pl"]))
@click.option("--marketing/--no-marketing", default=False, help="Whether the customer accepts marketing.")
@with_appcontext
@_friendly
def customer_command(domain: str, email: str, first_name: str | None, last_name: str | None, locale: str,
                     marketing: bool) -> None:
    """Register a customer (sends customers/create)."""
    outcome = operations.create_customer(_store(), domain, email=email, first_name=first_name,
                                         last_name=last_name, locale=locale, accepts_marketing=marketing)
    click.echo(f"Customer {outcome.subject.platform_id} {outcome.subject.email}")
    _echo_deliveries(outcome.deliveries)


@sandbox_cli.command("order")
@shop_option
@click.option("--customer", "customer_email", metavar="EMAIL", help="The ordering customer's email.")
@click.option("--guest", is_flag=True, help="A guest checkout, without a customer account.")
@click.option("--items", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--discount", "discount_code", metavar="CODE", help="A discount code to apply.")
@click.option("--unpaid", is_flag=True, help="Leave the order pending (no orders/paid).")
@with_appcontext
@_friendly
def order_command(domain: str, customer_email: str | None, guest: bool, items: int, discount_code: str | None,
                  unpaid: bool) -> None:
    """Place an order (sends orders/create, and orders/paid unless --unpaid)."""
    if bool(customer_email) == guest:
        raise click.UsageError("give exactly one of --customer EMAIL or --guest")
    outcome = operations.create_order(_store(), domain, customer_email=customer_email, items=items,
                                      discount_code=discount_code, paid=not unpaid)
    _echo_order("Placed", outcome.subject)
    _echo_deliveries(outcome.deliveries)


@sandbox_cli.command("refund")
@shop_option
@click.argument("number", metavar="ORDER_NUMBER", callback=_order_number)
@click.option("--amount", callback=_amount, help="Amount to refund; default: everything not yet refunded.")
@click.option("--reason", help="A note shown with the refund.")
@with_appcontext
@_friendly
def refund_command(domain: str, number: int, amount: Decimal | None, reason: str | None) -> None:
    """Refund an order, fully or partly (sends refunds/create and orders/updated)."""
    outcome = operations.create_refund(_store(), domain, number, amount=amount, reason=reason)
    _echo_order("Refunded", outcome.subject)
    _echo_deliveries(outcome.deliveries)


@sandbox_cli.command("fulfil")
@shop_option
@click.argument("number", metavar="ORDER_NUMBER", callback=_order_number)
@with_appcontext
@_friendly
def fulfil_command(domain: str, number: int) -> None:
    """Ship an order (sends orders/fulfilled and orders/updated)."""
    outcome = operations.fulfil(_store(), domain, number)
    _echo_order("Fulfilled", outcome.subject)
    _echo_deliveries(outcome.deliveries)


@sandbox_cli.command("cancel")
@shop_option
@click.argument("number", metavar="ORDER_NUMBER", callback=_order_number)
@click.option("--reason", default="customer", show_default=True,
              type=click.Choice(["customer", "inventory", "declined", "fraud", "other"]))
@with_appcontext
@_friendly
def cancel_command(domain: str, number: int, reason: str) -> None:
    """Cancel an unshipped order, refunding what was paid (sends orders/cancelled and orders/updated)."""
    outcome = operations.cancel(_store(), domain, number, reason=reason)
    _echo_order("Cancelled", outcome.subject)
    _echo_deliveries(outcome.deliveries)


@sandbox_cli.command("delete")
@shop_option
@click.argument("number", metavar="ORDER_NUMBER", callback=_order_number)
@with_appcontext
@_friendly
def delete_command(domain: str, number: int) -> None:
    """Delete an order for good (sends orders/delete)."""
    outcome = operations.delete_order(_store(), domain, number)
    _echo_order("Deleted", outcome.subject)
    _echo_deliveries(outcome.deliveries)


@sandbox_cli.command("deliveries")
@shop_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@with_appcontext
@_friendly
def deliveries_command(domain: str, limit: int) -> None:
    """The latest webhook delivery attempts, newest first."""
    attempts = _store().deliveries(normalise_domain(domain), limit)
    if not attempts:
        click.echo("No webhook deliveries yet.")
    for attempt in attempts:
        click.echo(f"{attempt.created_at:%Y-%m-%d %H:%M:%S}  {attempt.webhook_id}  {_attempt_line(attempt)}")


def _echo_order(verb: str, order: Order) -> None:
    who = order.email or "guest"
    click.echo(f"{verb} order #{order.number} (id {order.platform_id}) for {who}")
    for line in order.line_items:
        click.echo(f"  {line.quantity} x {line.title}  {line.unit_price} {order.currency}")
    codes = f" ({', '.join(order.discount_codes)})" if order.discount_codes else ""
    click.echo(f"  subtotal {order.subtotal}  discounts {order.total_discounts}{codes}  tax incl. "
               f"{order.total_tax}  total {order.total} {order.currency}")
    click.echo(f"  {order.financial_status}, {order.fulfillment_status}"
               + (f", refunded {order.total_refunded}" if order.refunds else "")
               + (f", cancelled ({order.cancel_reason})" if order.cancelled_at else ""))


def _echo_deliveries(attempts: tuple[DeliveryRecord, ...]) -> None:
    if not attempts:
        click.echo("No webhook subscriptions for these topics: nothing was delivered.")
        return
    click.echo("Webhooks:")
    for attempt in attempts:
        click.echo(f"  {_attempt_line(attempt)}")


def _attempt_line(attempt: DeliveryRecord) -> str:
    result = (f"{attempt.status_code}" if attempt.status_code is not None else "no response")
    outcome = "ok" if attempt.succeeded else "FAILED"
    detail = f" ({attempt.error})" if attempt.error else ""
    return f"{attempt.topic:<17} -> {attempt.address}  {result} {outcome}, attempt {attempt.attempt}{detail}"
