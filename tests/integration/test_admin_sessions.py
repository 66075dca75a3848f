"""Admin sessions end, on SQLite and PostgreSQL: sign-out, a new sign-in in the same browser, idle time,
the absolute cap, re-installs and uninstalls; sign-in links (ours and the WordPress plugin's) work once,
also when two browsers use one link at the same moment. A "stolen" cookie is another test client
given the same cookie value."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import event, func, select, update

from plugin.admin.auth import login_url
from plugin.admin.models import AdminSession, SpentSignInLink
from plugin.admin.sessions import ABSOLUTE_LIFETIME, IDLE_LIFETIME
from plugin.db import utcnow
from plugin.security import sign_wordpress_sign_in
from plugin.shops.models import Shop
from plugin.shops.service import install_sandbox_shop, mark_uninstalled, store_credentials
from tests import sandbox_support
from tests.factories import make_shop

HTML = {"Accept": "text/html"}
SIGNED_OUT = "Open Storecare from your store's admin"
WP_SECRET = "a1b2c3d4" * 8


@pytest.fixture
def shop(db):
    with db.uow() as session:
        shop = make_shop(session, name="Anna's Ceramics")
        session.commit()
        return shop


def sign_in(client, shop_id: int):
    response = client.get(login_url(shop_id))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/", response.text
    return response


def csrf(client) -> str:
    with client.session_transaction() as browser:
        browser["csrf"] = "test-csrf-token"
    return "test-csrf-token"


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def browser_with(app, cookie: str):
    """Another browser holding a copy of ``cookie``."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def admin_page(client):
    return client.get("/admin/", headers=HTML)


def sessions_of(db, shop_id: int) -> list[AdminSession]:
    with db.uow() as session:
        return list(session.scalars(select(AdminSession).where(AdminSession.shop_id == shop_id)))


def age_sessions(db, shop_id: int, **columns) -> None:
    """Move the shop's sessions back in time, as if the merchant had been away."""
    with db.uow() as session:
        session.execute(update(AdminSession).where(AdminSession.shop_id == shop_id).values(**columns))
        session.commit()


# -- sign-out ---------------------------------------------------------------------------------------

def test_sign_out_ends_the_session_everywhere_its_cookie_went(app, client, db, shop):
    sign_in(client, shop.id)
    token = csrf(client)
    stolen = browser_with(app, cookie_of(client))
    assert admin_page(stolen).status_code == 200  # a copied cookie is the session, until it ends

    response = client.post("/admin/sign-out", data={"csrf_token": token})

    assert response.status_code == 302 and response.headers["Location"] == "/admin/signed-out"
    page = client.get("/admin/signed-out", headers=HTML)
    assert page.status_code == 200
    assert "You have signed out of Storecare." in page.text
    assert "in Shopify open Apps → Storecare" in unescape(page.text)  # how to get back in
    assert sessions_of(db, shop.id) == []
    assert admin_page(client).status_code == 401
    ended = admin_page(stolen)
    assert ended.status_code == 401 and SIGNED_OUT in unescape(ended.text)
    assert "Your Storecare session has ended." in ended.text


def test_sign_out_is_a_form_of_the_admin_header_with_the_csrf_token(client, db, shop):
    sign_in(client, shop.id)
    page = admin_page(client).text
    header = page[page.index('<header class="topbar"'):page.index("</header>")]
    assert 'action="/admin/sign-out"' in header and 'name="csrf_token"' in header and "Sign out" in header

    refused = client.post("/admin/sign-out")  # no token: a page elsewhere cannot sign the merchant out

    assert refused.status_code == 400
    assert admin_page(client).status_code == 200 and len(sessions_of(db, shop.id)) == 1


def test_sign_out_speaks_polish_to_a_merchant_who_chose_polish(client, shop):
    sign_in(client, shop.id)
    token = csrf(client)
    client.post("/admin/language", data={"lang": "pl", "csrf_token": token})

    client.post("/admin/sign-out", data={"csrf_token": token})

    page = client.get("/admin/signed-out", headers=HTML)
    assert "Wylogowano ze Storecare." in page.text


def test_sign_out_speaks_the_shops_language_when_the_merchant_chose_none(client, db):
    """The admin of a Polish shop is in Polish without a choice; its signed-out page must be too, though
    the browser asks for English and the session no longer names the shop."""
    with db.uow() as session:
        polish = make_shop(session, name="Kawa & Co.", locale="pl")
        session.commit()
    sign_in(client, polish.id)
    token = csrf(client)

    client.post("/admin/sign-out", data={"csrf_token": token}, headers={"Accept-Language": "en"})

    page = client.get("/admin/signed-out", headers={**HTML, "Accept-Language": "en"})
    assert "Wylogowano ze Storecare." in page.text


# -- a new sign-in, idle time, the absolute cap ------------------------------------------------------

def test_a_new_sign_in_ends_the_session_the_browser_carried_before(app, client, db, shop):
    sign_in(client, shop.id)
    before = browser_with(app, cookie_of(client))

    sign_in(client, shop.id)

    assert admin_page(client).status_code == 200
    assert admin_page(before).status_code == 401
    assert len(sessions_of(db, shop.id)) == 1


def test_a_session_ends_after_its_idle_lifetime(client, db, shop):
    sign_in(client, shop.id)
    age_sessions(db, shop.id, last_seen_at=utcnow() - IDLE_LIFETIME + timedelta(minutes=1))
    assert admin_page(client).status_code == 200  # 29 minutes away: still signed in

    age_sessions(db, shop.id, last_seen_at=utcnow() - IDLE_LIFETIME - timedelta(seconds=1))
    response = admin_page(client)

    assert response.status_code == 401 and SIGNED_OUT in unescape(response.text)
    assert "Your Storecare session ended after 30 minutes without activity." in response.text
    with client.session_transaction() as browser:
        assert "shop_id" not in browser and "admin_session" not in browser


def test_a_session_ends_at_its_absolute_cap_however_active(client, db, shop):
    sign_in(client, shop.id)
    [row] = sessions_of(db, shop.id)
    assert row.expires_at - row.created_at == ABSOLUTE_LIFETIME == timedelta(hours=12)

    age_sessions(db, shop.id, expires_at=utcnow() - timedelta(seconds=1))  # seen a moment ago, but 12 h old

    response = admin_page(client)
    assert response.status_code == 401 and "Your Storecare session has ended." in response.text


def test_page_views_record_the_last_one_at_most_once_a_minute(app, client, db, shop):
    sign_in(client, shop.id)
    writes: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for path in ("/admin/", "/admin/orders", "/admin/customers"):
            assert client.get(path, headers=HTML).status_code == 200
        assert writes == []  # seconds after signing in: page views only read

        a_while_ago = utcnow() - timedelta(minutes=2)
        age_sessions(db, shop.id, last_seen_at=a_while_ago)
        writes.clear()
        assert admin_page(client).status_code == 200
        assert admin_page(client).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(writes) == 1 and "admin_sessions" in writes[0]
    [row] = sessions_of(db, shop.id)
    assert row.last_seen_at > a_while_ago + timedelta(minutes=1)


def test_a_cookie_is_not_accepted_longer_than_the_sessions_absolute_cap(app):
    assert app.permanent_session_lifetime == ABSOLUTE_LIFETIME


# -- every (re)install and uninstall ends the shop's sessions ------------------------------------------

def test_reinstalling_a_sandbox_shop_ends_its_sessions(app, client, db, settings):
    installed = sandbox_support.install(app, db, customers=2, orders=2, address=settings.app_url)
    sign_in(client, installed.shop_id)

    with db.uow() as session:
        install_sandbox_shop(session, installed.domain, name="Again", webhook_address=settings.app_url)
        session.commit()

    assert admin_page(client).status_code == 401 and sessions_of(db, installed.shop_id) == []


def test_an_uninstall_ends_the_shops_sessions_and_no_other(app, client, db, shop):
    with db.uow() as session:
        other = make_shop(session, domain="other.sandbox.test").id
        session.commit()
    sign_in(client, shop.id)
    neighbour = app.test_client()
    sign_in(neighbour, other)

    with db.uow() as session:
        mark_uninstalled(session, session.get(Shop, shop.id))
        session.commit()

    assert sessions_of(db, shop.id) == [] and admin_page(client).status_code == 401
    assert admin_page(neighbour).status_code == 200


# -- single-use login links ----------------------------------------------------------------------------

def test_a_login_link_signs_in_once(app, client, db, shop):
    link = login_url(shop.id)
    assert client.get(link).status_code == 302
    elsewhere = app.test_client()

    replay = elsewhere.get(link, headers=HTML)

    assert replay.status_code == 401 and SIGNED_OUT in unescape(replay.text)
    assert "This sign-in link was already used." in replay.text
    assert admin_page(elsewhere).status_code == 401
    assert len(sessions_of(db, shop.id)) == 1


def test_the_browser_that_used_a_link_may_load_it_again(client, db, shop):
    link = login_url(shop.id)
    client.get(link)

    again = client.get(link)  # a reload, or the back button

    assert again.status_code == 302 and again.headers["Location"] == "/admin/"
    assert admin_page(client).status_code == 200 and len(sessions_of(db, shop.id)) == 1


def test_a_used_link_replayed_in_a_browser_signed_in_elsewhere_signs_that_browser_out(app, client, db, shop):
    with db.uow() as session:
        other = make_shop(session, domain="other.sandbox.test").id
        session.commit()
    link = login_url(shop.id)
    client.get(link)
    attacker = app.test_client()
    sign_in(attacker, other)

    assert attacker.get(link, headers=HTML).status_code == 401
    assert admin_page(attacker).status_code == 401 and sessions_of(db, other) == []


def test_spent_links_are_cleared_once_they_would_have_expired_anyway(client, db, shop):
    client.get(login_url(shop.id))
    with db.uow() as session:
        session.execute(update(SpentSignInLink).values(expires_at=utcnow() - timedelta(minutes=6)))
        session.commit()

    client.get(login_url(shop.id))

    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(SpentSignInLink)) == 1  # the new one only


def test_two_browsers_using_one_link_at_the_same_moment_sign_in_exactly_once(app, db, shop):
    link = login_url(shop.id)
    browsers = [app.test_client() for _ in range(6)]
    start = threading.Barrier(len(browsers))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def use(browser):
        try:
            start.wait(10)
            statuses.append(browser.get(link, headers=HTML).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted(statuses) == [302] + [401] * 5
    assert sum(admin_page(browser).status_code == 200 for browser in browsers) == 1
    assert len(sessions_of(db, shop.id)) == 1
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(SpentSignInLink)) == 1


# -- the WordPress plugin's "Open Storecare" link --------------------------------------------------------

@pytest.fixture
def woo_shop(db):
    with db.uow() as session:
        shop = make_shop(session, "shop.woo.test", "woocommerce")
        store_credentials(shop, {"storefront_secret": WP_SECRET, "webhook_secret": "w" * 32})
        session.commit()
        return shop.id


def wordpress_link(ts: int | None = None) -> str:
    ts = int(time.time()) if ts is None else ts
    return (f"/admin/auth/woocommerce?shop=shop.woo.test&ts={ts}"
            f"&sig={sign_wordpress_sign_in(WP_SECRET, 'shop.woo.test', str(ts))}")


def test_an_open_storecare_link_signs_in_once(app, client, db, woo_shop):
    link = wordpress_link()
    assert client.get(link).status_code == 302
    elsewhere = app.test_client()

    replay = elsewhere.get(link, headers=HTML)

    assert replay.status_code == 401
    assert "This sign-in link was already used. Click Open Storecare in WordPress again." in replay.text
    assert admin_page(elsewhere).status_code == 401 and len(sessions_of(db, woo_shop)) == 1
    again = client.get(link)  # the browser that used it stays signed in
    assert again.status_code == 302 and admin_page(client).status_code == 200


def test_an_open_storecare_link_cannot_be_respelled_to_be_used_again(app, client, woo_shop):
    ts = int(time.time())
    link = wordpress_link(ts)
    client.get(link)
    signature = link.rsplit("sig=", 1)[1]

    for variant in (link.replace(signature, signature.upper()), link.replace(f"ts={ts}", f"ts=0{ts}")):
        response = app.test_client().get(variant, headers={"Accept": "application/json"})
        assert response.status_code == 401, variant


def test_each_click_in_wordpress_makes_a_new_link_that_works(app, client, db, woo_shop):
    now = int(time.time())
    assert client.get(wordpress_link(now - 1)).status_code == 302
    assert app.test_client().get(wordpress_link(now)).status_code == 302
    assert len(sessions_of(db, woo_shop)) == 2
