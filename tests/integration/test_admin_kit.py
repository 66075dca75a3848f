"""A feature's admin page made with the admin kit (tests/example_feature/admin.py) gets the admin's sign-in,
CSRF, security headers, layout with navigation and error pages by construction; its settings section is
stored per shop, typed by its schema, and edited on the Settings page, where bad input is shown again
with a message at each field, in English and Polish."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from plugin.admin.auth import login_url
from plugin.admin.models import ShopSetting
from plugin.admin.shop_settings import read, section
from plugin.features import install_features
from tests.admin_support import nav_links, navigation, sign_in, text
from tests.factories import make_shop

BROWSER = {"Accept": "text/html,*/*;q=0.8"}
PAGE = "/admin/example/"


@pytest.fixture
def app(app):
    install_features(app, ("tests.example_feature",))
    return app


@pytest.fixture
def shops(db):
    with db.uow() as session:
        mine = make_shop(session, name="Ceramika Anny")
        theirs = make_shop(session, domain="theirs.sandbox.test", name="Theirs")
        shopify = make_shop(session, domain="anna.myshopify.com", platform="shopify", name="Anna on Shopify")
        session.commit()
        return {"mine": mine.id, "theirs": theirs.id, "shopify": shopify.id}








# -- the feature's page

def test_the_features_page_is_refused_when_signed_out(client):
    page = client.get(PAGE, headers=BROWSER)
    script = client.get(PAGE, headers={"Accept": "application/json"})
    post = client.post("/admin/example/greet", data={"csrf_token": "a-guess"}, headers=BROWSER)

    assert page.status_code == 401 and "Open Storecare from your store's admin" in text(page)
    assert script.status_code == 401 and "Greet" not in script.text
    assert post.status_code == 400 and "Hello" not in post.text  # no CSRF token: refused before the view


def test_the_features_post_is_refused_without_the_csrf_token(client, shops):
    token = sign_in(client, shops["mine"])

    missing = client.post("/admin/example/greet")
    wrong = client.post("/admin/example/greet", data={"csrf_token": "a-guess"}, headers=BROWSER)
    right = client.post("/admin/example/greet", data={"csrf_token": token})

    assert missing.status_code == 400 and "did not come from Storecare" in missing.json["detail"]
    assert wrong.status_code == 400 and wrong.mimetype == "text/html"
    assert "did not come from Storecare" in text(wrong) and "/admin/orders" in nav_links(wrong)
    assert right.status_code == 302 and right.headers["Location"] == PAGE
    assert "Hello, Ceramika Anny!" in text(client.get(PAGE))


def test_the_features_page_carries_the_admins_security_headers(client, shops):
    sign_in(client, shops["mine"])
    outside = client.get(PAGE)
    sign_in(client, shops["shopify"])
    in_shopify = client.get(PAGE)

    assert outside.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")
    assert "script-src 'self';" in outside.headers["Content-Security-Policy"]
    assert in_shopify.headers["Content-Security-Policy"].endswith(
        "frame-ancestors https://anna.myshopify.com https://admin.shopify.com")
    for response in (outside, in_shopify):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


def test_the_features_page_renders_in_the_layout_with_the_navigation(app, client, shops):
    sign_in(client, shops["mine"])

    response = client.get(PAGE)

    assert response.status_code == 200
    assert PAGE in nav_links(response) and nav_links(response) == navigation(app)
    assert re.findall(r'<a href="([^"]+)" class="sidebar__link is-active"', response.text) == [PAGE]
    assert "Ceramika Anny" in response.text and "Hello · 10 · off" in text(response)


def test_the_features_page_shows_the_admins_error_pages(client, shops):
    sign_in(client, shops["mine"])

    missing = client.get("/admin/example/items/5", headers=BROWSER)
    too_big = client.get("/admin/example/items/99999999999999999999", headers=BROWSER)
    api = client.get("/admin/example/items/5")
    polish = client.get("/admin/example/items/5?lang=pl", headers=BROWSER)

    assert missing.status_code == 404 and "We could not find that." in text(missing)
    assert PAGE in nav_links(missing)
    assert too_big.status_code == 404 and PAGE in nav_links(too_big)
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert polish.status_code == 404 and "Nie znaleziono" in text(polish)


# -- the settings section

def save(client, token, **fields):
    return client.post("/admin/settings", data={"csrf_token": token, "settings_section": "example", **fields},
                       headers=BROWSER)


def stored(db) -> list[tuple[int, dict]]:
    with db.uow() as session:
        return [(row.shop_id, row.values) for row in session.scalars(select(ShopSetting))]


def test_the_settings_page_shows_the_features_section_with_its_defaults(client, shops):
    sign_in(client, shops["mine"])

    html = client.get("/admin/settings").text

    assert 'id="settings-example"' in html and "Example" in html
    assert re.search(r'name="greeting" type="text" value="Hello"', html)
    assert re.search(r'name="points_per_order" type="text" value="10"', html)
    assert not re.search(r'name="enabled" type="checkbox" value="true" checked', html)


def test_saving_stores_typed_values_for_the_shop_only_and_a_second_save_updates_them(app, client, db, shops):
    token = sign_in(client, shops["mine"])

    first = save(client, token, greeting="Cześć", points_per_order="25", enabled="true")
    second = save(client, token, greeting="Dzień dobry", points_per_order=" 30 ")  # unticked: off

    assert first.status_code == 302 and first.headers["Location"] == "/admin/settings#settings-example"
    assert second.status_code == 302
    assert stored(db) == [(shops["mine"], {"greeting": "Dzień dobry", "points_per_order": 30, "enabled": False})]
    example = section(app, "example")
    with db.uow() as session:
        assert read(session, shops["mine"], example) == \
            {"greeting": "Dzień dobry", "points_per_order": 30, "enabled": False}
        assert read(session, shops["theirs"], example) == {"greeting": "Hello", "points_per_order": 10,
                                                           "enabled": False}
    page = client.get("/admin/settings")
    assert "Example: saved." in text(page) and 'value="Dzień dobry"' in page.text
    assert "Dzień dobry · 30 · off" in text(client.get(PAGE))


def test_a_sections_on_save_runs_in_the_saves_transaction_with_the_values_before_and_after(app, client, db, shops):
    from plugin.admin.shop_settings import save as save_values
    from tests.example_feature.settings import SAVED

    SAVED.clear()
    token = sign_in(client, shops["mine"])
    assert save(client, token, greeting="Cześć", points_per_order="25").status_code == 302
    assert SAVED == [(shops["mine"], "Hello", "Cześć")]
    example = section(app, "example")
    with db.uow() as session:
        with pytest.raises(RuntimeError):
            save_values(session, shops["mine"], example, {"greeting": "boom", "points_per_order": 1,
                                                          "enabled": True})
    with db.uow() as session:  # the hook failed: nothing was saved
        assert read(session, shops["mine"], example)["greeting"] == "Cześć"
    assert SAVED == [(shops["mine"], "Hello", "Cześć")]


def test_bad_input_is_shown_again_as_typed_with_a_message_at_each_field_and_nothing_is_saved(client, db, shops):
    token = sign_in(client, shops["mine"])

    response = save(client, token, greeting="", points_per_order="12abc", enabled="true")

    assert response.status_code == 422 and response.mimetype == "text/html"
    page = text(response)
    assert "Nothing was saved: check the fields marked below." in page
    assert "Use 1 to 40 characters." in page and "Enter a whole number." in page
    assert 'name="points_per_order" type="text" value="12abc"' in response.text
    assert re.search(r'name="enabled" type="checkbox" value="true" checked', response.text)
    assert re.search(r'id="setting-example-points_per_order"[^>]*aria-invalid="true"', response.text)
    assert "/admin/settings" in nav_links(response)
    assert stored(db) == []

    out_of_range = save(client, token, greeting="Hi", points_per_order="5000")
    assert out_of_range.status_code == 422 and "Enter a number from 0 to 1000." in text(out_of_range)
    assert stored(db) == []


def test_field_messages_are_in_polish_for_a_polish_admin(client, db, shops):
    token = sign_in(client, shops["mine"])
    client.post("/admin/language", data={"lang": "pl", "csrf_token": token})

    response = save(client, token, greeting="", points_per_order="dużo")
    missing = client.post("/admin/settings", data={"csrf_token": token, "settings_section": "example"},
                          headers=BROWSER)

    page = text(response)
    assert response.status_code == 422
    assert "Nic nie zapisano: popraw zaznaczone pola." in page
    assert "Użyj od 1 do 40 znaków." in page and "Wpisz liczbę całkowitą." in page
    assert 'value="dużo"' in response.text
    assert missing.status_code == 422 and "Wypełnij to pole." in text(missing)
    assert stored(db) == []


def test_an_unknown_section_is_not_found_and_saving_needs_the_csrf_token(client, db, shops):
    token = sign_in(client, shops["mine"])

    unknown = client.post("/admin/settings", data={"csrf_token": token, "settings_section": "nope"})
    forged = client.post("/admin/settings", data={"settings_section": "example", "greeting": "x",
                                                  "points_per_order": "1"})

    assert unknown.status_code == 404
    assert forged.status_code == 400
    assert stored(db) == []


def test_a_stored_value_the_schema_no_longer_accepts_gives_way_to_its_default(app, db, shops):
    with db.uow() as session:
        session.add(ShopSetting(shop_id=shops["mine"], section="example",
                                values={"greeting": "Witaj", "points_per_order": -3, "retired_field": "x"}))
        session.commit()
        values = read(session, shops["mine"], section(app, "example"))
        count = session.scalar(select(func.count()).select_from(ShopSetting))

    assert values == {"greeting": "Witaj", "points_per_order": 10, "enabled": False}
    assert count == 1
