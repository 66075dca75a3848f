"""The storefront's static files: a loader that knows no widget by name and loads nothing before the page
is idle, widgets that never put data through innerHTML; and the money strings the API sends. Sizes are
measured against each file's budget by bench/widgets.py, not here."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from plugin.storefront.schemas import money_display, money_string

STATIC = Path(__file__).resolve().parents[2] / "static"
LOADER = STATIC / "loader.js"


def test_the_loader_has_no_dependencies_and_starts_on_idle():
    source = LOADER.read_text()
    assert "import " not in source and "require(" not in source
    assert "requestIdleCallback" in source and "setTimeout" in source
    idle = source.index("idle(function")
    # the one request of its own is the manifest, once the page is idle; the rest come on a widget's use
    assert source.count("fetch(list)") == 1 and source.index("fetch(list)") > idle


def test_the_loader_knows_no_widget_by_name():
    """What widgets exist comes from the shop's manifest (plugin/storefront/widgets.py)."""
    source = LOADER.read_text().lower()
    assert "orders" not in source and "widgets/" not in source


def test_the_loader_puts_only_static_markup_in_inner_html():
    source = LOADER.read_text()
    assignment = re.search(r"innerHTML\s*=(.*?);\n", source, re.S).group(1)
    # nothing but string literals joined by "+": no variable, so no data
    assert re.sub(r'"(?:[^"\\]|\\.)*"|\+|\s', "", assignment) == ""
    assert source.count("innerHTML") == 2  # the comment that says so, and the one static assignment


def test_the_orders_widget_never_uses_inner_html():
    source = (STATIC / "widgets" / "orders.js").read_text()
    assert "innerHTML" not in source.replace("never innerHTML", "")
    assert "insertAdjacentHTML" not in source and "document.write" not in source


def test_money_strings_use_the_currencys_own_decimals():
    assert money_string(Decimal("100.0000"), "PLN") == "100.00"
    assert money_string(Decimal("1234.5"), "USD") == "1234.50"
    assert money_string(Decimal("1500.0000"), "JPY") == "1500"


def test_money_is_displayed_in_the_shoppers_locale():
    assert money_display(Decimal("12345.5"), "PLN", "pl") == "12\u00a0345,50\u00a0z\u0142"
    assert money_display(Decimal("1234.5"), "USD", "en") == "$1,234.50"
    assert money_display(Decimal("21.5"), "PLN", "en") == "PLN\u00a021.50"  # not "PLN21.50"
