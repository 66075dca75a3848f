"""The admin inside Shopify, as the server answers it: App Bridge first in <head>, its nav menu and title bar,
every request signed in by its own ID token (no cookie, no CSRF token), what a cookie would keep (messages
after a save, the language) kept on the server for the Shopify session; outside Shopify nothing changes."""
from __future__ import annotations

import re
from html import unescape

import pytest
import responses
from sqlalchemy import select

from plugin.admin.auth import login_url
from plugin.admin.models import AdminSession
from plugin.features import install_features
from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from tests.admin_support import navigation
from tests.factories import make_failed_job, make_shop
from tests.shopify_auth_support import (
    CLIENT_ID,
    OTHER_SHOP,
    RETRY_HEADER,
    SHOP,
    granted,
    session_token,
    shopify_app,
    token_url,
)

HTML = {"Accept": "text/html"}
APP_BRIDGE = '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>'


@pytest.fixture
def app(settings_with):
    for app in shopify_app(settings_with):
        install_features(app, ("tests.example_feature",))
        yield app


@pytest.fixture
def shop_id(client, db):
    """A Shopify shop installed through the embedded entry point (the token exchange played by responses)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(token_url(), json=granted())
        assert client.get(f"/admin/shopify?shop={SHOP}&id_token={session_token()}", headers=HTML).status_code == 302
    with db.uow() as session:
        return session.scalars(select(Shop.id).where(Shop.domain == SHOP)).one()


def bearer(**claims) -> dict:
    return {"Authorization": f"Bearer {session_token(**claims)}", **HTML}


def test_a_page_inside_shopify_loads_app_bridge_first_and_uses_its_nav_menu_and_title_bar(client, shop_id):
    response = client.get("/admin/orders", headers=bearer())

    html = response.text
    assert response.status_code == 200
    head = html[html.index("<head>"):html.index("</head>")]
    assert re.match(r'<head>\s*<meta charset="utf-8">\s*<meta name="shopify-api-key" content="'
                    + CLIENT_ID + r'">\s*' + re.escape(APP_BRIDGE), head)
    assert "<script" not in head.split(APP_BRIDGE)[0]  # App Bridge is the first script
    assert "<html lang=\"en\" data-embedded" in html
    menu = re.search(r"<ui-nav-menu>(.*?)</ui-nav-menu>", html, re.DOTALL).group(1)
    links = re.findall(r"<a ([^>]*)>([^<]*)</a>", menu)
    assert links[0] == ('href="/admin/" rel="home"', "Overview")
    assert [href for href, _ in links] == ['href="/admin/" rel="home"'] + [
        f'href="{url}"' for url in navigation(client.application)[1:]]
    assert ('href="/admin/example/"', "Example") in links and ('href="/admin/jobs"', "Jobs") in links
    assert '<ui-title-bar title="Orders"></ui-title-bar>' in html
    assert 'class="topbar"' not in html and 'class="sidebar"' not in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://cdn.shopify.com;" in csp
    assert csp.endswith(f"frame-ancestors https://{SHOP} https://admin.shopify.com")
    assert "Set-Cookie" not in response.headers


def test_shopifys_document_load_is_signed_in_by_the_id_token_in_its_address(client, db, shop_id):
    with db.uow() as session:
        make_failed_job(session, session.get(Shop, shop_id))  # its Retry form comes back to this page
        session.commit()
    token = session_token()
    response = client.get(f"/admin/?shop={SHOP}&host=aG9zdA&embedded=1&id_token={token}", headers=HTML)

    assert response.status_code == 200 and "data-embedded" in response.text
    assert 'name="next" value="/admin/?shop=' in response.text  # forms come back here ...
    assert token not in response.text and "id_token" not in response.text  # ... without the spent token
    assert client.get("/admin/", headers=HTML).status_code == 401  # the next request needs its own token


def test_a_form_post_is_signed_in_by_its_token_without_a_csrf_token_or_a_cookie(client, db, shop_id):
    with db.uow() as session:
        job_id = make_failed_job(session, session.get(Shop, shop_id)).id
        session.commit()

    retried = client.post(f"/admin/jobs/{job_id}/retry", data={"next": "/admin/jobs"}, headers=bearer(jti="a"))
    page = client.get("/admin/jobs", headers=bearer(jti="b"))

    assert retried.status_code == 302 and retried.headers["Location"] == "/admin/jobs"
    assert "Set-Cookie" not in retried.headers and "Set-Cookie" not in page.headers
    with db.uow() as session:
        assert session.get(JobRun, job_id).status == "queued"
    flash = re.search(r'data-flash="success">([^<]*)<', page.text)  # the message came with the next request
    assert flash and flash.group(1) == "Job “Applying an update from your store” is queued to run again."
    assert 'data-flash="success"' not in client.get("/admin/jobs", headers=bearer(jti="c")).text  # shown once


def test_an_id_token_in_the_address_of_a_post_signs_nothing_in(client, db, shop_id):
    with db.uow() as session:
        job_id = make_failed_job(session, session.get(Shop, shop_id)).id
        session.commit()

    response = client.post(f"/admin/jobs/{job_id}/retry?id_token={session_token()}")

    assert response.status_code == 400  # no token header, no CSRF token: refused
    with db.uow() as session:
        assert session.get(JobRun, job_id).status == "failed"


def test_the_language_chosen_inside_shopify_stays_with_the_shopify_session(client, db, shop_id):
    chosen = client.post("/admin/language", data={"lang": "pl", "next": "/admin/settings"}, headers=bearer())

    assert chosen.status_code == 302 and chosen.headers["Location"] == "/admin/settings"
    polish = client.get("/admin/settings", headers=bearer(jti="later"))
    assert '<html lang="pl"' in polish.text and '<ui-title-bar title="Ustawienia">' in polish.text
    other_session = client.get("/admin/settings", headers=bearer(sid="sid-of-a-colleague"))
    assert '<html lang="en"' in other_session.text
    with db.uow() as session:
        rows = session.scalars(select(AdminSession).where(AdminSession.shop_id == shop_id)).all()
    assert [row.data.get("lang") for row in rows] == ["pl"]


def test_a_settings_save_inside_shopify_is_confirmed_on_the_next_page(client, db, shop_id):
    saved = client.post("/admin/settings", data={"settings_section": "example", "greeting": "Hej",
                                                  "points_per_order": "3"}, headers=bearer())
    page = client.get(saved.headers["Location"], headers=bearer(jti="next"))

    assert saved.status_code == 302
    assert re.search(r'data-flash="success">Example: saved\.<', page.text)
    assert 'value="Hej"' in page.text


@pytest.mark.parametrize("token", [session_token(exp=1), "garbage", session_token(aud="someone-else")])
def test_an_invalid_token_on_an_admin_page_gets_401_and_app_bridges_retry_header(client, shop_id, token):
    response = client.get("/admin/orders", headers={"Authorization": f"Bearer {token}", **HTML})

    assert response.status_code == 401 and response.headers[RETRY_HEADER] == "1"
    assert "Orders" not in re.sub(r"<head>.*</head>", "", response.text, flags=re.DOTALL)


def test_a_token_for_a_shop_not_installed_signs_nothing_in(client, db, shop_id):
    response = client.get("/admin/orders", headers=bearer(shop=OTHER_SHOP))

    assert response.status_code == 401 and RETRY_HEADER not in response.headers
    assert response.headers["Content-Security-Policy"].endswith(
        f"frame-ancestors https://{OTHER_SHOP} https://admin.shopify.com")


def test_outside_shopify_the_admin_keeps_its_own_sign_in_and_layout(client, db):
    with db.uow() as session:
        shop = make_shop(session, name="Sklep Anny")
        session.commit()
    assert client.get(login_url(shop.id)).status_code == 302

    response = client.get("/admin/orders", headers=HTML)

    assert response.status_code == 200
    assert "app-bridge.js" not in response.text and "<ui-nav-menu>" not in response.text
    assert "data-embedded" not in response.text and 'class="topbar"' in response.text
    assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert client.get("/admin/orders", headers=bearer()).status_code == 401  # a token names no sandbox shop


def test_a_shopify_shop_signed_in_outside_shopify_loads_app_bridge_with_its_own_layout(client, shop_id):
    assert client.get(login_url(shop_id)).status_code == 302  # e.g. after the authorization-code grant

    response = client.get("/admin/orders", headers=HTML)

    assert APP_BRIDGE in response.text and 'class="topbar"' in response.text
    assert "data-embedded" not in response.text and "<ui-nav-menu>" not in response.text


def test_the_banner_of_a_shop_needing_authorisation_opens_shopify_in_the_whole_window(client, db, shop_id):
    with db.uow() as session:
        session.get(Shop, shop_id).needs_reauth = True
        session.commit()

    html = client.get("/admin/", headers=bearer()).text

    link = re.search(r'<a href="([^"]+)" data-action="reauth"([^>]*)>', html)
    assert link.group(1) == f"https://{SHOP}/admin/apps/{CLIENT_ID}"
    assert link.group(2) == ' target="_top"'  # Shopify's admin refuses to be shown inside our frame


def test_an_address_that_is_no_page_keeps_shopifys_nav_menu_inside_shopify(client, shop_id):
    response = client.get("/admin/orders/-1", headers=bearer())

    assert response.status_code == 404 and "data-embedded" in response.text
    assert '<a href="/admin/orders">Orders</a>' in response.text  # App Bridge keeps Shopify's sidebar
    assert "This page is not part of Storecare's admin." in unescape(response.text)
