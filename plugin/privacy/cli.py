"""``flask privacy audit``: the operator's proof that every privacy request was carried out."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from plugin.privacy import service as privacy


@click.group("privacy")
def privacy_cli():
    """Privacy requests (customers/data_request, customers/redact, shop/redact)."""


@privacy_cli.command("audit")
@click.option("--shop", "domain", help="Only this shop's requests (its domain; it may have been erased).")
@click.option("--platform", help="Only this platform's shops.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@with_appcontext
def audit(domain: str | None, platform: str | None, limit: int):
    """List the audit records, newest first: no personal data, only platform ids and row counts."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        records = privacy.list_audits(session, platform, domain.lower() if domain else None, limit)
        if not records:
            click.echo("no privacy requests recorded")
        for record in records:
            click.echo(f"#{record.id} {record.topic} {record.platform}:{record.shop_domain} "
                       f"requested={record.requested_at:%Y-%m-%d %H:%M:%S} "
                       f"completed={record.completed_at:%Y-%m-%d %H:%M:%S} "
                       f"subject={json.dumps(record.subject, sort_keys=True)} "
                       f"counts={json.dumps(record.counts, sort_keys=True)}")
