"""Neutral DTOs for tests of the mirror (what any adapter hands the sync core)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from adapters import base as dto

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def customer(pid: str = "c1", email: str = "ola@example.com", updated: datetime = T0, **kw) -> dto.Customer:
    kw.setdefault("first_name", "Ola")
    kw.setdefault("last_name", "Kowalska")
    return dto.Customer(platform_id=pid, email=email, created_at=T0, updated_at=updated, **kw)


def order(pid: str = "o1", updated: datetime = T0, cust: dto.Customer | None = None, total: str = "120.00",
          **kw) -> dto.Order:
    kw.setdefault("financial_status", dto.FinancialStatus.PAID)
    kw.setdefault("fulfillment_status", dto.FulfillmentStatus.UNFULFILLED)
    kw.setdefault("paid_at", T0 if kw["financial_status"] == dto.FinancialStatus.PAID else None)
    kw.setdefault("line_items", (dto.LineItem("li1", "Mug", 2, Decimal(total) / 2, sku="MUG"),))
    return dto.Order(platform_id=pid, number=f"#{pid}", currency="PLN", total=Decimal(total), subtotal=Decimal(total),
                     created_at=T0, updated_at=updated, customer=cust if cust is not None else customer(), **kw)


def later(o: dto.Order, minutes: int = 5, **changes) -> dto.Order:
    return replace(o, updated_at=o.updated_at + timedelta(minutes=minutes), **changes)
