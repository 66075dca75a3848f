"""Errors as a person meets them: a browser gets a page (in the admin's language, with its navigation when
signed in), an API client a problem document; an id past the database's range in an address is no page."""
from __future__ import annotations

import re
from html import unescape

import pytest
from flask import url_for

from plugin.admin.auth import login_url
from plugin.admin.nav import nav_items
from plugin.jobs.models import JobRun
from tests.admin_support import nav_links, navigation, sign_in, text
from tests.factories import make_failed_job, make_shop

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PROBLEM = "application/problem+json"
TOO_BIG = "99999999999999999999"  # past 2^63: no database integer holds it










@pytest.fixture
def shop_id(db):
    with db.uow() as session:
        shop = make_shop(session, locale="pl", name="Ceramika Anny")
        session.commit()
        return shop.id


@pytest.mark.parametrize("path", [f"/admin/orders/{TOO_BIG}", f"/admin/customers/{TOO_BIG}",
                                  f"/admin/privacy/exports/{TOO_BIG}", "/admin/orders/9223372036854775808",
                                  # rewards and tiers have 32-bit ids on PostgreSQL (a 500 there before)
                                  "/admin/loyalty/rewards/2147483648", "/admin/loyalty/tiers/2147483648"])
def test_an_id_past_the_databases_integer_range_is_not_found(client, shop_id, path):
    sign_in(client, shop_id)

    api = client.get(path)
    page = client.get(path, headers=BROWSER)

    assert api.status_code == 404 and api.mimetype == PROBLEM
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "/admin/orders" in nav_links(page)


def test_retrying_a_job_past_the_databases_integer_range_is_not_found_and_changes_nothing(client, db, shop_id):
    with db.uow() as session:
        job_id = make_failed_job(session, session.get(type_shop(), shop_id)).id
        session.commit()
    token = sign_in(client, shop_id)

    response = client.post(f"/admin/jobs/{TOO_BIG}/retry", data={"csrf_token": token})

    assert response.status_code == 404
    with db.uow() as session:
        assert session.get(JobRun, job_id).status == "failed"


def type_shop():
    from plugin.shops.models import Shop

    return Shop


def test_the_largest_id_a_database_holds_is_an_ordinary_unknown_order(client, shop_id):
    sign_in(client, shop_id)

    response = client.get("/admin/orders/9223372036854775807?lang=en", headers=BROWSER)

    assert response.status_code == 404
    assert "This order is not in your store's synced orders." in text(response)


@pytest.mark.parametrize("path", ["/admin/orders/-1", "/admin/nope", "/admin/orders/abc"])
def test_an_admin_address_that_is_no_page_keeps_the_language_and_the_navigation(app, client, shop_id, path):
    token = sign_in(client, shop_id)

    polish = client.get(path, headers=BROWSER)  # the shop speaks Polish; the merchant chose nothing

    assert polish.status_code == 404 and polish.mimetype == "text/html"
    assert '<html lang="pl"' in polish.text
    assert "Nie znaleziono" in text(polish) and "Tej strony nie ma w panelu Storecare." in text(polish)
    assert nav_links(polish) == navigation(app)
    assert "Ceramika Anny" in polish.text

    client.post("/admin/language", data={"lang": "en", "csrf_token": token})
    english = client.get(path, headers=BROWSER)
    assert '<html lang="en"' in english.text and "This page is not part of Storecare's admin." in text(english)
    assert "/admin/settings" in nav_links(english)


def test_an_address_outside_the_admin_is_a_page_for_a_browser_and_a_problem_for_an_api_client(client, shop_id):
    for path in ("/nonexistent", "/demo/store/<script>alert(1)</script>"):
        page = client.get(path, headers={**BROWSER, "Accept-Language": "pl"})
        api = client.get(path, headers={"Accept": "application/json"})

        assert page.status_code == 404 and page.mimetype == "text/html", path
        assert "Nie znaleziono" in text(page) and "<script>alert" not in page.text
        assert page.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")
        assert api.status_code == 404 and api.mimetype == PROBLEM and api.json["title"] == "Not Found"

    sign_in(client, shop_id)
    signed_in = client.get("/nonexistent", headers=BROWSER)
    assert signed_in.status_code == 404 and '<html lang="pl"' in signed_in.text
    assert "/admin/orders" in nav_links(signed_in)


def test_a_500_is_a_page_in_the_admins_language_with_its_navigation_and_a_problem_for_an_api_client(
        app, client, shop_id):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("database password is hunter2")

    signed_out = client.get("/boom-for-test", headers={**BROWSER, "X-Request-Id": "req-12345678"})
    token = sign_in(client, shop_id)
    client.post("/admin/language", data={"lang": "pl", "csrf_token": token})
    signed_in = client.get("/boom-for-test", headers={**BROWSER, "X-Request-Id": "req-87654321"})
    api = client.get("/boom-for-test")

    assert signed_out.status_code == 500 and signed_out.mimetype == "text/html"
    assert "Something went wrong" in text(signed_out) and "req-12345678" in signed_out.text
    assert signed_in.status_code == 500 and signed_in.mimetype == "text/html"
    assert "Coś poszło nie tak" in text(signed_in) and "req-87654321" in signed_in.text
    assert "/admin/orders" in nav_links(signed_in)
    for response in (signed_out, signed_in, api):
        assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert api.status_code == 500 and api.mimetype == PROBLEM


def test_too_many_requests_is_a_page_saying_to_wait_in_the_browsers_language(app, client):
    from werkzeug.exceptions import TooManyRequests

    @app.get("/busy-for-test")
    def busy():
        raise TooManyRequests()

    page = client.get("/busy-for-test", headers={**BROWSER, "Accept-Language": "pl"})
    api = client.get("/busy-for-test")

    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "Zbyt wiele żądań w krótkim czasie. Poczekaj chwilę i spróbuj ponownie." in text(page)
    assert api.status_code == 429 and api.mimetype == PROBLEM
