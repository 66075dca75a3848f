"""``flask sync``: backfill a shop and show where its sync stands."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from plugin.shops.models import Shop
from plugin.sync.backfill import request_backfill
from plugin.sync.models import Customer, Order, SyncState, WebhookDelivery


def _shop(session, domain: str) -> Shop:
    shop = session.scalars(select(Shop).where(Shop.domain == domain.lower())).first()
    if shop is None:
        raise click.ClickException(f"no shop {domain!r} is installed")
    return shop


@click.group("sync")
def sync_cli():
    """Order and customer sync."""


@sync_cli.command("backfill")
@click.option("--shop", "domain", required=True)
@with_appcontext
def backfill(domain: str):
    """Queue a full re-sync of a shop (the worker runs it)."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        run = request_backfill(session, _shop(session, domain).id)
        session.commit()
        click.echo(f"backfill job #{run.id} is {run.status}")


@sync_cli.command("status")
@click.option("--shop", "domain", required=True)
@with_appcontext
def status(domain: str):
    """Counts, backfill progress and the last webhook of a shop."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        shop = _shop(session, domain)
        orders = session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop.id))
        customers = session.scalar(select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id))
        click.echo(f"{shop.domain} ({shop.platform}, {shop.status}): {orders} orders, {customers} customers")
        for state in session.scalars(select(SyncState).where(SyncState.shop_id == shop.id)):
            click.echo(f"  {state.resource}: {state.status}, {state.processed} processed"
                       + (f", error: {state.last_error}" if state.last_error else ""))
        last = session.scalars(select(WebhookDelivery).where(WebhookDelivery.shop_id == shop.id)
                               .order_by(WebhookDelivery.id.desc()).limit(1)).first()
        if last:
            click.echo(f"  last webhook: {last.topic} at {last.received_at:%Y-%m-%d %H:%M:%S} ({last.status})")
