"""``flask loyalty``: operators' commands, each printing JSON (the shapes are a contract).

A refusal exits with status 1 and one line on stderr saying why. Subcommands are added to
``loyalty_cli`` (``@loyalty_cli.command(...)``); the use cases they call are in
plugin/loyalty/service.py (``Refused``: the one-line reason).
"""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from plugin.loyalty import service


def refuse(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _db():
    return current_app.extensions["storecare.db"]


@click.group("loyalty")
def loyalty_cli():
    """The loyalty program: members and their points."""


@loyalty_cli.command("member")
@click.option("--shop", "domain", required=True)
@click.option("--email", required=True)
@with_appcontext
def member(domain: str, email: str):
    """A member's balances and history, as JSON."""
    try:
        echo_json(service.member_document_by_email(_db(), domain, email))
    except service.Refused as exc:
        refuse(str(exc))


@loyalty_cli.command("adjust")
@click.option("--shop", "domain", required=True)
@click.option("--email", required=True)
@click.option("--points", type=int, required=True, help="points to add; negative to take")
@click.option("--reason", required=True, help="what the member reads")
@with_appcontext
def adjust(domain: str, email: str, points: int, reason: str):
    """Add or take a member's points with a reason; prints the member as JSON."""
    try:
        echo_json(service.adjust_by_email(_db(), domain, email, points, reason=reason, actor="command line"))
    except service.Refused as exc:
        refuse(f"refused: {exc}")


# ``flask loyalty rewards`` and ``flask loyalty redeem``
from plugin.loyalty.cli_rewards import add_to  # noqa: E402

add_to(loyalty_cli)
