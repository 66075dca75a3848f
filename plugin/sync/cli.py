"""``flask sync``: backfill a shop, reconcile it now, and show where its sync stands."""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from plugin.shops.models import Shop
from plugin.sync.backfill import queue_backfill
from plugin.sync.models import Customer, Order, SyncState, WebhookDelivery
from plugin.sync.reconcile import ReconcileResult, run_reconcile, webhook_row

# Exit statuses of ``flask sync reconcile``: scripts read them with its JSON.
RECONCILED, RECONCILE_FAILED, UNKNOWN_SHOP = 0, 1, 2


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
        shop_id = _shop(session, domain).id
    run = queue_backfill(db, shop_id)
    click.echo(f"backfill job #{run.id} is {run.status}")


@sync_cli.command("status")
@click.option("--shop", "domain", required=True)
@with_appcontext
def status(domain: str):
    """Counts, backfill progress and the last webhook of a shop."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        shop = _shop(session, domain)
        orders = session.scalar(select(func.count()).select_from(Order).where(
            Order.shop_id == shop.id, Order.deleted_at.is_(None)))
        deleted = session.scalar(select(func.count()).select_from(Order).where(
            Order.shop_id == shop.id, Order.deleted_at.is_not(None)))
        customers = session.scalar(select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id))
        click.echo(f"{shop.domain} ({shop.platform}, {shop.status}): {orders} orders"
                   + (f" (and {deleted} deleted on the platform)" if deleted else "") + f", {customers} customers")
        for state in session.scalars(select(SyncState).where(SyncState.shop_id == shop.id)):
            click.echo(f"  {state.resource}: {state.status}, {state.processed} processed"
                       + (f", error: {state.last_error}" if state.last_error else ""))
        last = session.scalars(select(WebhookDelivery).where(WebhookDelivery.shop_id == shop.id)
                               .order_by(WebhookDelivery.id.desc()).limit(1)).first()
        if last:
            click.echo(f"  last webhook: {last.topic} at {last.received_at:%Y-%m-%d %H:%M:%S} ({last.status})")


@sync_cli.command("reconcile")
@click.option("--shop", "domain", required=True)
@with_appcontext
def reconcile(domain: str):
    """Reconcile a shop now, in this process (as the quarter-hourly job does), and print what it found
    and did as one JSON object (see reconcile_report). Exit status 0 when done, 1 when the reconcile
    failed, 2 for a shop we do not hold; the JSON is printed in every case."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        shop = session.scalars(select(Shop).where(Shop.domain == domain.strip().lower())).first()
        found = (shop.id, shop.domain, shop.platform) if shop is not None else None
    if found is None:
        _print_json(reconcile_report(domain.strip().lower(), None, error=f"no shop {domain!r} is installed"))
        sys.exit(UNKNOWN_SHOP)
    shop_id, shop_domain, platform = found
    try:
        result = run_reconcile(db, shop_id)
    except Exception as exc:  # noqa: BLE001 - reported in the JSON (and recorded on the shop's reconcile state)
        _print_json(reconcile_report(shop_domain, platform, error=f"{type(exc).__name__}: {exc}"))
        sys.exit(RECONCILE_FAILED)
    _print_json(reconcile_report(shop_domain, platform, result))


def reconcile_report(shop: str, platform: str | None, result: ReconcileResult | None = None,
                     error: str | None = None) -> dict:
    """What ``flask sync reconcile`` prints: a contract for scripts, so its keys never change.

    ``status`` is "done" or "failed"; when failed, ``error`` says why and every figure is null.
    ``remote_orders`` the platform's order count; ``local_orders`` ours after the run (deleted orders do
    not count); ``pulled_orders`` fetched from the platform, ``applied_orders`` of them changed our mirror;
    ``deleted_orders`` held here but gone from the platform, marked deleted; ``pulled_since`` the start
    of the window pulled (ISO 8601, UTC) or null for everything; ``unresolved_difference`` the platform's
    count minus ours when even a full pull cannot close it, else null; ``webhooks`` each topic's
    subscription: ``found`` active|paused|disabled|missing, ``action`` none|created|re_enabled|secret_reset.
    """
    done = result is not None
    return {
        "shop": shop,
        "platform": platform,
        "status": "done" if done else "failed",
        "remote_orders": result.remote_orders if done else None,
        "local_orders": result.local_orders if done else None,
        "pulled_orders": result.pulled_orders if done else None,
        "applied_orders": result.applied_orders if done else None,
        "deleted_orders": result.deleted_orders if done else None,
        "pulled_since": result.pulled_since.isoformat() if done and result.pulled_since else None,
        "unresolved_difference": result.unresolved_difference if done else None,
        "webhooks": [webhook_row(check) for check in result.webhooks] if done else None,
        "error": None if done else error,
    }


def _print_json(report: dict) -> None:
    click.echo(json.dumps(report))
