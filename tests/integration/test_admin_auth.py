"""Signing in to the admin, signing out, CSRF, and one shop never seeing another's rows."""
from __future__ import annotations

import time
from html import unescape

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from plugin.admin.auth import LOGIN_MAX_AGE, LOGIN_SALT, login_url
from plugin.jobs.models import JobRun
from tests.factories import make_customer, make_failed_job, make_order, make_shop

SIGNED_OUT = "Open Storecare from your store's admin"


def sign_in(client, shop_id: int) -> None:
    response = client.get(login_url(shop_id))
    assert response.status_code == 302, response.text


def set_csrf(client, token: str = "test-csrf-token") -> str:
    with client.session_transaction() as sess:
        sess["csrf"] = token
    return token


def session_data(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


@pytest.fixture
def shop(db):
    with db.uow() as session:
        shop = make_shop(session, name="Anna's Ceramics")
        session.commit()
        return shop


def test_login_link_signs_the_shop_in_and_lands_on_the_overview(client, shop):
    url = login_url(shop.id)
    assert url.startswith("/admin/auth?token=")

    response = client.get(url)

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert session_data(client)["shop_id"] == shop.id
    overview = client.get("/admin/")
    assert overview.status_code == 200
    assert "Anna&#39;s Ceramics" in overview.text


def test_login_rotates_the_session(client, shop):
    with client.session_transaction() as sess:
        sess.update({"shop_id": 999, "csrf": "old-token", "leftover": "x"})

    sign_in(client, shop.id)

    data = session_data(client)
    assert data["shop_id"] == shop.id
    assert "leftover" not in data and data.get("csrf") != "old-token"


def _expired_token(app, shop_id: int) -> str:
    class TenMinutesAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - LOGIN_MAX_AGE - 5

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=LOGIN_SALT, signer=TenMinutesAgo).dumps(
        {"shop_id": shop_id})


def _forged_tokens(shop_id: int) -> list[str]:
    return [
        URLSafeTimedSerializer("not-our-secret-key", salt=LOGIN_SALT).dumps({"shop_id": shop_id}),
        "not-a-token",
        "",
    ]


def test_expired_login_link_answers_the_signed_out_page_and_signs_nobody_in(app, client, shop):
    sign_in(client, shop.id)  # a session from before does not survive a bad link either

    response = client.get("/admin/auth", query_string={"token": _expired_token(app, shop.id)})

    assert response.status_code == 401
    assert response.mimetype == "text/html"
    assert SIGNED_OUT in unescape(response.text) and "This sign-in link has expired." in response.text
    assert "shop_id" not in session_data(client)
    assert client.get("/admin/").status_code == 401


def test_forged_login_links_are_refused(app, client, shop):
    for token in _forged_tokens(shop.id):
        response = client.get("/admin/auth", query_string={"token": token})
        assert response.status_code == 401, token
        assert "This sign-in link is not valid." in response.text
        assert "shop_id" not in session_data(client)


def test_a_token_for_another_purpose_is_refused(app, client, shop):
    other_purpose = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="another-purpose")
    other_salt = other_purpose.dumps({"shop_id": shop.id})

    assert client.get("/admin/auth", query_string={"token": other_salt}).status_code == 401


def test_login_link_of_an_uninstalled_shop_is_refused(client, db, shop):
    url = login_url(shop.id)
    with db.uow() as session:
        session.get(type(shop), shop.id).status = "uninstalled"
        session.commit()

    response = client.get(url)

    assert response.status_code == 401
    assert "shop_id" not in session_data(client)


@pytest.mark.parametrize("path", ["/admin/", "/admin/orders", "/admin/orders/1", "/admin/customers",
                                  "/admin/customers/1", "/admin/jobs", "/admin/settings"])
def test_pages_ask_signed_out_visitors_to_open_storecare_from_their_store(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.mimetype == "text/html"
    assert SIGNED_OUT in unescape(response.text)


def test_admin_api_answers_signed_out_callers_with_a_problem(client):
    response = client.get("/admin/api/overview")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401


def test_a_session_whose_shop_was_uninstalled_is_signed_out(client, db, shop):
    sign_in(client, shop.id)
    with db.uow() as session:
        session.get(type(shop), shop.id).status = "uninstalled"
        session.commit()

    assert client.get("/admin/").status_code == 401
    assert "shop_id" not in session_data(client)


def test_post_without_the_csrf_token_is_rejected(client, db, shop):
    with db.uow() as session:
        job_id = make_failed_job(session, shop).id
        session.commit()
    sign_in(client, shop.id)
    set_csrf(client, "the-real-token")

    missing = client.post(f"/admin/jobs/{job_id}/retry")
    wrong = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": "a-guess"})
    language = client.post("/admin/language", data={"lang": "pl"})

    for response in (missing, wrong, language):
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        assert "expired or did not come from Storecare" in response.json["detail"]
    with db.uow() as session:
        assert session.get(JobRun, job_id).status == "failed"
    assert "lang" not in session_data(client)


def test_csrf_token_is_accepted_from_the_header_too(client, db, shop):
    with db.uow() as session:
        job_id = make_failed_job(session, shop).id
        session.commit()
    sign_in(client, shop.id)
    token = set_csrf(client)

    response = client.post(f"/admin/jobs/{job_id}/retry", headers={"X-CSRF-Token": token})

    assert response.status_code == 302


def test_one_shop_cannot_see_or_retry_another_shops_rows(client, db):
    with db.uow() as session:
        mine = make_shop(session, domain="mine.sandbox.test", name="Mine")
        theirs = make_shop(session, domain="theirs.sandbox.test", name="Theirs")
        their_customer = make_customer(session, theirs, email="secret@theirs.test", first_name="Zofia")
        their_order = make_order(session, theirs, their_customer, total="77.00")
        their_job = make_failed_job(session, theirs, name="theirs.job", error="their secret error")
        session.commit()
        ids = {"order": their_order.id, "customer": their_customer.id, "job": their_job.id,
               "number": their_order.number, "mine": mine.id}
    sign_in(client, ids["mine"])
    token = set_csrf(client)

    assert client.get(f"/admin/orders/{ids['order']}").status_code == 404
    assert client.get(f"/admin/customers/{ids['customer']}").status_code == 404
    retry = client.post(f"/admin/jobs/{ids['job']}/retry", data={"csrf_token": token})
    assert retry.status_code == 404
    with db.uow() as session:
        assert session.get(JobRun, ids["job"]).status == "failed"

    paths = ("/admin/", "/admin/orders", "/admin/customers?q=secret", "/admin/jobs",
             "/admin/jobs?status=failed")
    pages = "".join(client.get(path).text for path in paths)
    for secret in (ids["number"], "secret@theirs.test", "theirs.job", "their secret error", "Zofia"):
        assert secret not in pages
    assert client.get("/admin/api/overview").json["orders"] == 0


def test_language_choice_is_kept_in_the_session(client, shop):
    sign_in(client, shop.id)
    token = set_csrf(client)

    response = client.post("/admin/language", data={"lang": "pl", "next": "/admin/orders?page=2",
                                                    "csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders?page=2"
    assert session_data(client)["lang"] == "pl"


@pytest.mark.parametrize("target", ["https://evil.example/admin/", "//evil.example/admin/", "/elsewhere",
                                    "/admin\\@evil.example"])
def test_language_switch_does_not_redirect_off_the_admin(client, shop, target):
    sign_in(client, shop.id)
    token = set_csrf(client)

    response = client.post("/admin/language", data={"lang": "en", "next": target, "csrf_token": token})

    assert response.headers["Location"] == "/admin/"


def test_unknown_language_is_ignored(client, shop):
    sign_in(client, shop.id)
    token = set_csrf(client)

    client.post("/admin/language", data={"lang": "xx", "csrf_token": token})

    assert "lang" not in session_data(client)


def test_admin_pages_carry_security_headers(client, shop):
    sign_in(client, shop.id)

    response = client.get("/admin/")

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_cli_prints_a_working_login_link(app, client, shop):
    from plugin.admin.cli import admin_cli

    result = app.test_cli_runner().invoke(admin_cli, ["login-link", shop.domain])

    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://localhost:5000/admin/auth?token=")
    assert client.get(link.removeprefix("http://localhost:5000")).status_code == 302
    missing = app.test_cli_runner().invoke(admin_cli, ["login-link", "nowhere.test"])
    assert missing.exit_code != 0 and "no single installed shop" in missing.output
