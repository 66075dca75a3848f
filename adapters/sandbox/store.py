"""The sandbox store: one SQLite file holding any number of shops, each keyed by its domain.

A ``SandboxStore`` is only a path: every call opens a short-lived connection and closes it, so
instances are cheap, hold no global state, and several processes (the CLI, the app, the worker) can
share one file. Every query names the shop; a record of another shop is indistinguishable from a
missing one.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from adapters.errors import AdapterError, AuthRevoked, NotFound, Transient
from adapters.sandbox.records import (
    CUSTOMER_COLUMNS,
    CustomerRecord,
    DeliveryRecord,
    OrderRecord,
    ProductRecord,
    ShopRecord,
    SubscriptionRecord,
    customer_from_row,
    load_orders,
)
from adapters.sandbox.schema import (
    ID_BASES,
    INSERT_DELIVERY,
    INSERT_SUBSCRIPTION,
    db_time,
    open_database,
    read_time,
)

# The topics the sandbox fires; subscribing to anything else is refused rather than silently dead.
TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
          "orders/delete", "refunds/create", "customers/create", "customers/update")
MAX_PAGE = 250

OrderKey = tuple[str, int]  # (updated_at as stored, id): the keyset position of a page


class SandboxError(AdapterError):
    """A sandbox operation was refused; the message says why and is safe to show."""


class ShopExistsError(SandboxError):
    """Seeding was asked for a shop the store already holds (seeding refuses rather than merges)."""


def normalise_domain(domain: str) -> str:
    cleaned = (domain or "").strip().lower()
    if not cleaned or any(ch.isspace() for ch in cleaned):
        raise SandboxError(f"{domain!r} is not a shop domain")
    return cleaned


def next_id(conn: sqlite3.Connection, table: str) -> int:
    """The next id for ``table``: call inside a write transaction so two writers cannot share one."""
    current = conn.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]
    return (current or ID_BASES[table]) + 1


def bump(previous: datetime, now: datetime) -> datetime:
    """An ``updated_at`` strictly after ``previous``, so the newest change always sorts last."""
    return max(now, previous + timedelta(microseconds=1))


def shop_in(conn: sqlite3.Connection, domain: str) -> ShopRecord:
    row = conn.execute("SELECT domain, name, currency, tax_rate_bp, created_at, updated_at FROM shops "
                       "WHERE domain = ?", (domain,)).fetchone()
    if row is None:
        raise AuthRevoked(f"unknown shop: the sandbox store has no shop {domain!r}")
    return ShopRecord(row[0], row[1], row[2], row[3], read_time(row[4]), read_time(row[5]))


def order_in(conn: sqlite3.Connection, domain: str, order_id: int) -> OrderRecord:
    found = load_orders(conn, domain, [order_id])
    if not found:
        raise NotFound(f"no order {order_id} in shop {domain}")
    return found[0]


class SandboxStore:
    """Reads and small writes against the store file at ``path`` (created on first use)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"SandboxStore({str(self.path)!r})"

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        conn = open_database(self.path)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front (BEGIN IMMEDIATE) so id allocation cannot race."""
        conn = open_database(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # -- shops
    def has_shop(self, domain: str) -> bool:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            return conn.execute("SELECT 1 FROM shops WHERE domain = ?",
                                (domain,)).fetchone() is not None

    def shop(self, domain: str) -> ShopRecord:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            return shop_in(conn, domain)

    def shops(self) -> list[ShopRecord]:
        with self.reading() as conn:
            domains = [row[0] for row in conn.execute("SELECT domain FROM shops ORDER BY domain")]
            return [shop_in(conn, d) for d in domains]

    def delete_shop(self, domain: str) -> None:
        """Remove a shop and everything it holds (every table cascades from ``shops``)."""
        domain = normalise_domain(domain)
        with self.writing() as conn:
            shop_in(conn, domain)
            conn.execute("DELETE FROM shops WHERE domain = ?", (domain,))

    def inject_failures(self, domain: str, count: int) -> None:
        """Make the next ``count`` adapter calls for this shop raise Transient (any process, any adapter)."""
        domain = normalise_domain(domain)
        if count < 0:
            raise ValueError("count must not be negative")
        with self.writing() as conn:
            shop_in(conn, domain)
            conn.execute("UPDATE shops SET fail_next = ? WHERE domain = ?", (count, domain))

    def begin_call(self, domain: str) -> None:
        """What every adapter call does first: the shop must exist, and an injected failure is spent here."""
        domain = normalise_domain(domain)
        with self.reading() as conn:
            row = conn.execute("SELECT fail_next FROM shops WHERE domain = ?", (domain,)).fetchone()
            if row is None:
                raise AuthRevoked(f"unknown shop: the sandbox store has no shop {domain!r}")
            if row[0] > 0:
                spent = conn.execute("UPDATE shops SET fail_next = fail_next - 1 WHERE domain = ? "
                                     "AND fail_next > 0", (domain,)).rowcount
                if spent:
                    raise Transient("sandbox: injected transient failure")

    # -- orders
    def order(self, domain: str, order_id: int) -> OrderRecord:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            return order_in(conn, domain, order_id)

    def order_by_number(self, domain: str, number: int) -> OrderRecord:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            row = conn.execute("SELECT id FROM orders WHERE shop = ? AND number = ?",
                               (domain, number)).fetchone()
            if row is None:
                raise NotFound(f"no order #{number} in shop {domain}")
            return order_in(conn, domain, row[0])

    def order_page(self, domain: str, after: OrderKey | None, limit: int,
                   updated_since: datetime | None) -> tuple[list[OrderRecord], OrderKey | None]:
        """A page of orders after ``after`` and the key to continue from (None on the last page)."""
        domain = normalise_domain(domain)
        with self.reading() as conn:
            keys, more = _page_keys(conn, "orders", domain, after, limit, updated_since)
            orders = load_orders(conn, domain, [k[1] for k in keys])
        return orders, (keys[-1] if more else None)

    def order_id_page(self, domain: str, after: OrderKey | None, limit: int) -> tuple[list[int], OrderKey | None]:
        """A page of order ids (by id) after ``after``, and the key to continue from (None on the last)."""
        domain = normalise_domain(domain)
        with self.reading() as conn:
            keys, more = _page_keys(conn, "orders", domain, after, limit, None)
        return [k[1] for k in keys], (keys[-1] if more else None)

    def count_orders(self, domain: str, updated_since: datetime | None = None) -> int:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            if updated_since is None:
                return conn.execute("SELECT COUNT(*) FROM orders WHERE shop = ?", (domain,)).fetchone()[0]
            return conn.execute("SELECT COUNT(*) FROM orders WHERE shop = ? AND updated_at >= ?",
                                (domain, db_time(updated_since))).fetchone()[0]

    def recent_orders(self, domain: str, limit: int = 10) -> list[OrderRecord]:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM orders WHERE shop = ? ORDER BY number DESC "
                                              "LIMIT ?", (domain, limit))]
            return load_orders(conn, domain, ids)

    # -- customers and products
    def customer(self, domain: str, customer_id: int) -> CustomerRecord:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            row = conn.execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE shop = ? AND id = ?",
                               (domain, customer_id)).fetchone()
        if row is None:
            raise NotFound(f"no customer {customer_id} in shop {domain}")
        return customer_from_row(row)

    def customer_page(self, domain: str, after: OrderKey | None, limit: int,
                      updated_since: datetime | None) -> tuple[list[CustomerRecord], OrderKey | None]:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            keys, more = _page_keys(conn, "customers", domain, after, limit, updated_since)
            if not keys:
                return [], None
            marks = ",".join("?" * len(keys))
            rows = conn.execute(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE shop = ? "
                                f"AND id IN ({marks})", (domain, *(k[1] for k in keys))).fetchall()
        by_id = {row[0]: customer_from_row(row) for row in rows}
        return [by_id[k[1]] for k in keys], (keys[-1] if more else None)

    def top_customers(self, domain: str, limit: int = 10) -> list[tuple[CustomerRecord, int]]:
        """Customers with the most orders first: the quickest way to find a loyal one for a demo."""
        domain = normalise_domain(domain)
        with self.reading() as conn:
            shop_in(conn, domain)
            rows = conn.execute(
                f"SELECT {', '.join('c.' + c for c in CUSTOMER_COLUMNS.split(', '))}, COUNT(o.id) AS n "
                "FROM customers c LEFT JOIN orders o ON o.customer_id = c.id "
                "WHERE c.shop = ? GROUP BY c.id ORDER BY n DESC, c.id LIMIT ?", (domain, limit)).fetchall()
        return [(customer_from_row(row), row[-1]) for row in rows]

    def products(self, domain: str) -> list[ProductRecord]:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            rows = conn.execute("SELECT id, title, sku, price_cents FROM products WHERE shop = ? ORDER BY id",
                                (domain,)).fetchall()
        return [ProductRecord(*row) for row in rows]

    # -- webhook subscriptions and the delivery log
    def subscribe(self, domain: str, address: str, topics: Sequence[str], secret: str | None,
                  now: datetime) -> list[str]:
        """Create the missing subscriptions; return the topics created."""
        return [topic for topic, done in self.ensure_subscriptions(domain, address, topics, secret, now)
                if done == "created"]

    def ensure_subscriptions(self, domain: str, address: str, topics: Sequence[str], secret: str | None,
                             now: datetime) -> list[tuple[str, str]]:
        """Create the missing subscriptions; for each topic (once, in order), what was done: "created",
        "secret_reset" or "none".

        An existing subscription for the same topic and address keeps its id but takes the new
        secret, so an app that rotated its secret is not left with webhooks it cannot verify.
        """
        domain = normalise_domain(domain)
        if not secret:
            raise SandboxError("the sandbox signs every webhook: a secret is required to subscribe")
        if not address.startswith(("http://", "https://")):
            raise SandboxError(f"webhook address must be an http(s) URL, not {address!r}")
        unknown = sorted(set(topics) - set(TOPICS))
        if unknown:
            raise SandboxError(f"the sandbox does not fire {', '.join(unknown)}; "
                               f"it fires {', '.join(TOPICS)}")
        done: list[tuple[str, str]] = []
        stamp = db_time(now)
        with self.writing() as conn:
            shop_in(conn, domain)
            for topic in dict.fromkeys(topics):
                row = conn.execute("SELECT id, secret FROM webhook_subscriptions WHERE shop = ? "
                                   "AND topic = ? AND address = ?", (domain, topic, address)).fetchone()
                if row is None:
                    conn.execute(INSERT_SUBSCRIPTION, (next_id(conn, "webhook_subscriptions"), domain, topic,
                                                       address, secret, stamp, stamp))
                    done.append((topic, "created"))
                elif row[1] != secret:
                    conn.execute("UPDATE webhook_subscriptions SET secret = ?, updated_at = ? WHERE id = ?",
                                 (secret, stamp, row[0]))
                    done.append((topic, "secret_reset"))
                else:
                    done.append((topic, "none"))
        return done

    def subscriptions(self, domain: str, topic: str | None = None) -> list[SubscriptionRecord]:
        domain = normalise_domain(domain)
        with self.reading() as conn:
            rows = conn.execute("SELECT id, topic, address, secret FROM webhook_subscriptions WHERE shop = ? "
                                "AND (? IS NULL OR topic = ?) ORDER BY id", (domain, topic, topic)).fetchall()
        return [SubscriptionRecord(*row) for row in rows]

    def record_delivery(self, domain: str, subscription: SubscriptionRecord, *, webhook_id: str, attempt: int,
                        status_code: int | None, error: str | None, at: datetime) -> DeliveryRecord:
        """Append one delivery attempt to the log, committed at once so a crash loses nothing."""
        domain = normalise_domain(domain)
        stamp = db_time(at)
        with self.writing() as conn:
            new_id = next_id(conn, "deliveries")
            conn.execute(INSERT_DELIVERY, (new_id, domain, webhook_id, subscription.id, subscription.topic,
                                           subscription.address, attempt, status_code, error, stamp, stamp))
        return DeliveryRecord(new_id, webhook_id, subscription.topic, subscription.address, attempt,
                              status_code, error, read_time(stamp))

    def deliveries(self, domain: str, limit: int = 20) -> list[DeliveryRecord]:
        """The latest ``limit`` delivery attempts, newest first."""
        domain = normalise_domain(domain)
        with self.reading() as conn:
            shop_in(conn, domain)
            rows = conn.execute("SELECT id, webhook_id, topic, address, attempt, status_code, error, "
                                "created_at FROM deliveries WHERE shop = ? ORDER BY id DESC LIMIT ?",
                                (domain, limit)).fetchall()
        return [DeliveryRecord(*row[:7], read_time(row[7])) for row in rows]


def _page_keys(conn: sqlite3.Connection, table: str, domain: str, after: OrderKey | None, limit: int,
               updated_since: datetime | None) -> tuple[list[OrderKey], bool]:
    """Keyset paging: by id without a filter, by (updated_at, id) with one. Rows added while a caller
    pages get higher keys, so they appear on a later page: never a duplicate, never a gap."""
    if updated_since is None:
        rows = conn.execute(f"SELECT updated_at, id FROM {table} WHERE shop = ? AND id > ? "
                            "ORDER BY id LIMIT ?", (domain, after[1] if after else 0, limit + 1)).fetchall()
    else:
        start = after or ("", 0)
        rows = conn.execute(f"SELECT updated_at, id FROM {table} WHERE shop = ? AND updated_at >= ? AND "
                            "(updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT ?",
                            (domain, db_time(updated_since), start[0], start[1], limit + 1)).fetchall()
    return [(row[0], row[1]) for row in rows[:limit]], len(rows) > limit
