"""The demo store's counts read naturally in English and Polish."""
from __future__ import annotations

import pytest

from plugin.storefront.demo import PAGE_TEXT, count_label


@pytest.mark.parametrize("n, expected", [(1, "1 order"), (2, "2 orders"), (11, "11 orders")])
def test_english_counts(n, expected):
    assert count_label(PAGE_TEXT["en"]["orders"], n) == expected


@pytest.mark.parametrize("n, expected", [(1, "1 zamówienie"), (3, "3 zamówienia"), (5, "5 zamówień"),
                                         (12, "12 zamówień"), (22, "22 zamówienia"), (25, "25 zamówień")])
def test_polish_counts(n, expected):
    assert count_label(PAGE_TEXT["pl"]["orders"], n) == expected


def test_both_languages_have_the_same_words():
    assert PAGE_TEXT["en"].keys() == PAGE_TEXT["pl"].keys()
