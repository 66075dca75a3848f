"""``flask loyalty``: operators' commands, each printing JSON (the shapes are a contract).

A refusal exits with status 1 and one line on stderr saying why. Subcommands are added to
``loyalty_cli`` (``@loyalty_cli.command(...)``); ``shop_of`` and ``member_of`` find what they name
within the shop.
"""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.loyalty import adjustments, ledger
from plugin.loyalty.members import ensure_member, member_by_email
from plugin.loyalty.models import LoyaltyMember
from plugin.loyalty.reports import member_document
from plugin.shops.models import Shop
from plugin.sync.models import Customer


class Refused(Exception):
    """What a command refuses, said in one line."""


def refuse(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def shop_of(session: Session, domain: str) -> Shop:
    shop = session.scalars(select(Shop).where(Shop.domain == domain.strip().lower())).first()
    if shop is None:
        raise Refused(f"no shop {domain!r} is installed")
    return shop


def member_of(session: Session, shop: Shop, email: str, enrol: bool = False) -> LoyaltyMember:
    """The shop's member with ``email``; ``enrol``: a customer who is not a member yet becomes one."""
    member = member_by_email(session, shop.id, email)
    if member is not None:
        return member
    customer_id = session.scalar(select(Customer.id).where(
        Customer.shop_id == shop.id, func.lower(Customer.email) == email.strip().lower(),
        Customer.deleted_at.is_(None)).order_by(Customer.id).limit(1))
    if customer_id is None:
        raise Refused(f"no customer {email!r} in {shop.domain}")
    if not enrol:
        raise Refused(f"{email} is not a member of the loyalty program of {shop.domain}")
    return ensure_member(session, shop.id, customer_id)


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
    with _db().uow() as session:
        try:
            echo_json(member_document(session, member_of(session, shop_of(session, domain), email)))
        except Refused as exc:
            refuse(str(exc))


@loyalty_cli.command("adjust")
@click.option("--shop", "domain", required=True)
@click.option("--email", required=True)
@click.option("--points", type=int, required=True, help="points to add; negative to take")
@click.option("--reason", required=True, help="what the member reads")
@with_appcontext
def adjust(domain: str, email: str, points: int, reason: str):
    """Add or take a member's points with a reason; prints the member as JSON."""
    with _db().uow() as session:
        try:
            found = member_of(session, shop_of(session, domain), email, enrol=True)
            adjustments.adjust(session, found, points, reason=reason, actor="command line")
            session.commit()
        except Refused as exc:
            session.rollback()
            refuse(str(exc))
        except ledger.InsufficientPoints as exc:
            session.rollback()
            refuse(f"refused: {exc.asked} points asked, only {exc.available} available")
        except ledger.LedgerError as exc:
            session.rollback()
            refuse(f"refused: {exc}")
        echo_json(member_document(session, session.get(LoyaltyMember, found.id)))


# ``flask loyalty rewards`` and ``flask loyalty redeem``
from plugin.loyalty.cli_rewards import add_to  # noqa: E402

add_to(loyalty_cli)
