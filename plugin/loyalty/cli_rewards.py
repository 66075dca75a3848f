"""``flask loyalty rewards`` and ``flask loyalty redeem``: a shop's rewards, and redeeming one for a member,
each printing JSON (the shapes are a contract: scripts rely on them).

- ``flask loyalty rewards --shop DOMAIN``: ``[{"id", "name", "kind", "cost"}]``, the active rewards in the
  shop's order;
- ``flask loyalty redeem --shop DOMAIN --email EMAIL --reward ID [--points N] [--key KEY]``:
  ``{"code", "reward", "points"}`` through the same use case as the storefront
  (plugin/loyalty/redemption.py); ``--key`` (default: a new random one) makes a retry act once. Refused,
  or the store not answering: exit status 1 with one line on stderr saying why.

``rewards`` and ``redeem`` are plain commands; ``add_to(group)`` adds them to a ``loyalty`` group.
"""
from __future__ import annotations

import json
import sys
import uuid

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from plugin.loyalty.redemption import RedemptionRefused, member_id_for_email, redeem
from plugin.loyalty.rewards import list_rewards
from plugin.shops.models import Shop


def _fail(message: str) -> None:
    click.echo(message.replace("\n", " "), err=True)
    sys.exit(1)


def _shop_id(session, domain: str) -> int:
    shop = session.scalar(select(Shop).where(Shop.domain == domain.strip().lower()))
    if shop is None:
        _fail(f"no shop {domain!r} is installed")
    return shop.id


@click.command("rewards")
@click.option("--shop", "domain", required=True, help="The shop's domain.")
@with_appcontext
def rewards_command(domain: str) -> None:
    """The shop's active rewards as JSON: [{"id", "name", "kind", "cost"}]."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        found = list_rewards(session, _shop_id(session, domain), active_only=True)
        click.echo(json.dumps([{"id": r.id, "name": r.name, "kind": r.kind, "cost": r.cost} for r in found]))


@click.command("redeem")
@click.option("--shop", "domain", required=True, help="The shop's domain.")
@click.option("--email", required=True, help="The member's email.")
@click.option("--reward", "reward_id", required=True, type=int, help="The reward's id (see `rewards`).")
@click.option("--points", type=int, default=None, help="The points to use, for a variable reward.")
@click.option("--key", default=None, help="Makes a retry act once (default: a new random key).")
@with_appcontext
def redeem_command(domain: str, email: str, reward_id: int, points: int | None, key: str | None) -> None:
    """Redeem a reward for a member and print {"code", "reward", "points"}."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        shop_id = _shop_id(session, domain)
    member_id = member_id_for_email(db, shop_id, email)
    if member_id is None:
        _fail(f"no member with the email {email!r} in {domain}")
    key = key or uuid.uuid4().hex
    try:
        done = redeem(db, shop_id, member_id, reward_id, key=key, points=points)
    except RedemptionRefused as refused:
        _fail(f"refused ({refused.field}): {refused.message}")
    if done.status == "pending":
        _fail(f"the store did not answer: run again with --key {key} to finish this redemption")
    click.echo(json.dumps({"code": done.code, "reward": done.reward_id, "points": done.points}))


def add_to(group: click.Group) -> click.Group:
    """Add ``rewards`` and ``redeem`` to ``group`` (the ``loyalty`` group of plugin/loyalty/cli.py)."""
    group.add_command(rewards_command)
    group.add_command(redeem_command)
    return group
