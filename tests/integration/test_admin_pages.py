"""The admin's pages read the mirror of the signed-in shop: numbers, lists, details, jobs, languages."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from plugin.admin.auth import login_url
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.sync.models import SyncState
from tests.factories import T0, make_customer, make_delivery, make_failed_job, make_order, make_shop

XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def sign_in(client, shop_id: int) -> str:
    assert client.get(login_url(shop_id)).status_code == 302
    with client.session_transaction() as sess:
        sess["csrf"] = "test-csrf-token"
    return "test-csrf-token"


def stat(html: str, name: str) -> str:
    match = re.search(rf'data-stat="{name}">.*?class="stat__value">([^<]*)<', html, re.S)
    assert match, f"no {name} stat on the page"
    return unescape(match.group(1)).strip()


def text(response) -> str:
    """The page as a reader sees its text: without the <bdi> that isolates shopper text, entities decoded."""
    return unescape(re.sub(r"</?bdi\b[^>]*>", "", response.text))


@pytest.fixture
def store(db):
    """A PLN shop with two customers, three orders (one refunded in part), and a neighbour shop."""
    now = utcnow()
    with db.uow() as session:
        shop = make_shop(session, name="Ceramika Anny", currency="PLN", timezone="Europe/Warsaw")
        anna = make_customer(session, shop, email="anna@example.com", first_name="Anna", last_name="Kowalska",
                             orders_count=2, total_spent="180.00", last_order_at=now - timedelta(days=3))
        jan = make_customer(session, shop, email="jan@example.com", first_name="Jan", last_name="Nowak")
        old = make_order(session, shop, anna, total="150.00", refunded="20.00", items=2,
                         discount_codes=[{"code": "WELCOME10", "amount": "15.00"}, "SUMMER"])
        make_order(session, shop, anna, total="50.00", created_at=now - timedelta(days=3))
        make_order(session, shop, jan, total="30.00", created_at=now - timedelta(days=10),
                   financial_status="pending")
        neighbour = make_shop(session, domain="other.sandbox.test", name="Neighbour")
        make_order(session, neighbour, make_customer(session, neighbour), total="999.00", created_at=now)
        session.commit()
        return {"shop": shop.id, "anna": anna.id, "jan": jan.id, "old_order": old.id,
                "old_number": old.number, "neighbour": neighbour.id}


def test_overview_shows_the_synced_numbers(client, store):
    sign_in(client, store["shop"])

    html = client.get("/admin/").text

    assert stat(html, "orders") == "3"
    assert stat(html, "customers") == "2"
    assert stat(html, "revenue") == "PLN\xa0180.00"  # 150 - 20 + 50: Jan's pending 30 and the neighbour's 999 left out
    assert stat(html, "recent") == "1"  # paid orders: Jan's pending one is not
    data = client.get("/admin/api/overview").json
    assert (data["orders"], data["paid_orders"], data["customers"], data["revenue"], data["recent_paid_orders"]) == \
        (3, 2, 2, "180.00", 1)


def test_overview_shows_sync_state_webhooks_and_failed_jobs(client, db, store):
    with db.uow() as session:
        shop = session.get(type_shop(), store["shop"])
        session.add(SyncState(shop_id=shop.id, resource="orders", status="failed", processed=120,
                              cursor="page-3", last_error="RateLimited: slow down"))
        session.add(SyncState(shop_id=shop.id, resource="customers", status="done", processed=40,
                              finished_at=T0))
        make_delivery(session, shop, topic="orders/create", status="processed", received_at=T0)
        make_delivery(session, shop, topic="orders/updated", status="failed",
                      received_at=T0 + timedelta(hours=1), last_error="KeyError: 'line_items'")
        job = make_failed_job(session, shop, name="sync.process_delivery", error="Transient: store timed out")
        session.commit()
        job_id = job.id
    sign_in(client, store["shop"])

    html = text(client.get("/admin/"))

    assert "RateLimited: slow down" in html and "120" in html and "40" in html
    assert "orders/updated" in html  # the last delivery received
    assert re.search(r'data-stat="failed-deliveries">1<', html)
    assert "KeyError: 'line_items'" in html
    assert "sync.process_delivery" in html and "Transient: store timed out" in html
    assert f'action="/admin/jobs/{job_id}/retry"' in html


def type_shop():
    from plugin.shops.models import Shop

    return Shop


def test_retry_queues_a_failed_job_again_and_says_so(client, db, store):
    with db.uow() as session:
        job_id = make_failed_job(session, session.get(type_shop(), store["shop"])).id
        session.commit()
    token = sign_in(client, store["shop"])

    response = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token, "next": "/admin/"})

    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    with db.uow() as session:
        run = session.get(JobRun, job_id)
        assert (run.status, run.attempts) == ("queued", 0)
    page = text(client.get("/admin/"))
    assert "Job “Applying an update from your store” is queued to run again." in page
    assert "No failed jobs" in page


def test_retrying_a_job_that_is_not_failed_only_warns(client, db, store):
    with db.uow() as session:
        job = make_failed_job(session, session.get(type_shop(), store["shop"]))
        job.status = "succeeded"
        session.commit()
        job_id = job.id
    token = sign_in(client, store["shop"])

    response = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token}, follow_redirects=True)

    assert "only failed jobs can be retried" in text(response)
    with db.uow() as session:
        assert session.get(JobRun, job_id).status == "succeeded"


def test_resync_queues_a_backfill(client, db, store):
    token = sign_in(client, store["shop"])

    response = client.post("/admin/sync", data={"csrf_token": token}, follow_redirects=True)

    assert response.status_code == 200
    assert "A full re-sync is queued." in text(response)
    with db.uow() as session:
        runs = session.query(JobRun).filter_by(shop_id=store["shop"], name="sync.backfill").all()
        assert [run.status for run in runs] == ["queued"]


def test_orders_are_listed_newest_first_fifty_a_page(client, db):
    with db.uow() as session:
        shop = make_shop(session)
        numbers = [make_order(session, shop, created_at=T0 + timedelta(hours=i)).number for i in range(51)]
        session.commit()
        shop_id = shop.id
    sign_in(client, shop_id)

    first = text(client.get("/admin/orders"))
    second = text(client.get("/admin/orders?page=2"))

    listed = re.findall(r'href="/admin/orders/\d+">([^<]+)</a>', first)
    assert listed == list(reversed(numbers))[:50]
    assert re.findall(r'href="/admin/orders/\d+">([^<]+)</a>', second) == [numbers[0]]
    assert "1–50 of 51" in first and "51–51 of 51" in second


def test_order_page_shows_items_refunds_codes_and_times(client, store):
    sign_in(client, store["shop"])

    html = text(client.get(f"/admin/orders/{store['old_order']}"))

    assert f"Order {store['old_number']}" in html
    assert "Product 1" in html and "Product 2" in html and "SKU-2" in html
    assert "damaged" in html and "PLN\xa020.00" in html
    assert "WELCOME10" in html and "SUMMER" in html and "PLN\xa015.00" in html
    assert "Anna Kowalska" in html
    assert "Jun 1, 2026" in html  # placed, in the shop's timezone


def test_unknown_order_is_a_404_problem(client, store):
    sign_in(client, store["shop"])

    response = client.get("/admin/orders/987654")
    in_browser = client.get("/admin/orders/987654", headers={"Accept": "text/html,*/*;q=0.8"})

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["title"] == "Not Found"
    assert in_browser.status_code == 404 and in_browser.mimetype == "text/html"
    assert "This order is not in your store's synced orders." in text(in_browser)


def test_customers_can_be_searched_by_email_or_name(client, store):
    sign_in(client, store["shop"])

    everyone = text(client.get("/admin/customers"))
    by_email = text(client.get("/admin/customers?q=JAN@example"))
    by_name = text(client.get("/admin/customers?q=anna kow"))
    nobody = text(client.get("/admin/customers?q=100%_"))

    assert "Anna Kowalska" in everyone and "Jan Nowak" in everyone
    assert "PLN\xa0180.00" in everyone
    assert "Jan Nowak" in by_email and "Anna Kowalska" not in by_email
    assert "Anna Kowalska" in by_name and "Jan Nowak" not in by_name
    assert "No customers match “100%_”" in nobody


def test_customer_page_lists_their_orders(client, store):
    sign_in(client, store["shop"])

    html = text(client.get(f"/admin/customers/{store['anna']}"))

    assert "Anna Kowalska" in html and "anna@example.com" in html
    assert len(re.findall(r'href="/admin/orders/\d+"', html)) == 2


def test_jobs_can_be_filtered_by_status(client, db, store):
    with db.uow() as session:
        shop = session.get(type_shop(), store["shop"])
        make_failed_job(session, shop, name="care.send_message")
        session.add(JobRun(shop_id=shop.id, name="sync.backfill", status="succeeded", attempts=1))
        session.commit()
    sign_in(client, store["shop"])

    everything = text(client.get("/admin/jobs"))
    failed = text(client.get("/admin/jobs?status=failed"))

    assert "care.send_message" in everything and "sync.backfill" in everything
    assert "care.send_message" in failed and "sync.backfill" not in failed
    assert failed.count(">Retry</button>") == 1


def test_shopper_supplied_text_is_escaped(client, db):
    with db.uow() as session:
        shop = make_shop(session, name=XSS)
        customer = make_customer(session, shop, first_name=XSS, email="x@example.com")
        order = make_order(session, shop, customer, discount_codes=[XSS])
        order.line_items  # noqa: B018 - loaded so the title can be changed below
        session.flush()
        session.execute(type(order.line_items[0]).__table__.update().values(title=XSS))
        make_failed_job(session, shop, error=XSS)
        make_delivery(session, shop, topic="orders/create", status="failed", last_error=XSS)
        session.commit()
        ids = (shop.id, customer.id, order.id)
    sign_in(client, ids[0])

    for path in ("/admin/", "/admin/orders", f"/admin/orders/{ids[2]}", "/admin/customers",
                 f"/admin/customers/{ids[1]}", "/admin/jobs", "/admin/settings"):
        html = client.get(path).text
        assert XSS not in html, path
        assert XSS_ESCAPED in html, path


def test_empty_states_explain_what_will_fill_the_page(client, db):
    with db.uow() as session:
        shop_id = make_shop(session).id
        session.commit()
    sign_in(client, shop_id)

    assert "No sync has run yet" in text(client.get("/admin/"))
    assert "No orders synced yet" in text(client.get("/admin/orders"))
    assert "the backfill runs after install" in text(client.get("/admin/orders")).lower()
    assert "No customers synced yet" in text(client.get("/admin/customers"))
    assert "No jobs yet" in text(client.get("/admin/jobs"))


def test_settings_show_the_store(client, store):
    sign_in(client, store["shop"])

    html = text(client.get("/admin/settings"))

    assert "Ceramika Anny" in html and "Europe/Warsaw" in html and "PLN" in html


def test_navigation_marks_the_current_section(client, store):
    sign_in(client, store["shop"])

    html = client.get(f"/admin/orders/{store['old_order']}").text

    active = re.findall(r'<a href="([^"]+)" class="sidebar__link is-active"', html)
    assert active == ["/admin/orders"]
    for label in ("Overview", "Orders", "Customers", "Jobs", "Settings"):
        assert f"<span>{label}</span>" in html


# -- languages

def test_overview_speaks_polish_for_a_polish_shop_and_english_when_asked(client, db):
    with db.uow() as session:
        shop = make_shop(session, locale="pl", currency="PLN")
        make_order(session, shop, total="1234.50", created_at=utcnow())
        session.commit()
        shop_id = shop.id
    token = sign_in(client, shop_id)

    polish = text(client.get("/admin/"))
    assert '<html lang="pl">' in polish
    assert "Podsumowanie" in polish and "Zsynchronizowane zamówienia" in polish
    assert "Opłacone zamówienia z ostatnich 30 dni" in polish
    assert stat(polish, "revenue") == "1\xa0234,50\xa0zł"

    client.post("/admin/language", data={"lang": "en", "csrf_token": token})
    english = text(client.get("/admin/"))
    assert '<html lang="en">' in english
    assert "Overview" in english and "Orders synced" in english and "Podsumowanie" not in english
    assert stat(english, "revenue") == "PLN\xa01,234.50"


def test_polish_uses_its_three_plural_forms(app):
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("pl"):
        forms = {n: ngettext("%(num)d order synced", "%(num)d orders synced", n)
                 for n in (1, 2, 5, 12, 22, 25)}

    assert forms == {1: "1 zsynchronizowane zamówienie", 2: "2 zsynchronizowane zamówienia",
                     5: "5 zsynchronizowanych zamówień", 12: "12 zsynchronizowanych zamówień",
                     22: "22 zsynchronizowane zamówienia", 25: "25 zsynchronizowanych zamówień"}


def test_an_address_under_admin_that_is_no_page_gets_a_page_in_a_browser_and_a_problem_elsewhere(client):
    in_browser = client.get("/admin/nothing-here", headers={"Accept": "text/html,*/*;q=0.8"})
    assert in_browser.status_code == 404 and in_browser.mimetype == "text/html"
    assert "This page is not part of Storecare's admin." in text(in_browser)
    assert 'href="/admin/"' in in_browser.text

    for path, accept in (("/admin/nothing-here", "application/json"), ("/admin/api/nothing", "text/html"),
                         ("/nothing-here", "application/json")):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path


def test_the_admins_not_found_page_speaks_polish(client):
    polish = client.get("/admin/nothing-here?lang=pl", headers={"Accept": "text/html"})
    assert polish.status_code == 404 and "Tej strony nie ma w panelu Storecare." in text(polish)
