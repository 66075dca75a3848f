"""Text shoppers write, in the admin of a real browser: a right-to-left override (U+202E) in a name
reorders nothing around it, and a 5,000-character name neither widens a table nor pushes anything out
of its box; the pages stay usable. Measured with the layout chromium computes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from plugin.admin.auth import login_url
from plugin.db import utcnow
from tests.factories import make_customer, make_order, make_shop

pytestmark = pytest.mark.browser
RLO = "\u202e"
LONG = "W" * 5000

# Every element's box inside its parent's box, and no box with content wider than itself, but where
# text is cut on purpose with an ellipsis; the page itself no wider than the window.
OVERFLOWS = """() => {
  const found = [];
  const cuts = (el) => { const st = getComputedStyle(el); return st.textOverflow === "ellipsis" && ["hidden", "clip"].includes(st.overflowX); };
  const insideCut = (el) => { for (let up = el.parentElement; up; up = up.parentElement) if (cuts(up)) return true; return false; };
  const describe = (el) => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim().split(/\\s+/).join(".") : "");
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || el.closest(".visually-hidden") || insideCut(el)) continue;
    const box = el.getBoundingClientRect();
    const parent = el.parentElement.getBoundingClientRect();
    if (box.width > 0 && (box.right > parent.right + 1 || box.left < parent.left - 1)) {
      found.push(`${describe(el)} sticks out of ${describe(el.parentElement)}: ${Math.round(box.left)}-${Math.round(box.right)} in ${Math.round(parent.left)}-${Math.round(parent.right)}`);
    }
    if (style.display !== "inline" && !cuts(el) && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      found.push(`${describe(el)} holds content ${el.scrollWidth}px wide in ${el.clientWidth}px`);
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth) found.push("the page scrolls sideways");
  return found;
}"""

# Where, left to right, chromium drew each character of ``needle`` inside ``selector``.
POSITIONS = """([selector, needle]) => {
  for (const el of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let text = "", nodes = [];
    while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.data; }
    const at = text.indexOf(needle);
    if (at < 0) continue;
    const xs = [];
    for (let i = at; i < at + needle.length; i++) {
      const [node, start] = nodes.filter(([, s]) => s <= i).pop();
      const range = document.createRange();
      range.setStart(node, i - start);
      range.setEnd(node, i - start + 1);
      const rect = range.getBoundingClientRect();
      xs.push(rect.left + rect.width / 2);
    }
    return xs;
  }
  return null;
}"""


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'storecare.db'}"  # what a person sees: SQLite only


@pytest.fixture
def store(db):
    now = utcnow()
    with db.uow() as session:
        shop = make_shop(session, name="Kawa " + RLO + LONG, currency="PLN")
        zofia = make_customer(session, shop, email="zofia@example.com", first_name="Zofia" + RLO, last_name="Nowak")
        long = make_customer(session, shop, email="w" * 300 + "@example.com", first_name=LONG, last_name=LONG)
        mine = make_order(session, shop, zofia, total="120.00", created_at=now - timedelta(hours=2))
        theirs = make_order(session, shop, long, total="80.00", created_at=now - timedelta(hours=1))
        guest = make_order(session, shop, None, total="10.00", created_at=now - timedelta(hours=3))
        guest.email = "g" * 400 + "@example.com"
        session.commit()
        return {"shop": shop.id, "zofia": zofia.id, "long": long.id, "orders": [mine.id, theirs.id, guest.id]}


def assert_in_order(page, selector: str, text: str) -> None:
    xs = page.evaluate(POSITIONS, [selector, text])
    assert xs is not None, f"{text!r} is not in {selector}"
    assert xs == sorted(xs), f"{text!r} in {selector} is drawn out of order: {xs}"


def visit(page, url: str):
    page.goto(url)
    assert page.evaluate(OVERFLOWS) == [], url


def test_shopper_names_reorder_nothing_around_them_and_fit_their_boxes(live_server, page, store):
    page.goto(live_server + login_url(store["shop"]))

    visit(page, live_server + "/admin/orders")
    assert_in_order(page, "table tbody", "Zofia" + RLO + " Nowak")  # the last name after the override
    assert page.locator("table tbody tr").count() == 3
    visit(page, live_server + "/admin/customers")
    assert_in_order(page, "table tbody", "Zofia" + RLO + " Nowak")
    visit(page, live_server + f"/admin/customers/{store['zofia']}")
    assert_in_order(page, "h1", "Zofia" + RLO + " Nowak")
    title = page.title()  # no markup in a title: the name sits between U+2068 and U+2069 instead
    assert title.endswith("\u2069 · Storecare") and title.count("\u2068") == title.count("\u2069") > 0
    visit(page, live_server + f"/admin/customers/{store['long']}")
    for order_id in reversed(store["orders"]):
        visit(page, live_server + f"/admin/orders/{order_id}")
    assert_in_order(page, ".card", "Zofia" + RLO + " Nowak")  # the first order was Zofia's

    visit(page, live_server + "/admin/customers?q=" + RLO + "abc")
    assert_in_order(page, ".empty__title", "No customers match “")  # the quotes around the search stay put
    xs = page.evaluate(POSITIONS, [".empty__title", "“" + RLO + "abc”"])
    assert xs[0] < min(xs[1:-1]) and xs[-1] > max(xs[1:-1]), xs

    # usable: the header keeps its controls in the window, and the navigation still works
    for control in ("Sign out", "Polski"):
        box = page.get_by_role("button", name=control).bounding_box()
        assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]
    page.get_by_role("link", name="Orders", exact=True).click()
    assert page.locator("h1").inner_text() == "Orders"
