"""Static files as browsers get them: compressed in the encoding they accept, versioned names cached for a
year (immutable), the others briefly; the admin's pages link the versioned names."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest

from plugin.admin.auth import login_url
from tests.factories import make_shop

STATIC = Path(__file__).resolve().parents[2] / "static"
YEAR = "public, max-age=31536000, immutable"


def fetch(client, url: str, **headers):
    """The response, its body read and the file WhiteNoise opened for it closed."""
    response = client.get(url, headers=headers)
    response.get_data()
    response.close()
    return response


def versioned(app, name: str) -> str:
    with app.test_request_context():
        from plugin.assets import asset_url

        return asset_url(name)


@pytest.mark.parametrize(("accept", "encoding", "decode"), [
    ("br, gzip, deflate", "br", brotli.decompress),
    ("gzip, deflate", "gzip", gzip.decompress),
    ("", None, bytes),
])
@pytest.mark.parametrize("name", ["loader.js", "widgets/orders.js", "widgets/orders.css", "admin/admin.css"])
def test_static_files_come_compressed_in_the_encoding_the_browser_accepts(client, name, accept, encoding, decode):
    response = fetch(client, f"/static/{name}", **{"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert decode(response.get_data()) == (STATIC / name).read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_unversioned_name_is_cached_briefly_and_revalidated_in_the_background(client):
    """The loader on a WooCommerce store is linked by its plain name: a new version reaches shoppers
    within minutes, and no page waits for the check."""
    response = fetch(client, "/static/loader.js")
    assert response.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    assert response.mimetype == "text/javascript"


@pytest.mark.parametrize("name", ["loader.js", "widgets/orders.js", "admin/admin.css", "storefront.css"])
def test_a_versioned_name_carries_the_files_hash_and_is_cached_for_a_year(app, client, name):
    url = versioned(app, name)
    stem, suffix = name.rsplit(".", 1)
    assert re.fullmatch(rf"/static/{re.escape(stem)}\.[0-9a-f]{{12}}\.{suffix}", url)
    response = fetch(client, url, **{"Accept-Encoding": "br"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == YEAR
    assert brotli.decompress(response.get_data()) == (STATIC / name).read_bytes()


def test_a_browser_holding_the_file_gets_304(client):
    first = fetch(client, "/static/widgets/orders.css")
    again = fetch(client, "/static/widgets/orders.css", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()


@pytest.mark.parametrize("path", ["/static/nothing.js", "/static/../plugin/settings.py",
                                  "/static/widgets/orders.000000000000.js"])
def test_what_is_not_a_static_file_is_not_found(client, path):
    assert fetch(client, path).status_code == 404


def test_the_admin_links_its_css_and_script_by_versioned_name(app, client, db):
    with db.uow() as session:
        shop = make_shop(session, domain="static.sandbox.test")
        session.commit()
    assert client.get(login_url(shop.id)).status_code == 302
    html = client.get("/admin/").get_data(as_text=True)
    for name in ("admin/admin.css", "admin/admin.js"):
        url = versioned(app, name)
        assert f'"{url}"' in html
        assert fetch(client, url).headers["Cache-Control"] == YEAR


def test_the_signed_out_page_and_the_demo_store_link_versioned_css_too(app, client, db):
    with db.uow() as session:
        make_shop(session, domain="demo-css.sandbox.test")
        session.commit()
    assert versioned(app, "admin/admin.css") in client.get("/admin/").get_data(as_text=True)
    assert versioned(app, "storefront.css") in client.get("/demo/store/demo-css.sandbox.test").get_data(as_text=True)
