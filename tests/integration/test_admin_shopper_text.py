"""Every place the admin shows text a shopper (or the platform) wrote, that text sits in its own <bdi>
(in the <title>, between U+2068 and U+2069), so a bidi override in it reorders nothing around it.
tests/e2e/test_admin_shopper_text_browser.py shows what chromium then draws."""
from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

from plugin.admin.auth import login_url
from plugin.sync.models import LineItem, Refund
from tests.factories import T0, make_customer, make_order, make_shop

RLO = "\u202e"
MARK = "Mark" + RLO  # carried by every shopper-written field below, each with its own suffix
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Placements(HTMLParser):
    """For each piece of text holding MARK: the elements it sits in."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.found: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data):
        if MARK in data:
            self.found.append((data, list(self.open)))


def placements(html: str) -> list[tuple[str, list[str]]]:
    parser = Placements()
    parser.feed(html)
    return parser.found


def test_shopper_text_is_isolated_wherever_the_admin_shows_it(client, db):
    with db.uow() as session:
        shop = make_shop(session, name=MARK + "shop")
        customer = make_customer(session, shop, email=MARK + "email@example.com", first_name=MARK + "first",
                                 last_name=MARK + "last", locale="pl")
        order = make_order(session, shop, customer, refunded="5.00", discount_codes=[MARK + "code"],
                           cancel_reason=MARK + "cancel", cancelled_at=T0 + timedelta(days=1))
        order.number = MARK + "number"
        session.execute(LineItem.__table__.update().where(LineItem.order_id == order.id).values(
            title=MARK + "title", sku=MARK + "sku"))
        session.execute(Refund.__table__.update().where(Refund.order_id == order.id).values(reason=MARK + "reason"))
        guest = make_order(session, shop, None)
        guest.email = MARK + "guest@example.com"
        session.commit()
        ids = {"shop": shop.id, "customer": customer.id, "order": order.id}
    client.get(login_url(ids["shop"]))

    pages = {
        "/admin/orders": {"shop", "first", "last", "number", "guest@"},
        f"/admin/orders/{ids['order']}": {"shop", "number", "title", "sku", "reason", "first", "last", "email",
                                          "code", "cancel"},
        "/admin/customers": {"shop", "first", "last", "email"},
        f"/admin/customers/{ids['customer']}": {"shop", "first", "last", "email", "number"},
        "/admin/customers?q=" + MARK + "search": {"shop", "search"},
        "/admin/settings": {"shop"},
    }
    for path, fields in pages.items():
        found = placements(client.get(path, headers={"Accept": "text/html"}).text)
        shown = {field for field in fields for data, _ in found if MARK + field in data}
        assert shown == fields, (path, fields - shown)
        for data, elements in found:
            if elements[-1] == "title":  # no markup there: Unicode isolates instead
                assert data.count("\u2068") == data.count("\u2069") and data.index("\u2068") < data.index(MARK)
            else:
                assert elements[-1] == "bdi", (path, data, elements)
