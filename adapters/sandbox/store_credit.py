"""Store credit in the sandbox: credits per customer and currency, each written once per key.

The shop has one currency and its accounts hold only that one (a credit in another is refused, as
Shopify refuses a currency its store-credit accounts do not take). A credit past its ``expires_at``
no longer counts in the balance. Orders do not spend store credit in the sandbox. Every function
takes an open connection inside the caller's write transaction.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime

from adapters.base import StoreCreditSpec
from adapters.errors import StoreCreditRefused
from adapters.sandbox.records import STORE_CREDIT_COLUMNS, StoreCreditRecord, store_credit_from_row
from adapters.sandbox.schema import INSERT_STORE_CREDIT, db_time, to_cents
from adapters.sandbox.store import SandboxError, next_id, shop_in


class StoreCreditRefusedError(StoreCreditRefused, SandboxError):
    """The sandbox refuses the credit as asked."""


def issue(conn: sqlite3.Connection, domain: str, spec: StoreCreditSpec, now: datetime) -> tuple[StoreCreditRecord, int]:
    """Write the credit once per key; (the credit, the account's balance in cents right after it).
    The same key again returns the credit already written; with another definition it is refused."""
    shop = shop_in(conn, domain)
    customer_id = _customer_id(conn, domain, spec.customer_platform_id)
    if spec.currency != shop.currency:
        raise StoreCreditRefusedError.because(StoreCreditRefused.CURRENCY,
                                              f"the shop's store credit is in {shop.currency}, not {spec.currency}")
    try:
        cents = to_cents(spec.amount)
    except ValueError:
        raise StoreCreditRefusedError.because(StoreCreditRefused.INVALID,
                                              f"{spec.amount} has more than two decimals") from None
    existing = _by_key(conn, domain, spec.key)
    if existing is None:
        stamp = db_time(now)
        conn.execute(INSERT_STORE_CREDIT, (next_id(conn, "store_credits"), domain, customer_id, spec.key, cents,
                                           spec.currency, db_time(spec.expires_at) if spec.expires_at else None,
                                           stamp, stamp))
        existing = _by_key(conn, domain, spec.key)
    elif (existing.customer_id, existing.amount_cents, existing.currency, existing.expires_at) != (
            customer_id, cents, spec.currency, spec.expires_at):
        raise StoreCreditRefusedError.because(StoreCreditRefused.INVALID,
                                              f"store credit key {spec.key} was used for another credit")
    return existing, balance_after(conn, existing, now)


def balance_after(conn: sqlite3.Connection, credit: StoreCreditRecord, now: datetime) -> int:
    """The account's balance in cents once ``credit`` was written, leaving out what has expired by ``now``."""
    row = conn.execute("SELECT COALESCE(SUM(amount_cents), 0) FROM store_credits WHERE customer_id = ? AND "
                       "currency = ? AND id <= ? AND (expires_at IS NULL OR expires_at > ?)",
                       (credit.customer_id, credit.currency, credit.id, db_time(now))).fetchone()
    return row[0]


def _by_key(conn: sqlite3.Connection, domain: str, key: str) -> StoreCreditRecord | None:
    row = conn.execute(f"SELECT {STORE_CREDIT_COLUMNS} FROM store_credits WHERE shop = ? AND key = ?",
                       (domain, key)).fetchone()
    return store_credit_from_row(row) if row else None


def _customer_id(conn: sqlite3.Connection, domain: str, platform_id: str) -> int:
    row = None
    if str(platform_id).isdigit():
        row = conn.execute("SELECT id FROM customers WHERE shop = ? AND id = ?",
                           (domain, int(platform_id))).fetchone()
    if row is None:
        raise StoreCreditRefusedError.because(StoreCreditRefused.CUSTOMER_NOT_FOUND,
                                              f"no customer {platform_id} in shop {domain}")
    return row[0]
