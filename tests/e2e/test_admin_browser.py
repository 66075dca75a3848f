"""The admin in a real browser: sign in by link, read the overview, browse orders, switch language, retry."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from plugin.admin.auth import login_url
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from tests.factories import make_customer, make_delivery, make_failed_job, make_order, make_shop

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/admin-overview.png"


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def store(db):
    now = utcnow()
    with db.uow() as session:
        shop = make_shop(session, name="Ceramika Anny", currency="PLN", locale="en", timezone="Europe/Warsaw")
        anna = make_customer(session, shop, email="anna@example.com", first_name="Anna", last_name="Kowalska")
        jan = make_customer(session, shop, email="jan@example.com", first_name="Jan", last_name="Nowak")
        make_order(session, shop, anna, total="150.00", refunded="20.00", items=2,
                   created_at=now - timedelta(days=40), discount_codes=["WELCOME10"])
        make_order(session, shop, jan, total="89.90", created_at=now - timedelta(days=2),
                   fulfillment_status="fulfilled")
        newest = make_order(session, shop, anna, total="240.00", items=3, created_at=now - timedelta(hours=5))
        make_delivery(session, shop, topic="orders/create", status="processed",
                      received_at=now - timedelta(hours=5))
        make_delivery(session, shop, topic="orders/updated", status="failed",
                      received_at=now - timedelta(hours=1), last_error="KeyError: 'line_items'")
        job = make_failed_job(session, shop, name="sync.process_delivery", error="Transient: store timed out")
        session.commit()
        return {"shop": shop.id, "job": job.id, "newest": newest.number}


def test_merchant_signs_in_browses_switches_language_and_retries_a_job(live_server, page, store, db):
    page.goto(live_server + login_url(store["shop"]))

    assert page.url == live_server + "/admin/"
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator('[data-stat="orders"] .stat__value').inner_text() == "3"
    assert page.locator('[data-stat="customers"] .stat__value').inner_text() == "2"
    assert page.locator('[data-stat="revenue"] .stat__value').inner_text() == "PLN\xa0459.90"
    assert page.locator('[data-stat="recent"] .stat__value').inner_text() == "2"
    job = page.locator(f'tr[data-job="{store["job"]}"]')
    assert job.get_by_text("Applying an update from your store").is_visible()
    assert job.get_by_text("Your store had a temporary problem answering Storecare.").is_visible()
    assert not job.get_by_text("Transient: store timed out").is_visible()  # for operators, behind the toggle
    job.get_by_text("Technical details").click()
    assert job.get_by_text("Transient: store timed out").is_visible()
    assert job.get_by_text("sync.process_delivery").is_visible()
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("link", name="Orders", exact=True).click()
    assert page.locator("h1").inner_text() == "Orders"
    assert page.locator("table tbody tr").count() == 3
    page.locator("table tbody tr").first.get_by_role("link", name=store["newest"]).click()
    assert page.locator("h1").inner_text() == f"Order {store['newest']}"
    assert page.get_by_text("Product 3").is_visible()

    page.get_by_role("button", name="Polski").click()
    assert page.locator("h1").inner_text() == f"Zamówienie {store['newest']}"
    assert page.locator("html").get_attribute("lang") == "pl"
    page.get_by_role("link", name="Podsumowanie").click()
    assert page.locator('[data-stat="revenue"] .stat__value').inner_text() == "459,90\xa0zł"

    page.locator(f'tr[data-job="{store["job"]}"]').get_by_role("button", name="Ponów").click()
    flash = page.locator(".banner--success").inner_text()
    assert flash == "Zadanie „Wprowadzanie zmiany ze sklepu” ponownie czeka w kolejce."
    assert re.search(r"Brak nieudanych zadań", page.content())
    with db.uow() as session:
        assert session.get(JobRun, store["job"]).status == "queued"
