"""Discount codes in the sandbox: creating them (through the adapter) and redeeming them on an order.

Both halves live here so the rules a code is created with are the rules it is checked against.
Codes are unique per shop without regard to case, as on Shopify. Every function takes an open
connection inside the caller's write transaction.

What a code takes off an order: a percentage or an amount of the lines it applies to (every line, or
the lines of its ``product_ids``), one unit of its product for a free-product code, nothing for free
shipping (the sandbox charges no shipping, so its cap is only kept). An order takes one code, so
combinability is kept but never tested. The sandbox has no collections: a code limited to
collections is Unsupported. A code for a customer is used by their orders only; a code for an email (a
guest's, as WooCommerce's email restrictions) by orders placed with that email only, case aside.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from adapters.base import Capability, DiscountKind, DiscountSpec
from adapters.errors import DiscountRefused, NotFound, Unsupported
from adapters.sandbox.records import DISCOUNT_CODE_COLUMNS, DiscountCodeRecord, discount_code_from_row
from adapters.sandbox.schema import INSERT_REWARD_CODE, db_time, to_cents
from adapters.sandbox.store import SandboxError, next_id

OrderLine = tuple[int | None, int, int]  # (product id, quantity, unit price in cents)


class DiscountCodeTakenError(DiscountRefused, SandboxError):
    """A discount code with this code but a different definition already exists in the shop."""


class DiscountInvalidError(DiscountRefused, SandboxError):
    """The sandbox refuses the code as asked (an impossible value, an unknown customer or product)."""


def discount_cents(kind: str, value_cents: int, subtotal_cents: int) -> int:
    """What a code takes off a subtotal: ``value_cents`` is percent * 100 for a percentage code."""
    if kind == DiscountKind.PERCENTAGE:
        return (subtotal_cents * value_cents + 5_000) // 10_000  # rounded half up
    if kind == DiscountKind.FIXED_AMOUNT:
        return min(value_cents, subtotal_cents)
    return 0  # free shipping: the sandbox charges no shipping


def create_code(conn: sqlite3.Connection, domain: str, spec: DiscountSpec,
                now: datetime) -> DiscountCodeRecord:
    """Store ``spec``. The same code again returns the stored code if the definition is identical (a
    retried request is harmless) and raises DiscountCodeTakenError if it differs."""
    _check(spec)
    customer_id = _customer_id(conn, domain, spec.customer_platform_id)
    products = _product_ids(conn, domain, spec.product_ids)
    email = spec.customer_email.strip().lower() if spec.customer_email else None
    existing = find_code(conn, domain, spec.code)
    if existing is not None:
        if _same_definition(existing, spec, customer_id, products, email):
            return existing
        raise DiscountCodeTakenError.because(DiscountRefused.CODE_TAKEN,
                                             f"discount code {spec.code} already exists with another definition")
    stamp = db_time(now)
    conn.execute(INSERT_REWARD_CODE, (
        next_id(conn, "discount_codes"), domain, spec.code, spec.code.upper(), spec.kind.value, str(spec.value),
        spec.title, customer_id, db_time(spec.ends_at) if spec.ends_at else None,
        str(spec.minimum_subtotal) if spec.minimum_subtotal is not None else None, spec.usage_limit, 0,
        json.dumps(list(products)), str(spec.shipping_cap) if spec.shipping_cap is not None else None,
        json.dumps(sorted(str(c) for c in spec.combines_with)), email, stamp, stamp))
    return find_code(conn, domain, spec.code)


def redeem(conn: sqlite3.Connection, domain: str, code: str, lines: Sequence[OrderLine], customer_id: int | None,
           now: datetime, email: str | None = None) -> tuple[int, str]:
    """Check ``code`` may be used on an order of ``lines`` placed by ``customer_id`` (None: a guest)
    with ``email``, count the use, and return (discount in cents, the code as it was created)."""
    found = find_code(conn, domain, code)
    if found is None:
        raise NotFound(f"no discount code {code} in shop {domain}")
    subtotal = sum(quantity * price for _, quantity, price in lines)
    if found.ends_at is not None and found.ends_at <= now:
        raise SandboxError(f"discount code {found.code} has expired")
    if found.usage_limit is not None and found.times_used >= found.usage_limit:
        raise SandboxError(f"discount code {found.code} has been used up")
    if found.customer_id is not None and found.customer_id != customer_id:
        raise SandboxError(f"discount code {found.code} belongs to another customer")
    if found.customer_email is not None and found.customer_email != (email or "").strip().lower():
        raise SandboxError(f"discount code {found.code} belongs to another customer (another email)")
    if found.minimum_subtotal is not None and subtotal < to_cents(found.minimum_subtotal):
        raise SandboxError(f"discount code {found.code} needs a subtotal of at least "
                           f"{found.minimum_subtotal}")
    eligible = [line for line in lines if not found.product_ids or line[0] in found.product_ids]
    if not eligible:
        raise SandboxError(f"discount code {found.code} needs one of its products in the order")
    conn.execute("UPDATE discount_codes SET times_used = times_used + 1, updated_at = ? WHERE id = ?",
                 (db_time(now), found.id))
    if found.kind == DiscountKind.FREE_PRODUCT:
        return eligible[0][2], found.code  # one unit of the product
    value_cents = to_cents(found.value) if found.kind == DiscountKind.FIXED_AMOUNT else int(found.value * 100)
    return discount_cents(found.kind, value_cents, sum(q * p for _, q, p in eligible)), found.code


def find_code(conn: sqlite3.Connection, domain: str, code: str) -> DiscountCodeRecord | None:
    row = conn.execute(f"SELECT {DISCOUNT_CODE_COLUMNS} FROM discount_codes WHERE shop = ? AND code_key = ?",
                       (domain, code.strip().upper())).fetchone()
    return discount_code_from_row(row) if row else None


def _check(spec: DiscountSpec) -> None:
    def invalid(detail: str) -> DiscountInvalidError:
        return DiscountInvalidError.because(DiscountRefused.INVALID, detail)

    if spec.collection_ids:
        raise Unsupported(Capability.COLLECTION_RESTRICTIONS)
    if not spec.code or any(ch.isspace() for ch in spec.code):
        raise invalid("a discount code must be non-empty and contain no spaces")
    if spec.kind is DiscountKind.PERCENTAGE and not Decimal(0) < spec.value <= Decimal(100):
        raise invalid("a percentage discount must be above 0 and at most 100")
    if spec.kind is DiscountKind.FIXED_AMOUNT and spec.value <= 0:
        raise invalid("a fixed-amount discount must be positive")
    if spec.usage_limit < 1:
        raise invalid("a discount code's usage limit must be at least 1")


def _customer_id(conn: sqlite3.Connection, domain: str, platform_id: str | None) -> int | None:
    """The shop's customer a code is reserved for; refused if the id is not one of this shop's."""
    if platform_id is None:
        return None
    row = None
    if str(platform_id).isdigit():
        row = conn.execute("SELECT id FROM customers WHERE shop = ? AND id = ?",
                           (domain, int(platform_id))).fetchone()
    if row is None:
        raise DiscountInvalidError.because(DiscountRefused.CUSTOMER_NOT_FOUND,
                                           f"no customer {platform_id} in shop {domain}")
    return row[0]


def _product_ids(conn: sqlite3.Connection, domain: str, platform_ids: Sequence[str]) -> tuple[int, ...]:
    """The shop's products a code is limited to, in the order given; refused for one it does not sell."""
    found = []
    for platform_id in platform_ids:
        row = None
        if str(platform_id).isdigit():
            row = conn.execute("SELECT id FROM products WHERE shop = ? AND id = ?",
                               (domain, int(platform_id))).fetchone()
        if row is None:
            raise DiscountInvalidError.because(DiscountRefused.PRODUCT_NOT_FOUND,
                                               f"no product {platform_id} in shop {domain}")
        found.append(row[0])
    return tuple(found)


def _same_definition(existing: DiscountCodeRecord, spec: DiscountSpec, customer_id: int | None,
                     products: tuple[int, ...], email: str | None) -> bool:
    return ((existing.kind, existing.value, existing.title, existing.customer_id, existing.ends_at,
             existing.minimum_subtotal, existing.usage_limit, existing.product_ids, existing.shipping_cap,
             existing.combines_with, existing.customer_email)
            == (spec.kind.value, spec.value, spec.title, customer_id, spec.ends_at, spec.minimum_subtotal,
                spec.usage_limit, products, spec.shipping_cap, tuple(sorted(str(c) for c in spec.combines_with)),
                email))
