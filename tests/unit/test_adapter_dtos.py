"""The neutral DTOs refuse what no platform could do with them, before any platform is called."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.base import (
    Capability,
    CustomerLoyalty,
    DiscountClass,
    DiscountKind,
    DiscountSpec,
    FinancialStatus,
    FulfillmentStatus,
    Order,
    StoreCreditSpec,
    supports,
    tier_tag,
)
from adapters.errors import DiscountRefused, PermissionMissing, StoreCreditRefused, Unsupported

NOW = datetime(2026, 1, 15, tzinfo=UTC)


def spec(**changes) -> DiscountSpec:
    return DiscountSpec(**{"code": "R-1", "kind": DiscountKind.PERCENTAGE, "value": Decimal(10), "title": "R",
                           **changes})


@pytest.mark.parametrize("changes", [
    {"kind": DiscountKind.FREE_PRODUCT},  # which product?
    {"kind": DiscountKind.FREE_PRODUCT, "product_ids": ("1", "2")},
    {"kind": DiscountKind.FREE_SHIPPING, "product_ids": ("1",)},
    {"shipping_cap": Decimal(10)},  # a cap on a percentage
    {"kind": DiscountKind.FREE_SHIPPING, "shipping_cap": Decimal(0)},
    {"product_ids": ("1",), "collection_ids": ("2",)},
    {"product_ids": "123"},  # a string is not a tuple of ids
    {"combines_with": frozenset({"order"})},
])
def test_a_reward_code_no_platform_could_make_is_a_callers_mistake(changes):
    with pytest.raises(ValueError):
        spec(**changes)


def test_the_reward_codes_every_platform_can_make():
    assert spec(kind=DiscountKind.FREE_PRODUCT, product_ids=("9",), value=Decimal(0)).product_ids == ("9",)
    assert spec(kind=DiscountKind.FREE_SHIPPING, shipping_cap=Decimal("15.00")).shipping_cap == Decimal("15.00")
    assert spec(combines_with=frozenset({DiscountClass.SHIPPING})).combines_with == {DiscountClass.SHIPPING}


@pytest.mark.parametrize("changes", [{"key": " "}, {"key": "k" * 101}, {"amount": Decimal(0)},
                                     {"currency": "pln"}, {"currency": "PLNX"}])
def test_a_store_credit_needs_a_key_a_positive_amount_and_a_currency_code(changes):
    with pytest.raises(ValueError):
        StoreCreditSpec(**{"key": "k", "customer_platform_id": "1", "amount": Decimal(5), "currency": "PLN",
                           **changes})


@pytest.mark.parametrize("tier, balance", [("Gold, Silver", 1), ("", 1), ("Gold", 1.5), ("Gold", True),
                                           ("Gold", Decimal("NaN"))])
def test_a_tier_and_balance_are_exact_and_fit_a_tag(tier, balance):
    with pytest.raises(ValueError):
        CustomerLoyalty(tier=tier, balance=balance)


def test_a_published_balance_is_a_decimal_and_the_tier_a_tag():
    assert CustomerLoyalty(tier="Gold", balance=120).balance == Decimal(120)
    assert CustomerLoyalty(tier="Gold", balance=120) == CustomerLoyalty(tier="Gold", balance=Decimal("120.0"))
    assert tier_tag("Gold") == "Loyalty tier: Gold"


def test_an_order_used_a_code_whatever_its_case():
    order = Order(platform_id="1", number="1", currency="PLN", total=Decimal(1), subtotal=Decimal(1), created_at=NOW,
                  updated_at=NOW, financial_status=FinancialStatus.PAID,
                  fulfillment_status=FulfillmentStatus.UNFULFILLED, discount_codes=("loyal-7q2",))

    assert order.uses_discount_code("LOYAL-7Q2") and order.uses_discount_code(" loyal-7q2 ")
    assert not order.uses_discount_code("LOYAL-7Q")


def test_capabilities_are_named_and_an_unknown_name_is_a_mistake():
    assert supports(frozenset({Capability.STORE_CREDIT}), "store_credit")
    assert not supports(frozenset(), Capability.STORE_CREDIT)
    with pytest.raises(ValueError):
        supports(frozenset(), "store-credit")


def test_refusals_carry_words_for_the_shopper_a_reason_and_the_platforms_detail():
    refused = DiscountRefused.because(DiscountRefused.CODE_TAKEN, "Code must be unique.")
    unknown = StoreCreditRefused.because("no such reason")
    missing = PermissionMissing.from_text("Access denied for storeCreditAccountCredit field. Required access: "
                                          "`write_store_credit_account_transactions` access scope.")

    assert refused.message == DiscountRefused.MESSAGES["code_taken"] and refused.detail == "Code must be unique."
    assert "Code must be unique." in str(refused) and refused.reason == "code_taken"
    assert unknown.message == StoreCreditRefused.MESSAGES["refused"]
    assert missing.scopes == ("write_store_credit_account_transactions",)
    assert Unsupported(Capability.STORE_CREDIT).message == "This store does not offer store credit."
