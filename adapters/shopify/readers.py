"""Typed readers for JSON from Shopify: each returns the value or raises InvalidPayload naming the field.

Shape-free (mapping.py knows which field is where); shared by the REST and GraphQL mappings and by the
webhook header reader (times).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.errors import InvalidPayload


def quantity(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPayload(f"{where}: quantity must be a non-negative integer, not {value!r}")
    return value


def money(value: Any, what: str, default: Decimal | None = None) -> Decimal:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidPayload(f"{what} is missing or not a money amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidPayload(f"{what} is not a money amount: {value!r}") from None
    if not amount.is_finite():
        raise InvalidPayload(f"{what} is not a money amount: {value!r}")
    return amount


def as_object(value: Any, what: str) -> Mapping:
    if type(value) is dict:  # the common case, without the slower ABC check
        return value
    if not isinstance(value, Mapping):
        raise InvalidPayload(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def objects(data: Mapping, key: str, where: str) -> list[Mapping]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidPayload(f"{where}: {key} must be a list")
    return [as_object(item, f"{where} {key}") for item in value]


def text(data: Mapping, key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload(f"{where}: {key} is missing or not text")
    return value


def optional_text(data: Mapping, key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{where}: {key} must be text")
    return value


def required_time(data: Mapping, key: str, where: str) -> datetime:
    value = optional_time(data, key, where)
    if value is None:
        raise InvalidPayload(f"{where}: {key} is missing")
    return value


def optional_time(data: Mapping, key: str, where: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    return parse_time(value, f"{where}: {key}")


def parse_time(value: Any, what: str) -> datetime:
    """An ISO 8601 time with a zone, as UTC (Shopify sends 'Z', offsets, and up to nanoseconds)."""
    if not isinstance(value, str):
        raise InvalidPayload(f"{what} must be an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidPayload(f"{what} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise InvalidPayload(f"{what} has no timezone: {value!r}")
    return parsed.astimezone(UTC)
