"""The demo storefront: a small shop page that embeds our loader the way a real theme does.

Only in the demo and test environments; production answers 404. ``?customer=<platform id>`` acts as
one of the shop's customers (the token is computed here, server-side, as the store would);
no ``customer`` is a guest. Products: a sandbox shop shows the sandbox store's catalogue; any other
shop (or a sandbox shop missing from the store file) shows its synced line items: distinct titles with
the unit price of their latest sale.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.extensions import db
from plugin.i18n import SUPPORTED, shop_language
from plugin.problems import Problem, prefers_html, problem_response
from plugin.shops.models import Shop
from plugin.storefront.identity import StorefrontNotConfigured, issue_shopper_token
from plugin.storefront.schemas import money_display
from plugin.sync import revenue
from plugin.sync.models import Customer, LineItem, Order

bp = Blueprint("demo", __name__, url_prefix="/demo")
DEMO_ENVIRONMENTS = ("demo", "test")
CUSTOMERS_SHOWN = 20
PRODUCTS_SHOWN = 12


# The demo page's own words (the widget carries its own strings).
PAGE_TEXT = {
    "en": {"demo": "Demo storefront", "acting_as": "Shopping as", "guest": "Guest (not signed in)",
           "switch": "Switch", "orders": ("{n} order", "{n} orders"), "hero": "New season, same care.",
           "hero_sub": "Free returns within 30 days. Track every order from the button in the corner.",
           "shop_now": "Shop the collection", "products": "Bestsellers", "add": "Add to cart",
           "no_products": "No products yet: sync some orders to fill the shelves.",
           "no_secret": "This shop has no storefront secret, so the widget is not embedded.",
           "footer": "Demo store powered by the Storecare sandbox.", "shipping": "Shipping",
           "returns": "Returns", "contact": "Contact", "nav": ("New in", "Women", "Men", "Sale"),
           "unknown_customer": "This shop has no customer with that id, so you are shopping as a guest.",
           "not_found": "Not found", "unknown_shop": "No installed shop has that domain."},
    "pl": {"demo": "Sklep demonstracyjny", "acting_as": "Kupujesz jako", "guest": "Gość (niezalogowany)",
           "switch": "Zmień", "orders": ("{n} zamówienie", "{n} zamówienia", "{n} zamówień"),
           "hero": "Nowy sezon, ta sama troska.",
           "hero_sub": "Darmowe zwroty do 30 dni. Śledź każde zamówienie przyciskiem w rogu.",
           "shop_now": "Zobacz kolekcję", "products": "Bestsellery", "add": "Do koszyka",
           "no_products": "Brak produktów: zsynchronizuj zamówienia, aby zapełnić półki.",
           "no_secret": "Ten sklep nie ma sekretu witryny, więc widżet nie jest osadzony.",
           "footer": "Sklep demonstracyjny działa na piaskownicy Storecare.", "shipping": "Dostawa",
           "returns": "Zwroty", "contact": "Kontakt", "nav": ("Nowości", "Damskie", "Męskie", "Wyprzedaż"),
           "unknown_customer": "W tym sklepie nie ma klienta o takim identyfikatorze, więc kupujesz jako gość.",
           "not_found": "Nie znaleziono", "unknown_shop": "Żaden zainstalowany sklep nie ma tej domeny."},
}


def count_label(forms: tuple[str, ...], n: int) -> str:
    """English (one, other) or Polish (one, few, many) plural forms of a count."""
    if len(forms) == 2:
        form = forms[0] if n == 1 else forms[1]
    elif n == 1:
        form = forms[0]
    else:
        form = forms[1] if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else forms[2]
    return form.format(n=n)


@dataclass(frozen=True)
class DemoCustomer:
    platform_id: str
    name: str
    orders: int


@dataclass(frozen=True)
class DemoProduct:
    title: str
    price: str
    hue: int  # a stable colour for the placeholder picture
    amount: str = ""  # the price as a plain decimal ("129.99"), for the "earn N points" block


@bp.errorhandler(Problem)
def _problem(exc: Problem):
    """The demo's pages are opened in a browser: an error there is a page, not a JSON document."""
    if not prefers_html():
        return problem_response(exc.status, exc.title, exc.detail, exc.type, exc.errors, exc.headers)
    heading = PAGE_TEXT[_page_locale(None)]["not_found"] if exc.status == 404 else exc.title
    page = render_template("storefront/demo_error.html", heading=heading, detail=exc.detail, status=exc.status)
    return page, exc.status, exc.headers


@bp.before_request
def _only_in_demo():
    if current_app.config["STORECARE_SETTINGS"].env not in DEMO_ENVIRONMENTS:
        raise Problem(404, "Not Found", "The demo storefront is not available in production.")


def _shop(session: Session, domain: str) -> Shop:
    shop = session.scalar(select(Shop).where(Shop.domain == domain, Shop.status == "installed")
                          .order_by(Shop.id).limit(1))
    if shop is None:
        raise Problem(404, "Not Found", PAGE_TEXT[_page_locale(None)]["unknown_shop"])
    return shop


def top_customers(session: Session, shop: Shop, limit: int = CUSTOMERS_SHOWN) -> list[DemoCustomer]:
    """The shop's customers with the most orders in the widget (mirrored, not deleted) first."""
    counts = (select(Order.customer_id, func.count(Order.id).label("n"))
              .where(Order.shop_id == shop.id, Order.customer_id.is_not(None), revenue.live_order())
              .group_by(Order.customer_id).subquery())
    n = func.coalesce(counts.c.n, 0)
    rows = session.execute(
        select(Customer, n)
        .outerjoin(counts, counts.c.customer_id == Customer.id)
        .where(Customer.shop_id == shop.id, Customer.deleted_at.is_(None))
        .order_by(n.desc(), Customer.orders_count.desc(), Customer.id)
        .limit(limit)
    ).all()
    return [DemoCustomer(c.platform_id, c.name or c.platform_id, int(count)) for c, count in rows]


def _hue(title: str) -> int:
    return zlib.crc32(title.encode("utf-8")) % 360


def _page_locale(shop: Shop | None) -> str:
    """``?lang=``, else the shop's locale, else (no shop) the browser's languages."""
    chosen = request.args.get("lang")
    if chosen in SUPPORTED:
        return chosen
    if shop is None:
        return request.accept_languages.best_match(SUPPORTED) or "en"
    return shop_language(shop)


def products_from_line_items(session: Session, shop: Shop, locale: str,
                             limit: int = PRODUCTS_SHOWN) -> list[DemoProduct]:
    """Distinct line-item titles of the shop with the unit price of their most recent sale."""
    latest_first = (Order.created_at.desc(), LineItem.id.desc())
    ranked = (select(LineItem.title, LineItem.unit_price, Order.currency,
                     func.row_number().over(partition_by=LineItem.title, order_by=latest_first).label("rn"))
              .join(Order, (Order.id == LineItem.order_id) & (Order.shop_id == shop.id))
              .where(LineItem.shop_id == shop.id)
              .subquery())
    rows = session.execute(select(ranked.c.title, ranked.c.unit_price, ranked.c.currency)
                           .where(ranked.c.rn == 1).order_by(ranked.c.title).limit(limit)).all()
    return [DemoProduct(title, money_display(Decimal(price), currency, locale), _hue(title), str(Decimal(price)))
            for title, price, currency in rows]


def products_from_sandbox(shop: Shop, locale: str, limit: int = PRODUCTS_SHOWN) -> list[DemoProduct]:
    """The sandbox store's catalogue for this shop (prices already in the shop's currency)."""
    from adapters.sandbox.store import SandboxStore

    path = current_app.config["STORECARE_SETTINGS"].sandbox_path
    if not path or not Path(path).exists():  # a page view must not create the store file
        return []
    store = SandboxStore(path)
    if not store.has_shop(shop.domain):
        return []
    currency = store.shop(shop.domain).currency
    return [DemoProduct(p.title, money_display(Decimal(p.price_cents) / 100, currency, locale), _hue(p.title),
                        str(Decimal(p.price_cents) / 100))
            for p in store.products(shop.domain)[:limit]]


def shop_products(session: Session, shop: Shop, locale: str) -> tuple[str, list[DemoProduct]]:
    """(where they came from, the products): the sandbox catalogue, else the synced line items."""
    if shop.platform == "sandbox":
        products = products_from_sandbox(shop, locale)
        if products:
            return "sandbox-catalogue", products
    return "line-items", products_from_line_items(session, shop, locale)


@bp.get("/store/<shop_domain>")
def store(shop_domain: str):
    chosen = request.args.get("customer") or None
    with db.uow() as session:
        shop = _shop(session, shop_domain)
        locale = _page_locale(shop)
        customers = top_customers(session, shop)
        acting_as = None
        if chosen is not None:
            customer = session.scalar(select(Customer).where(Customer.shop_id == shop.id,
                                                             Customer.platform_id == chosen,
                                                             Customer.deleted_at.is_(None)))
            if customer is None:  # a 404, but a browser gets the store as a guest, told why
                chosen = None
            else:
                acting_as = DemoCustomer(customer.platform_id, customer.name or customer.platform_id, 0)
                if all(c.platform_id != chosen for c in customers):
                    customers.append(acting_as)
        unknown_customer = request.args.get("customer") is not None and chosen is None
        products_source, products = shop_products(session, shop, locale)
        try:
            token = issue_shopper_token(shop, chosen)
        except StorefrontNotConfigured:
            token = None
        return render_template(
            "storefront/demo_store.html", shop=shop, customers=customers, acting_as=acting_as, token=token,
            products=products, products_source=products_source, locale=locale, text=PAGE_TEXT[locale],
            count_label=count_label, unknown_customer=unknown_customer,
            # the API's base URL as this page's visitor reaches us (the demo page is served by the app)
            api_base=url_for("storefront_api.me", _external=True).rsplit("/", 1)[0],
        ), 404 if unknown_customer else 200


@bp.get("/admin/<shop_domain>")
def admin(shop_domain: str):
    """The demo's way into the merchant admin: a fresh signed login link for the shop, followed."""
    from flask import redirect

    from plugin.admin.auth import login_url

    with db.uow() as session:
        shop = _shop(session, shop_domain)
        return redirect(login_url(shop.id))
