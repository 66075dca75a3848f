"""Typed readers for the JSON platforms send: each returns the value or raises InvalidPayload naming the
field. Shape-free (each adapter's mapping.py knows which field is where), shared by every adapter.

Platforms differ in how they write a value, not in what it means; the keyword options say how:
WooCommerce sends some text fields as numbers (``numbers``), blank text for none (``strip``), amounts
only as text (``floats=False``) and its ``*_gmt`` times without an offset (``naive_utc``).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.errors import InvalidPayload


def as_object(value: Any, what: str) -> Mapping:
    if type(value) is dict:  # the common case, without the slower ABC check
        return value
    if not isinstance(value, Mapping):
        raise InvalidPayload(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def items(data: Mapping, key: str, where: str) -> list:
    """A list, or [] when the field is missing or null."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidPayload(f"{where}: {key} must be a list")
    return value


def objects(data: Mapping, key: str, where: str) -> list[Mapping]:
    return [as_object(item, f"{where} {key}") for item in items(data, key, where)]


def text(data: Mapping, key: str, where: str, *, numbers: bool = False) -> str:
    """Text that is not blank; with ``numbers``, a whole number is read as its digits."""
    value = data.get(key)
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload(f"{where}: {key} is missing or not text")
    return value


def optional_text(data: Mapping, key: str, where: str, *, strip: bool = False) -> str | None:
    """Text, or None when missing or empty; with ``strip``, surrounding blanks go and blank text is None."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{where}: {key} must be text")
    return (value.strip() or None) if strip else value


def quantity(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPayload(f"{where}: quantity must be a non-negative integer, not {value!r}")
    return value


def amount_of(value: Any, what: str, default: Decimal | None = None, *, floats: bool = True) -> Decimal:
    """A money amount, exactly (text, a whole number, or with ``floats`` a JSON number); ``default`` when
    missing or empty, if given."""
    if value in (None, "") and default is not None:
        return default
    kinds = (str, int, float) if floats else (str, int)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise InvalidPayload(f"{what} is missing or not a money amount{'' if floats else ' as text'}")
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidPayload(f"{what} is not a money amount: {value!r}") from None
    if not parsed.is_finite():
        raise InvalidPayload(f"{what} is not a money amount: {value!r}")
    return parsed


def money(data: Mapping, key: str, where: str, default: Decimal | None = None, *, floats: bool = True) -> Decimal:
    return amount_of(data.get(key), f"{where}: {key}", default, floats=floats)


def required_time(data: Mapping, key: str, where: str, *, naive_utc: bool = False) -> datetime:
    value = optional_time(data, key, where, naive_utc=naive_utc)
    if value is None:
        raise InvalidPayload(f"{where}: {key} is missing")
    return value


def optional_time(data: Mapping, key: str, where: str, *, naive_utc: bool = False) -> datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    return parse_time(value, f"{where}: {key}", naive_utc=naive_utc)


def parse_time(value: Any, what: str, *, naive_utc: bool = False) -> datetime:
    """An ISO 8601 time, as UTC: with a zone ('Z', an offset; up to nanoseconds from Shopify), or without
    one when ``naive_utc`` says the platform writes UTC that way."""
    if not isinstance(value, str):
        raise InvalidPayload(f"{what} must be an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidPayload(f"{what} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        if not naive_utc:
            raise InvalidPayload(f"{what} has no timezone: {value!r}")
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
