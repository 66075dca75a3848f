"""The one set of payload readers (adapters/readers.py) every adapter's mapping reads JSON with: how a
platform writes a value is a keyword, what it means is the same everywhere."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters import readers
from adapters.errors import InvalidPayload


def test_a_time_needs_its_zone_unless_the_platform_writes_utc_without_one():
    data = {"at": "2026-03-02T12:00:00", "zoned": " 2026-03-02T13:00:00+01:00 ", "blank": ""}

    assert readers.required_time(data, "zoned", "order") == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert readers.required_time(data, "at", "order", naive_utc=True) == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert readers.optional_time(data, "blank", "order") is None
    with pytest.raises(InvalidPayload, match="order: at has no timezone"):
        readers.required_time(data, "at", "order")


def test_text_numbers_and_blanks_as_each_platform_writes_them():
    data = {"number": 1042, "name": "  ", "flag": True}

    assert readers.text(data, "number", "order", numbers=True) == "1042"
    assert readers.optional_text(data, "name", "order", strip=True) is None
    assert readers.optional_text(data, "name", "order") == "  "
    for key, options in (("number", {}), ("name", {}), ("flag", {"numbers": True})):
        with pytest.raises(InvalidPayload, match=key):
            readers.text(data, key, "order", **options)


def test_amounts_are_exact_and_json_numbers_are_refused_where_a_platform_sends_text():
    data = {"total": "29.35", "float": 29.35, "empty": ""}

    assert readers.money(data, "total", "order") == Decimal("29.35")
    assert readers.money(data, "float", "order") == Decimal("29.35")
    assert readers.money(data, "empty", "order", Decimal(0)) == Decimal(0)
    with pytest.raises(InvalidPayload, match="order: float is missing or not a money amount as text"):
        readers.money(data, "float", "order", floats=False)
    with pytest.raises(InvalidPayload, match="not a money amount"):
        readers.amount_of("NaN", "order total")
