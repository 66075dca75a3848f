"""The admin on a phone (390 px wide, as an iPhone 12 to 15): every page fits the screen, nothing is cut
off (the overview's revenue least of all), and the navigation wraps instead of scrolling sideways.

Measured in Chromium: the page's scrollWidth, every element's bounding box against the viewport, and
every box that clips its content (overflow hidden) or scrolls it (overflow auto) against its own
scrollWidth. A wide data table may scroll inside its own frame (``.table-wrap``); nothing else may."""
from __future__ import annotations

from datetime import timedelta

import pytest

from plugin.admin.auth import login_url
from plugin.admin.nav import nav_items
from plugin.db import utcnow
from tests.factories import make_customer, make_delivery, make_failed_job, make_order, make_shop

pytestmark = pytest.mark.browser
WIDTH = 390
PAGES = ("/admin/", "/admin/orders", "/admin/customers", "/admin/connection", "/admin/jobs", "/admin/settings")

# Everything on the page that sticks out of the viewport, or out of its own box (clipped, scrolling
# sideways or spilling over its neighbours): [] when the page fits. Text cut short on purpose (text-overflow: ellipsis, the
# visually hidden helpers) is meant, and what lies inside a table's scrolling frame is that frame's.
MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
      ? "." + el.className.trim().split(/\\s+/).join(".") : "") + (el.dataset.stat ? `[${el.dataset.stat}]` : "");
  const problems = [];
  if (document.documentElement.scrollWidth > vw) problems.push(`the page is ${document.documentElement.scrollWidth} px wide`);
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden" || el.closest(".visually-hidden")) continue;
    if (el.closest(".table-wrap") && !el.classList.contains("table-wrap")) continue;
    if (el.closest("details:not([open])") && el.tagName !== "DETAILS" && el.tagName !== "SUMMARY") continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > vw + 0.5)
      problems.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)}`);
    const boxed = style.display !== "inline" && el.clientWidth > 0;  // text running out of its box counts too
    if (boxed && style.textOverflow !== "ellipsis" && !el.classList.contains("table-wrap")
        && el.scrollWidth > el.clientWidth + 1)
      problems.push(`${name(el)} holds ${el.scrollWidth} px in ${el.clientWidth} px`);
  }
  return problems;
}"""


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def store(db):
    """A shop with a seven-figure revenue in złoty and something on every page."""
    now = utcnow()
    with db.uow() as session:
        shop = make_shop(session, name="Palarnia Kawy Świeżo Palonej", currency="PLN", locale="pl",
                         timezone="Europe/Warsaw")
        anna = make_customer(session, shop, email="anna.kowalska-wisniewska@example.com", first_name="Anna",
                             last_name="Kowalska-Wiśniewska")
        order = make_order(session, shop, anna, total="1234567.89", items=3, created_at=now - timedelta(hours=5),
                           discount_codes=["WIOSNA2024"])
        make_order(session, shop, anna, total="98765.43", created_at=now - timedelta(days=3))
        make_delivery(session, shop, topic="orders/updated", status="failed", received_at=now - timedelta(hours=1),
                      last_error="KeyError: 'line_items'")
        make_failed_job(session, shop, name="sync.process_delivery", error="Transient: store timed out")
        session.commit()
        return {"shop": shop.id, "order": order.id, "customer": anna.id}


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="pl-PL", viewport={"width": WIDTH, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.mark.parametrize("language", ["Polski", "English"])
def test_every_admin_page_fits_a_phone_screen(live_server, phone, store, language):
    phone.goto(live_server + login_url(store["shop"]))
    phone.get_by_role("button", name=language).click()
    pages = (*PAGES, f"/admin/orders/{store['order']}", f"/admin/customers/{store['customer']}")
    problems = {}
    for path in pages:
        phone.goto(live_server + path)
        assert phone.locator("h1").count() == 1, path
        if found := phone.evaluate(MEASURE):
            problems[path] = found
            phone.screenshot(path=f"/tmp/admin-390-{language}-{path.strip('/').replace('/', '-')}.png", full_page=True)
    assert problems == {}


def test_the_revenue_figure_is_whole_and_inside_its_card(live_server, phone, store):
    phone.goto(live_server + login_url(store["shop"]))  # the shop speaks Polish

    revenue = phone.locator('[data-stat="revenue"] .stat__value')
    assert revenue.inner_text() == "1\xa0333\xa0333,32\xa0zł"
    figure, card = revenue.bounding_box(), phone.locator('[data-stat="revenue"]').bounding_box()
    assert card["x"] <= figure["x"] and figure["x"] + figure["width"] <= card["x"] + card["width"] <= WIDTH
    assert revenue.evaluate("el => el.scrollWidth <= el.clientWidth")


def test_the_navigation_wraps_and_every_item_can_be_tapped(app, live_server, phone, store):
    phone.goto(live_server + login_url(store["shop"]))
    nav = phone.get_by_role("navigation", name="Menu główne")

    assert nav.evaluate("el => el.scrollWidth <= el.clientWidth")
    links = nav.get_by_role("link")
    assert links.count() == len(nav_items(app)) >= 6  # every section the installed features declare
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= WIDTH and box["height"] >= 32  # whole, and tappable
    links.filter(has_text="Zadania").tap()
    assert phone.locator("h1").inner_text() == "Zadania"
    assert phone.get_by_role("navigation", name="Menu główne").get_by_role("link", name="Zadania").get_attribute(
        "aria-current") == "page"
