"""The sandbox store's SQLite schema, its storage codecs and the insert statements.

Plain ``sqlite3`` rather than SQLAlchemy: the generator writes 100,000 orders with ``executemany`` and
nothing else in the sandbox needs a dialect. Money is stored as integer minor units (cents) so sums
are exact; times as fixed-width ISO 8601 UTC text (``2025-03-01T09:30:00.000000+00:00``) so string
order equals time order and the file stays readable in the ``sqlite3`` shell.
"""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SCHEMA_VERSION = 3

# Each table's ids start in a range of its own, so an order id passed where a customer id belongs
# finds nothing instead of someone else's record (the bug shows up in tests, not in production).
ID_BASES: dict[str, int] = {
    "customers": 2_000_000_000,
    "orders": 5_000_000_000,
    "products": 8_000_000_000,
    "line_items": 11_000_000_000,
    "refunds": 14_000_000_000,
    "fulfillments": 17_000_000_000,
    "discount_codes": 20_000_000_000,
    "webhook_subscriptions": 23_000_000_000,
    "deliveries": 26_000_000_000,
    "store_credits": 29_000_000_000,
}

DDL = """
CREATE TABLE IF NOT EXISTS shops (
    domain TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    tax_rate_bp INTEGER NOT NULL,
    seed INTEGER,
    fail_next INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY,
    shop TEXT NOT NULL REFERENCES shops(domain) ON DELETE CASCADE,
    title TEXT NOT NULL,
    sku TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_products_shop ON products (shop, id);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    shop TEXT NOT NULL REFERENCES shops(domain) ON DELETE CASCADE,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    birthday TEXT,
    accepts_marketing INTEGER NOT NULL,
    locale TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (shop, email)
);
CREATE INDEX IF NOT EXISTS ix_customers_shop_updated ON customers (shop, updated_at, id);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    shop TEXT NOT NULL REFERENCES shops(domain) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    email TEXT,
    customer_id INTEGER REFERENCES customers(id),
    currency TEXT NOT NULL,
    subtotal_cents INTEGER NOT NULL,
    discount_cents INTEGER NOT NULL,
    tax_cents INTEGER NOT NULL,
    total_cents INTEGER NOT NULL,
    discount_code TEXT,
    financial_status TEXT NOT NULL,
    fulfillment_status TEXT,
    processed_at TEXT NOT NULL,
    cancelled_at TEXT,
    cancel_reason TEXT,
    closed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (shop, number)
);
CREATE INDEX IF NOT EXISTS ix_orders_shop_updated ON orders (shop, updated_at, id);
CREATE INDEX IF NOT EXISTS ix_orders_customer ON orders (customer_id);
CREATE TABLE IF NOT EXISTS line_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    product_id INTEGER,
    title TEXT NOT NULL,
    sku TEXT,
    quantity INTEGER NOT NULL,
    price_cents INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_line_items_order ON line_items (order_id);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    amount_cents INTEGER NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_refunds_order ON refunds (order_id);
CREATE TABLE IF NOT EXISTS fulfillments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_fulfillments_order ON fulfillments (order_id);
CREATE TABLE IF NOT EXISTS discount_codes (
    id INTEGER PRIMARY KEY,
    shop TEXT NOT NULL REFERENCES shops(domain) ON DELETE CASCADE,
    code TEXT NOT NULL,
    code_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    title TEXT NOT NULL,
    customer_id INTEGER,
    ends_at TEXT,
    minimum_subtotal TEXT,
    usage_limit INTEGER,
    times_used INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (shop, code_key)
);
CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id INTEGER PRIMARY KEY,
    shop TEXT NOT NULL REFERENCES shops(domain) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    address TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (shop, topic, address)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    shop TEXT NOT NULL REFERENCES shops(domain) ON DELETE CASCADE,
    webhook_id TEXT NOT NULL,
    subscription_id INTEGER,
    topic TEXT NOT NULL,
    address TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_deliveries_shop ON deliveries (shop, id);
"""

# Each later version's changes, applied in order to a file of an earlier version (and to a new file,
# after DDL, which is version 1): a store file the demo filled keeps its data across an upgrade.
UPGRADES: dict[int, tuple[str, ...]] = {
    2: (  # loyalty: reward codes limited to products, with a shipping cap and combinability; customer
          # tags and attributes (a tier and a balance published by the app); store credit
        "ALTER TABLE discount_codes ADD COLUMN product_ids TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE discount_codes ADD COLUMN shipping_cap TEXT",
        "ALTER TABLE discount_codes ADD COLUMN combines_with TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'",
        """CREATE TABLE customer_attributes (
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (customer_id, key)
        )""",
        """CREATE TABLE store_credits (
            id INTEGER PRIMARY KEY,
            shop TEXT NOT NULL REFERENCES shops(domain) ON DELETE CASCADE,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            amount_cents INTEGER NOT NULL,
            currency TEXT NOT NULL,
            expires_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (shop, key)
        )""",
        "CREATE INDEX ix_store_credits_customer ON store_credits (customer_id, currency)",
    ),
    3: (  # a guest's reward code (a referred friend's welcome code): only orders placed with this email
        "ALTER TABLE discount_codes ADD COLUMN customer_email TEXT",
    ),
}

INSERT_SHOP = ("INSERT INTO shops (domain, name, currency, tax_rate_bp, seed, fail_next, created_at,"
               " updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)")
INSERT_PRODUCT = ("INSERT INTO products (id, shop, title, sku, price_cents, created_at, updated_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)")
INSERT_CUSTOMER = ("INSERT INTO customers (id, shop, email, first_name, last_name, birthday,"
                   " accepts_marketing, locale, created_at, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_ORDER = ("INSERT INTO orders (id, shop, number, email, customer_id, currency, subtotal_cents,"
                " discount_cents, tax_cents, total_cents, discount_code, financial_status,"
                " fulfillment_status, processed_at, cancelled_at, cancel_reason, closed_at, created_at,"
                " updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_LINE = ("INSERT INTO line_items (id, order_id, product_id, title, sku, quantity, price_cents,"
               " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_REFUND = ("INSERT INTO refunds (id, order_id, amount_cents, note, created_at, updated_at)"
                 " VALUES (?, ?, ?, ?, ?, ?)")
INSERT_FULFILLMENT = ("INSERT INTO fulfillments (id, order_id, status, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, ?)")
INSERT_DISCOUNT_CODE = ("INSERT INTO discount_codes (id, shop, code, code_key, kind, value, title,"
                        " customer_id, ends_at, minimum_subtotal, usage_limit, times_used, created_at,"
                        " updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_REWARD_CODE = ("INSERT INTO discount_codes (id, shop, code, code_key, kind, value, title, customer_id,"
                      " ends_at, minimum_subtotal, usage_limit, times_used, product_ids, shipping_cap, combines_with,"
                      " customer_email, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_STORE_CREDIT = ("INSERT INTO store_credits (id, shop, customer_id, key, amount_cents, currency, expires_at,"
                       " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_SUBSCRIPTION = ("INSERT INTO webhook_subscriptions (id, shop, topic, address, secret, created_at,"
                       " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
INSERT_DELIVERY = ("INSERT INTO deliveries (id, shop, webhook_id, subscription_id, topic, address, attempt,"
                   " status_code, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

CENT = Decimal("0.01")


class SchemaMismatch(RuntimeError):
    """The file was written by a different version of the sandbox schema."""


def open_database(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store file in autocommit mode; callers open transactions explicitly.

    WAL lets the CLI write while the app's worker reads the same file; ``synchronous=NORMAL`` is
    durable enough for a sandbox and keeps single-event commits cheap.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(f"BEGIN; {DDL} PRAGMA user_version = 1; COMMIT;")
            version = 1
        if version != SCHEMA_VERSION:
            _upgrade(conn, path, version)
    except BaseException:
        conn.close()
        raise
    return conn


def _upgrade(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Bring a file of an earlier version to SCHEMA_VERSION in one transaction (another process may be
    doing the same: the version is read again under the write lock)."""
    if not 1 <= version < SCHEMA_VERSION:
        raise SchemaMismatch(f"the sandbox store {path} has schema version {version}, expected "
                             f"{SCHEMA_VERSION}: delete the file and seed again")
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in UPGRADES[target]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def db_time(value: datetime) -> str:
    """A tz-aware datetime as the store's fixed-width UTC text (naive datetimes are refused)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the sandbox store")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def read_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def to_cents(amount: Decimal) -> int:
    """Decimal money -> integer cents, refusing amounts with more than two decimal places."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
