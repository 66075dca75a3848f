"""The Storecare mark as the browser tab's icon: /favicon.ico answers an icon (it answered a JSON 404), and
the admin, the connect page, the signed-out page and the demo store link it and its SVG."""
from __future__ import annotations

import re
import struct

import pytest

from plugin.admin.auth import login_url
from tests.factories import make_shop

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"')


def test_favicon_ico_is_an_icon_browsers_keep_for_a_week(client):
    with client.get("/favicon.ico") as response:  # a file: closed when read
        data = response.data
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, 3)  # an icon file with three sizes
    sizes = [data[6 + 16 * i] for i in range(count)]
    assert sizes == [16, 32, 48]
    assert "max-age=604800" in response.headers["Cache-Control"]
    with client.head("/favicon.ico") as head:
        assert head.status_code == 200


@pytest.fixture
def shop_id(db):
    with db.uow() as session:
        shop_id = make_shop(session, name="Kawa & Co.").id
        session.commit()
        return shop_id


def test_every_kind_of_page_links_the_icon_and_each_link_answers_an_image(app, db, client, shop_id):
    pages = {"signed out": client.get("/admin/").text, "connect": client.get("/connect/woocommerce").text}
    assert client.get(login_url(shop_id)).status_code == 302
    pages["admin"] = client.get("/admin/jobs").text
    pages["demo store"] = client.get("/demo/store/demo.sandbox.test").text

    for name, html in pages.items():
        links = ICON_LINK.findall(html)
        assert len(links) == 2, name
        for link in links:
            with client.get(link) as icon:
                assert icon.status_code == 200, link
                assert icon.mimetype in ("image/vnd.microsoft.icon", "image/svg+xml"), link
