"""Seed a sandbox shop with a believable history, deterministically from a seed and a ``now``.

The same (domain, seed, sizes, years, now) always writes the same rows into a fresh store, so tests can
rely on the data and a demo can be rebuilt. Rows are built as tuples and written with ``executemany``
in batches inside one transaction: 100,000 orders take seconds, not minutes.

Re-seeding an existing shop is refused (ShopExistsError): merging a second history into the first would
break the numbering and the totals. Delete the shop first (``SandboxStore.delete_shop``) to rebuild it.
"""
from __future__ import annotations

import random
import sqlite3
import time
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import accumulate

from adapters.sandbox import catalogue
from adapters.sandbox.discounts import discount_cents
from adapters.sandbox.schema import (
    INSERT_CUSTOMER,
    INSERT_DISCOUNT_CODE,
    INSERT_FULFILLMENT,
    INSERT_LINE,
    INSERT_ORDER,
    INSERT_PRODUCT,
    INSERT_REFUND,
    INSERT_SHOP,
    db_time,
    to_cents,
)
from adapters.sandbox.store import SandboxStore, ShopExistsError, next_id, normalise_domain

HOUR = 3600
DAY = 24 * HOUR
YEAR = 365 * DAY
BATCH = 5_000  # orders per executemany flush: bounds memory at 100k+ orders

# Shares of all orders (the rest are paid); refunds are a share of paid orders.
GUEST_SHARE = 0.05
CANCELLED_SHARE = 0.03
PENDING_SHARE = 0.015
AUTHORIZED_SHARE = 0.01
DISCOUNTED_SHARE = 0.10
REFUND_SHARE_OF_PAID = 0.064
BUYER_SHARE = 0.9  # of accounts, those that ever ordered
ONE_TIME_SHARE = 0.5  # of buyers, those who ordered exactly once
LOYALTY_SIGMA = 1.1  # log-normal spread of how often repeat buyers order: a long tail of loyal ones


@dataclass(frozen=True)
class SeedSummary:
    domain: str
    currency: str
    products: int
    customers: int
    orders: int
    guest_orders: int
    discounted_orders: int
    refunds: int
    cancellations: int
    fulfillments: int


@dataclass(frozen=True)
class _Person:
    id: int
    email: str
    created: int  # epoch seconds


@dataclass(frozen=True)
class _Product:
    id: int
    title: str
    sku: str
    price_cents: int


@dataclass(frozen=True)
class _Code:
    code: str
    kind: str
    value_cents: int  # percent * 100 for a percentage code
    minimum_cents: int = 0


class _Rows:
    """Row tuples waiting for executemany, one list per insert statement."""

    def __init__(self) -> None:
        self.orders: list[tuple] = []
        self.lines: list[tuple] = []
        self.refunds: list[tuple] = []
        self.fulfillments: list[tuple] = []

    def flush(self, conn: sqlite3.Connection) -> None:
        for sql, rows in ((INSERT_ORDER, self.orders), (INSERT_LINE, self.lines),
                          (INSERT_REFUND, self.refunds), (INSERT_FULFILLMENT, self.fulfillments)):
            conn.executemany(sql, rows)
            rows.clear()


def seed_shop(store: SandboxStore, domain: str, *, seed: int = 42, customers: int = 500, orders: int = 3000,
              years: float = 2, now: datetime | None = None, currency: str = "PLN",
              name: str | None = None) -> SeedSummary:
    """Create ``domain`` in ``store`` with a catalogue, customers and ``years`` of orders up to ``now``."""
    domain = normalise_domain(domain)
    if currency not in catalogue.PRICE_FACTORS:
        raise ValueError(f"currency must be one of {', '.join(catalogue.PRICE_FACTORS)}, not {currency!r}")
    if customers < 0 or orders < 0 or years <= 0:
        raise ValueError("customers and orders must not be negative, years must be positive")
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    end = int(now.timestamp())
    start = end - int(years * YEAR)
    rng = random.Random(f"{seed}:{domain}")
    with store.writing() as conn:
        if conn.execute("SELECT 1 FROM shops WHERE domain = ?", (domain,)).fetchone():
            raise ShopExistsError(f"shop {domain} is already seeded; seeding never merges a second history")
        opened = db_time(datetime.fromtimestamp(start - 30 * DAY, UTC))
        conn.execute(INSERT_SHOP, (domain, name or _shop_name(domain), currency,
                                   catalogue.TAX_RATES_BP[currency], seed, opened, opened))
        products = _insert_products(conn, domain, currency, opened)
        codes = _insert_codes(conn, domain, currency, opened)
        people = _insert_customers(conn, rng, domain, customers, currency, start, end)
        return _insert_orders(conn, rng, domain, currency, orders, people, products, codes, start, end)


def _shop_name(domain: str) -> str:
    return domain.split(".")[0].replace("-", " ").title()


def _insert_products(conn: sqlite3.Connection, domain: str, currency: str, stamp: str) -> list[_Product]:
    first = next_id(conn, "products")
    products = [_Product(first + i, title, sku, to_cents(catalogue.localised_price(Decimal(usd), currency)))
                for i, (title, sku, usd) in enumerate(catalogue.PRODUCTS)]
    conn.executemany(INSERT_PRODUCT,
                     [(p.id, domain, p.title, p.sku, p.price_cents, stamp, stamp) for p in products])
    return products


def _insert_codes(conn: sqlite3.Connection, domain: str, currency: str,
                  stamp: str) -> list[tuple[_Code, int]]:
    """The shop-wide codes shoppers use, each with its popularity weight."""
    first = next_id(conn, "discount_codes")
    codes, rows = [], []
    for i, (code, kind, value, weight) in enumerate(catalogue.SEED_DISCOUNT_CODES):
        if kind == "percentage":
            amount, minimum = Decimal(value), None
        else:  # a fixed amount needs a basket of at least twice its value, so no order goes to zero
            amount = (Decimal(value) * catalogue.PRICE_FACTORS[currency]).quantize(Decimal(1))
            minimum = 2 * amount
        codes.append((_Code(code, kind, to_cents(amount), to_cents(minimum) if minimum else 0), weight))
        rows.append((first + i, domain, code, code.upper(), kind, str(amount), f"{code} ({kind})", None, None,
                     str(minimum) if minimum else None, None, 0, stamp, stamp))
    conn.executemany(INSERT_DISCOUNT_CODE, rows)
    return codes


def _insert_customers(conn: sqlite3.Connection, rng: random.Random, domain: str, count: int, currency: str,
                      start: int, end: int) -> list[_Person]:
    polish_share = 0.75 if currency == "PLN" else 0.15
    used: set[str] = set()
    drafts = []
    for _ in range(count):
        first, last, polish = _name(rng, polish_share)
        email = _unique_email(rng, first, last, used)
        created = rng.randint(start, end - HOUR)
        updated = created if rng.random() < 0.75 else rng.randint(created, end)
        birthday = _birthday(rng, end) if rng.random() < 0.4 else None
        locale = ("pl" if rng.random() < 0.9 else "en") if polish else "en"
        drafts.append((created, updated, email, first, last, birthday, rng.random() < 0.45, locale))
    drafts.sort(key=lambda d: d[0])
    base = next_id(conn, "customers")
    conn.executemany(INSERT_CUSTOMER, [
        (base + i, domain, email, first, last, birthday, int(marketing), locale, _stamp(created),
         _stamp(updated))
        for i, (created, updated, email, first, last, birthday, marketing, locale) in enumerate(drafts)])
    return [_Person(base + i, d[2], d[0]) for i, d in enumerate(drafts)]


def _name(rng: random.Random, polish_share: float) -> tuple[str, str, bool]:
    polish = rng.random() < polish_share
    female = rng.random() < 0.55
    if polish:
        first = rng.choice(catalogue.POLISH_FEMALE if female else catalogue.POLISH_MALE)
        return first, catalogue.polish_surname(rng.choice(catalogue.POLISH_LAST), female), True
    first = rng.choice(catalogue.ENGLISH_FEMALE if female else catalogue.ENGLISH_MALE)
    return first, rng.choice(catalogue.ENGLISH_LAST), False


def _unique_email(rng: random.Random, first: str, last: str, used: set[str]) -> str:
    local = catalogue.email_local_part(first, last)
    style = rng.random()
    if style < 0.3:
        local = local.replace(".", "") + str(rng.randint(1, 99))
    elif style < 0.45:
        local = local[0] + "." + local.split(".", 1)[1]
    domain = rng.choice(catalogue.EMAIL_DOMAINS)
    email, n = f"{local}@{domain}", 1
    while email in used:
        n += 1
        email = f"{local}{n}@{domain}"
    used.add(email)
    return email


def _birthday(rng: random.Random, end: int) -> str:
    year = datetime.fromtimestamp(end, UTC).year - rng.randint(18, 75)
    return date(year, rng.randint(1, 12), rng.randint(1, 28)).isoformat()


def _stamp(epoch: int) -> str:
    """Whole epoch seconds as the store's time text (``schema.db_time``'s format, twice as fast)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime(epoch))


def _order_times(rng: random.Random, count: int, people: list[_Person], start: int,
                 end: int) -> list[tuple[int, _Person | None]]:
    """When each order was placed and by whom, oldest first (order numbers follow time, as in a shop).

    Each of a customer's orders falls between their sign-up and ``now``; guests may order any time.
    """
    placed = []
    for buyer in _buyers(rng, count, people):
        low = buyer.created if buyer else start
        placed.append((rng.randint(low, end - 60), buyer))
    placed.sort(key=lambda p: (p[0], p[1].id if p[1] else 0))
    return placed


def _buyers(rng: random.Random, count: int, people: list[_Person]) -> list[_Person | None]:
    """Who placed each of ``count`` orders (None for a guest checkout).

    Like a real shop: some accounts never buy, about half of the buyers buy once, and the repeat
    buyers share the remaining orders with log-normal weights, so a few loyal customers order very often.
    """
    guests = sum(rng.random() < GUEST_SHARE for _ in range(count)) if people else count
    named = count - guests
    pool = list(people)
    rng.shuffle(pool)
    first = pool[:min(named, max(1, int(len(pool) * BUYER_SHARE)))]
    repeaters = [p for p in first if rng.random() >= ONE_TIME_SHARE] or first
    extra = named - len(first)
    chosen: list[_Person | None] = list(first)
    if extra > 0:
        cumulative = list(accumulate(rng.lognormvariate(0.0, LOYALTY_SIGMA) for _ in repeaters))
        chosen += rng.choices(repeaters, cum_weights=cumulative, k=extra)
    return chosen + [None] * guests


def _insert_orders(conn: sqlite3.Connection, rng: random.Random, domain: str, currency: str, count: int,
                   people: list[_Person], products: list[_Product], codes: list[tuple[_Code, int]],
                   start: int, end: int) -> SeedSummary:
    ids = {table: next_id(conn, table) for table in ("orders", "line_items", "refunds", "fulfillments")}
    tax_bp = catalogue.TAX_RATES_BP[currency]
    code_weights = list(accumulate(w for _, w in codes))
    used_codes: dict[str, int] = {}
    tally = {"guest": 0, "refunds": 0, "cancelled": 0, "fulfillments": 0}
    rows = _Rows()
    for index, (placed, buyer) in enumerate(_order_times(rng, count, people, start, end)):
        order_id = ids["orders"] + index
        when = _stamp(placed)
        subtotal = _add_lines(rng, rows, ids, order_id, products, when)
        code = _pick_code(rng, codes, code_weights, subtotal)
        discount = discount_cents(code.kind, code.value_cents, subtotal) if code else 0
        if code:
            used_codes[code.code] = used_codes.get(code.code, 0) + 1
        total = subtotal - discount
        tax = catalogue.included_tax(total, tax_bp)
        state = _history(rng, rows, ids, order_id, placed, end, total, tally)
        email = buyer.email if buyer else _guest_email(rng)
        tally["guest"] += buyer is None
        rows.orders.append((order_id, domain, 1001 + index, email, buyer.id if buyer else None, currency,
                            subtotal, discount, tax, total, code.code if code else None, state.financial,
                            state.fulfillment, when, state.cancelled_at, state.cancel_reason, state.closed_at,
                            when, _stamp(state.updated)))
        if len(rows.orders) >= BATCH:
            rows.flush(conn)
    rows.flush(conn)
    conn.executemany("UPDATE discount_codes SET times_used = ? WHERE shop = ? AND code = ?",
                     [(n, domain, code) for code, n in used_codes.items()])
    return SeedSummary(domain=domain, currency=currency, products=len(products), customers=len(people),
                       orders=count, guest_orders=tally["guest"], discounted_orders=sum(used_codes.values()),
                       refunds=tally["refunds"], cancellations=tally["cancelled"],
                       fulfillments=tally["fulfillments"])


def _pick_code(rng: random.Random, codes: list[tuple[_Code, int]], cumulative: list[int],
               subtotal: int) -> _Code | None:
    """A shop code for about one order in ten, by popularity, if the basket meets its minimum."""
    if not codes or rng.random() >= DISCOUNTED_SHARE:
        return None
    code = codes[bisect_left(cumulative, rng.random() * cumulative[-1])][0]
    return code if subtotal >= code.minimum_cents else None


def _add_lines(rng: random.Random, rows: _Rows, ids: dict[str, int], order_id: int, products: list[_Product],
               when: str) -> int:
    """Add 1-4 distinct products (mostly one of each) to the order; return the subtotal in cents."""
    count = rng.choices((1, 2, 3, 4), cum_weights=(55, 83, 95, 100))[0]
    subtotal = 0
    for product in rng.sample(products, count):
        quantity = 1 if rng.random() < 0.85 else rng.randint(2, 3)
        rows.lines.append((ids["line_items"], order_id, product.id, product.title, product.sku, quantity,
                           product.price_cents, when, when))
        ids["line_items"] += 1
        subtotal += product.price_cents * quantity
    return subtotal


def _guest_email(rng: random.Random) -> str:
    first, last, _ = _name(rng, 0.5)
    local = catalogue.email_local_part(first, last)
    return f"{local}{rng.randint(1, 999)}@{rng.choice(catalogue.EMAIL_DOMAINS)}"


@dataclass
class _State:
    financial: str
    fulfillment: str | None
    updated: int
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    closed_at: str | None = None


def _history(rng: random.Random, rows: _Rows, ids: dict[str, int], order_id: int, placed: int, end: int,
             total: int, tally: dict[str, int]) -> _State:
    """What happened to the order after it was placed, up to ``end``: nothing happens in the future."""
    roll = rng.random()
    if roll < CANCELLED_SHARE:
        return _cancelled(rng, rows, ids, order_id, placed, end, total, tally)
    if roll < CANCELLED_SHARE + PENDING_SHARE:
        return _State("pending", None, placed)
    if roll < CANCELLED_SHARE + PENDING_SHARE + AUTHORIZED_SHARE:
        return _State("authorized", None, placed)
    state = _State("paid", None, placed)
    shipped = placed + rng.randint(2 * HOUR, 72 * HOUR)
    if shipped <= end:
        _add(rows.fulfillments, ids, "fulfillments", (order_id, "success", _stamp(shipped), _stamp(shipped)))
        tally["fulfillments"] += 1
        state.fulfillment = "fulfilled" if rng.random() < 0.98 else "partial"
        state.closed_at = _stamp(shipped) if state.fulfillment == "fulfilled" else None
        state.updated = shipped
    if rng.random() < REFUND_SHARE_OF_PAID:
        refunded = max(placed, state.updated) + rng.randint(DAY, 30 * DAY)
        if refunded <= end:
            full = rng.random() < 0.45
            amount = total if full else max(1, min(total - 1, int(total * rng.uniform(0.1, 0.7))))
            if amount > 0:
                _add(rows.refunds, ids, "refunds", (order_id, amount, rng.choice(catalogue.REFUND_NOTES),
                                                    _stamp(refunded), _stamp(refunded)))
                tally["refunds"] += 1
                state.financial = "refunded" if amount == total else "partially_refunded"
                state.updated = refunded
    return state


def _cancelled(rng: random.Random, rows: _Rows, ids: dict[str, int], order_id: int, placed: int, end: int,
               total: int, tally: dict[str, int]) -> _State:
    """A cancelled order: voided if it was never paid, refunded in full at cancellation if it was."""
    at = placed + rng.randint(10 * 60, 48 * HOUR)
    if at > end:
        at = placed + (end - placed) // 2
    stamp = _stamp(at)
    tally["cancelled"] += 1
    if rng.random() < 0.6 and total > 0:
        _add(rows.refunds, ids, "refunds", (order_id, total, "Order cancelled", stamp, stamp))
        tally["refunds"] += 1
        financial = "refunded"
    else:
        financial = "voided"
    return _State(financial, None, at, stamp, rng.choice(catalogue.CANCEL_REASONS), stamp)


def _add(target: list[tuple], ids: dict[str, int], table: str, row: tuple) -> None:
    target.append((ids[table], *row))
    ids[table] += 1
