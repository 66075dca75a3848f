"""A sandbox shop with its loyalty program on, a member with points, and rewards: for the loyalty tests."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from plugin.admin.shop_settings import save, section
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember
from plugin.loyalty.rewards import create_reward
from plugin.loyalty.settings import DEFAULTS
from plugin.sync.models import Customer
from tests import sandbox_support


@dataclass
class Program:
    sandbox: sandbox_support.InstalledSandbox
    shop_id: int
    customer_id: int
    email: str
    member_id: int


def turn_on(db, shop_id: int, **changes) -> None:
    with db.uow() as s:
        save(s, shop_id, section(current_app, "loyalty"), {**DEFAULTS, "enabled": True, **changes})


def give(db, member_id: int, points: int, source_id: str = "gift") -> None:
    with db.uow() as s:
        member = s.get(LoyaltyMember, member_id)
        ledger.credit(s, member, points, source="manual", source_id=source_id, reason="Gift")
        s.commit()


def member_of(db, shop_id: int, customer_id: int) -> int:
    with db.uow() as s:
        member = ensure_member(s, shop_id, customer_id)
        s.commit()
        return member.id


def program(app, db, queue, *, domain: str = sandbox_support.DOMAIN, points: int = 0,
            address: str = "http://localhost") -> Program:
    """A seeded sandbox shop, mirrored, its program on, and a member (a customer of the mirror)."""
    sandbox = sandbox_support.install(app, db, customers=4, orders=6, domain=domain, address=address)
    queue.drain()
    turn_on(db, sandbox.shop_id)
    with db.uow() as s:
        customer = s.scalars(select(Customer).where(Customer.shop_id == sandbox.shop_id,
                                                    Customer.email.is_not(None)).order_by(Customer.id)).first()
    member_id = member_of(db, sandbox.shop_id, customer.id)
    if points:
        give(db, member_id, points)
    return Program(sandbox, sandbox.shop_id, customer.id, customer.email, member_id)


def reward(db, shop_id: int, **values) -> int:
    data = {"name": "10 off", "kind": "fixed_amount", "cost": 500, "value": "10.00", **values}
    with db.uow() as s:
        made = create_reward(s, shop_id, data)
        s.commit()
        return made.id


def balance(db, member_id: int) -> dict:
    with db.uow() as s:
        return ledger.balance(s.get(LoyaltyMember, member_id))
