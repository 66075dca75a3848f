"""A sandbox customer's tags and attributes: where the app publishes a loyalty tier and balance.

The tier is a tag (base.tier_tag, as on Shopify) and an attribute; the balance an attribute. A change
moves the customer's ``updated_at`` forward, as a platform does when a customer is edited (no webhook
is sent: the sandbox sends webhooks for operations, not for what the app writes). Every function
takes an open connection inside the caller's transaction.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from decimal import Decimal

from adapters.base import TIER_TAG_PREFIX, CustomerLoyalty, tier_tag
from adapters.errors import NotFound
from adapters.sandbox.schema import db_time, read_time
from adapters.sandbox.store import bump

TIER, BALANCE = "loyalty_tier", "loyalty_balance"


def loyalty(conn: sqlite3.Connection, domain: str, customer_id: int) -> CustomerLoyalty:
    _tags(conn, domain, customer_id)  # the customer must be this shop's
    values = dict(conn.execute("SELECT key, value FROM customer_attributes WHERE customer_id = ? AND key IN (?, ?)",
                               (customer_id, TIER, BALANCE)).fetchall())
    return CustomerLoyalty(tier=values.get(TIER),
                           balance=Decimal(values[BALANCE]) if BALANCE in values else None)


def tags(conn: sqlite3.Connection, domain: str, customer_id: int) -> list[str]:
    return _tags(conn, domain, customer_id)[0]


def publish(conn: sqlite3.Connection, domain: str, customer_id: int, wanted: CustomerLoyalty,
            now: datetime) -> bool:
    """Make the customer's tier tag and attributes say ``wanted``; whether anything changed."""
    current_tags, updated_at = _tags(conn, domain, customer_id)
    kept = [tag for tag in current_tags if not tag.startswith(TIER_TAG_PREFIX)]
    new_tags = kept + ([tier_tag(wanted.tier)] if wanted.tier is not None else [])
    values = {TIER: wanted.tier, BALANCE: format(wanted.balance, "f") if wanted.balance is not None else None}
    held = dict(conn.execute("SELECT key, value FROM customer_attributes WHERE customer_id = ? AND key IN (?, ?)",
                             (customer_id, TIER, BALANCE)).fetchall())
    if new_tags == current_tags and all(held.get(key) == value for key, value in values.items()):
        return False
    stamp = db_time(bump(updated_at, now))
    for key, value in values.items():
        if value is None:
            conn.execute("DELETE FROM customer_attributes WHERE customer_id = ? AND key = ?", (customer_id, key))
        else:
            conn.execute("INSERT INTO customer_attributes (customer_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (customer_id, key) DO UPDATE SET value = excluded.value, "
                         "updated_at = excluded.updated_at", (customer_id, key, value, stamp))
    conn.execute("UPDATE customers SET tags = ?, updated_at = ? WHERE id = ?",
                 (json.dumps(new_tags), stamp, customer_id))
    return True


def _tags(conn: sqlite3.Connection, domain: str, customer_id: int) -> tuple[list[str], datetime]:
    row = conn.execute("SELECT tags, updated_at FROM customers WHERE shop = ? AND id = ?",
                       (domain, customer_id)).fetchone()
    if row is None:
        raise NotFound(f"no customer {customer_id} in shop {domain}")
    return json.loads(row[0]), read_time(row[1])
