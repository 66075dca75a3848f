"""Signing out in a real browser: the header's button ends the session, the signed-out page says so and
how to get back in, and neither the back button nor the sign-in link used before opens the admin again."""
from __future__ import annotations

import pytest

from plugin.admin.auth import login_url
from tests.factories import make_shop

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'storecare.db'}"  # what a person sees: SQLite only


@pytest.fixture
def shop_id(db):
    with db.uow() as session:
        shop = make_shop(session, name="Ceramika Anny")
        session.commit()
        return shop.id


def test_the_merchant_signs_out_and_cannot_come_back_by_history_or_the_old_link(live_server, page, shop_id):
    link = live_server + login_url(shop_id)
    page.goto(link)
    assert page.locator("h1").inner_text() == "Overview"

    page.locator("header").get_by_role("button", name="Sign out").click()

    assert page.url == live_server + "/admin/signed-out"
    assert page.get_by_role("status").inner_text() == "You have signed out of Storecare."
    assert page.get_by_text("in Shopify open Apps → Storecare").is_visible()
    page.go_back()
    page.reload()  # the admin pages are no-store: the browser asks the server, which refuses
    assert page.locator("h1").inner_text() == "Open Storecare from your store's admin"
    page.goto(link)
    assert page.get_by_text("This sign-in link was already used.").is_visible()
    page.goto(live_server + "/admin/orders")
    assert page.locator("h1").inner_text() == "Open Storecare from your store's admin"
