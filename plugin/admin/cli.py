"""``flask admin login-link SHOP``: print a single-use, ten-minute sign-in link for a shop (by id,
domain, or a WooCommerce store's address or store key: ``https://example.com/sklep`` is
``example.com/sklep``)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import or_, select

from adapters.woocommerce.auth import store_key
from plugin.admin.auth import login_url
from plugin.shops.models import Shop

admin_cli = AppGroup("admin", help="The merchant admin.")


@admin_cli.command("login-link")
@click.argument("shop")
def login_link(shop: str) -> None:
    """Print a sign-in link to SHOP's admin (an id, a domain, or a store's address): it works once,
    within ten minutes."""
    db = current_app.extensions["storecare.db"]
    names = {shop, shop.lower(), store_key(shop if "://" in shop else f"https://{shop}")} - {""}
    with db.uow() as session:
        match = Shop.domain.in_(names)
        if shop.isdigit():
            match = or_(match, Shop.id == int(shop))
        found = session.scalars(select(Shop).where(match, Shop.status == "installed")).all()
    if len(found) != 1:
        raise click.ClickException(f"no single installed shop matches {shop!r} ({len(found)} found)")
    settings = current_app.config["STORECARE_SETTINGS"]
    click.echo(settings.app_url.rstrip("/") + login_url(found[0].id))
