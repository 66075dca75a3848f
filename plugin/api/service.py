"""The merchant API's use cases: API keys (create, list, revoke, authenticate) and the reads it serves.

Every read is scoped by the key's shop. Lists are pages of newest first, by id: ``starting_after`` is the
id of the last record of the page before (so a page never repeats or skips a record when new ones
arrive meanwhile), and ``has_more`` says whether another page follows.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload

from plugin.api.models import ApiKey
from plugin.db import utcnow
from plugin.shops.models import Shop
from plugin.sync import revenue
from plugin.sync.models import Customer, Order

KEY_PREFIX = "sck_"
HINT_LENGTH = 8  # "sck_" and the first four random characters
MAX_ACTIVE_KEYS = 20
MAX_NAME = 100
# last_used_at is written at most this often: an API read stays a read.
TOUCH_EVERY = timedelta(minutes=5)
# Ids beyond the database's integer range name no record (and must not reach the database).
MAX_ID = 2**63 - 1
T = TypeVar("T")


class ApiError(Exception):
    """Root of the merchant API's errors; the message is safe to show."""


class InvalidApiKey(ApiError):
    """No key of a shop matches what the request carries (unknown, revoked or malformed)."""


class TooManyKeys(ApiError):
    """The shop has as many live keys as it may have; one must be revoked first."""


class InvalidKeyName(ApiError):
    """A key's name is empty or too long."""


class RecordNotFound(ApiError):
    def __init__(self, kind: str):
        super().__init__(f"No {kind} with this id in your shop.")
        self.kind = kind


@dataclass(frozen=True)
class CreatedKey:
    record: ApiKey
    secret: str  # shown to the merchant once, never stored


@dataclass(frozen=True)
class Listing(Generic[T]):
    data: list[T]
    has_more: bool


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# -- keys ------------------------------------------------------------------------------------------

def list_keys(session: Session, shop_id: int) -> list[ApiKey]:
    """The shop's keys, live ones first, newest first."""
    return list(session.scalars(select(ApiKey).where(ApiKey.shop_id == shop_id)
                                .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


def create_key(db, shop_id: int, name: str) -> CreatedKey:
    name = " ".join(name.split())
    if not name:
        raise InvalidKeyName("Give the key a name, such as the script that will use it.")
    if len(name) > MAX_NAME:
        raise InvalidKeyName(f"A key's name is at most {MAX_NAME} characters.")
    with db.uow() as session:
        live = session.scalar(select(func.count()).select_from(ApiKey).where(
            ApiKey.shop_id == shop_id, ApiKey.revoked_at.is_(None)))
        if live >= MAX_ACTIVE_KEYS:
            raise TooManyKeys(f"A shop has at most {MAX_ACTIVE_KEYS} keys: revoke one you no longer use.")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(shop_id=shop_id, name=name, hint=secret[:HINT_LENGTH], key_hash=digest(secret))
        session.add(record)
        session.commit()
        return CreatedKey(record, secret)


def revoke_key(db, shop_id: int, key_id: int) -> ApiKey:
    """Revoke one of the shop's keys; revoking a revoked key changes nothing."""
    if not 0 < key_id <= MAX_ID:
        raise RecordNotFound("key")
    with db.uow() as session:
        record = session.scalars(select(ApiKey).where(ApiKey.shop_id == shop_id, ApiKey.id == key_id)).first()
        if record is None:
            raise RecordNotFound("key")
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            session.commit()
        return record


def authenticate(db, presented: str, now: datetime | None = None) -> ApiKey:
    """The live key ``presented`` is, of an installed shop; InvalidApiKey otherwise. Records its use (at
    most once every TOUCH_EVERY)."""
    now = now or utcnow()
    if not presented.startswith(KEY_PREFIX) or len(presented) > 100:
        raise InvalidApiKey("The API key is not valid.")
    wanted = digest(presented)
    with db.uow() as session:
        found = session.execute(select(ApiKey, Shop.status).join(Shop, Shop.id == ApiKey.shop_id)
                                .where(ApiKey.key_hash == wanted)).first()
        if found is None or not hmac.compare_digest(found[0].key_hash, wanted):
            raise InvalidApiKey("The API key is not valid.")
        record, status = found
        if record.revoked_at is not None:
            raise InvalidApiKey("This API key was revoked.")
        if status != "installed":
            raise InvalidApiKey("This API key's shop is no longer connected to Storecare.")
        if record.last_used_at is None or record.last_used_at < now - TOUCH_EVERY:
            session.execute(update(ApiKey).where(ApiKey.id == record.id).values(last_used_at=now))
            session.commit()
        return record


# -- reads -----------------------------------------------------------------------------------------

def _page(session: Session, stmt: Select, model, limit: int, starting_after: int | None) -> Listing:
    if starting_after is not None:
        stmt = stmt.where(model.id < starting_after)
    rows = list(session.scalars(stmt.order_by(model.id.desc()).limit(limit + 1)))
    return Listing(rows[:limit], len(rows) > limit)


def list_orders(session: Session, shop_id: int, limit: int, starting_after: int | None = None,
                customer_id: int | None = None) -> Listing[Order]:
    stmt = select(Order).where(Order.shop_id == shop_id, revenue.live_order())
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    return _page(session, stmt.options(selectinload(Order.line_items), selectinload(Order.refunds)),
                 Order, limit, starting_after)


def get_order(session: Session, shop_id: int, order_id: int) -> Order:
    order = None
    if 0 < order_id <= MAX_ID:
        order = session.scalars(select(Order).where(Order.shop_id == shop_id, Order.id == order_id,
                                                    revenue.live_order())
                                .options(selectinload(Order.line_items), selectinload(Order.refunds))).first()
    if order is None:
        raise RecordNotFound("order")
    return order


def _live_customers(shop_id: int) -> Select:
    return select(Customer).where(Customer.shop_id == shop_id, Customer.deleted_at.is_(None))


def list_customers(session: Session, shop_id: int, limit: int, starting_after: int | None = None,
                   email: str | None = None) -> Listing[Customer]:
    stmt = _live_customers(shop_id)
    if email:
        stmt = stmt.where(func.lower(Customer.email) == email.strip().lower())
    return _page(session, stmt, Customer, limit, starting_after)


def get_customer(session: Session, shop_id: int, customer_id: int) -> Customer:
    customer = None
    if 0 < customer_id <= MAX_ID:
        customer = session.scalars(_live_customers(shop_id).where(Customer.id == customer_id)).first()
    if customer is None:
        raise RecordNotFound("customer")
    return customer
