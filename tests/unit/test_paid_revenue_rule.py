"""Paid net revenue per platform: each platform's order statuses, through its adapter's mapping, against
the one rule of plugin/sync/revenue.py (its pure form; tests/integration/test_revenue.py holds the SQL
form to the same cases)."""
from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from adapters.base import FinancialStatus
from adapters.sandbox import mapping as sandbox_mapping
from adapters.shopify import mapping as shopify_mapping
from adapters.woocommerce import mapping as woo_mapping
from plugin.sync.revenue import is_paid_order, order_paid_net, sum_paid_net
from tests.contract.woocommerce_kit import NOW, WOO_PAID_STATUSES, WOO_STATUSES, make_order

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def as_row(order, deleted_at=None) -> SimpleNamespace:
    """What the mirror stores of a mapped order (``plugin.sync.mirror._order_row``), deleted or not."""
    return SimpleNamespace(financial_status=str(order.financial_status), cancelled_at=order.cancelled_at,
                           deleted_at=deleted_at, total=order.total, total_refunded=order.total_refunded)


@pytest.mark.parametrize("status", WOO_STATUSES)
def test_a_woocommerce_order_counts_only_in_woocommerces_paid_statuses(status):
    order = woo_mapping.order_from_payload(make_order(7, status=status, total="120.00"))

    assert is_paid_order(as_row(order)) is (status in WOO_PAID_STATUSES)
    assert order_paid_net(as_row(order)) == (Decimal("120.00") if status in WOO_PAID_STATUSES else 0)


def test_a_partly_refunded_woocommerce_order_counts_net_of_the_refund_and_a_full_refund_not_at_all():
    partly = woo_mapping.order_from_payload(make_order(8, status="completed", total="200.00",
                                                       refunds=((81, "30.00"),)))
    fully = woo_mapping.order_from_payload(make_order(9, status="completed", total="50.00",
                                                      refunds=((91, "20.00"), (92, "30.00"))))

    assert partly.financial_status == FinancialStatus.PARTIALLY_REFUNDED
    assert order_paid_net(as_row(partly)) == Decimal("170.00")
    assert fully.financial_status == FinancialStatus.REFUNDED and not is_paid_order(as_row(fully))


def test_a_status_a_woocommerce_plugin_adds_counts_once_the_order_is_paid():
    shipped = make_order(10, status="processing", total="64.00")
    shipped["status"] = "shipped"  # e.g. a shipment-tracking plugin's status
    unpaid = copy.deepcopy(shipped)
    unpaid["date_paid_gmt"] = unpaid["date_paid"] = None

    assert is_paid_order(as_row(woo_mapping.order_from_payload(shipped)))
    assert not is_paid_order(as_row(woo_mapping.order_from_payload(unpaid)))


SHOPIFY_COUNTED = {"paid": True, "partially_refunded": True, "pending": False, "authorized": False,
                   "partially_paid": False, "refunded": False, "voided": False, "expired": False}


@pytest.mark.parametrize(("status", "counted"), SHOPIFY_COUNTED.items())
def test_a_shopify_order_counts_when_paid_or_partly_refunded(status, counted):
    payload = json.loads((FIXTURES / "shopify" / "webhooks" / "orders-create.json").read_text())
    payload["financial_status"] = status

    assert is_paid_order(as_row(shopify_mapping.order_from_rest(payload))) is counted


def test_a_shopify_order_cancelled_while_paid_does_not_count():
    payload = json.loads((FIXTURES / "shopify" / "webhooks" / "orders-create.json").read_text())
    payload["cancelled_at"] = payload["created_at"]

    order = shopify_mapping.order_from_rest(payload)

    assert order.financial_status == FinancialStatus.PAID and not is_paid_order(as_row(order))


@pytest.mark.parametrize("status", list(FinancialStatus))
def test_a_sandbox_order_counts_by_its_own_neutral_status(status):
    payload = json.loads((FIXTURES / "sandbox-order.json").read_text())
    payload["financial_status"] = str(status)

    order = sandbox_mapping.order_from_payload(payload)

    assert is_paid_order(as_row(order)) is (status in (FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED))


def test_an_order_deleted_in_the_store_counts_nowhere():
    order = woo_mapping.order_from_payload(make_order(11, status="completed", total="80.50"))

    assert is_paid_order(as_row(order)) and not is_paid_order(as_row(order, deleted_at=NOW + timedelta(days=1)))
    assert sum_paid_net([as_row(order), as_row(order, deleted_at=NOW)]) == Decimal("80.50")
