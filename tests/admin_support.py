"""Helpers for tests of admin pages: sign a browser in, read a page as text, and its navigation."""
from __future__ import annotations

import re
from html import unescape

from flask import url_for

from plugin.admin.auth import login_url
from plugin.admin.nav import nav_items

CSRF = "test-csrf-token"


def sign_in(client, shop_id: int) -> str:
    """Sign ``client`` in to ``shop_id``'s admin with a login link; returns the CSRF token to send."""
    assert client.get(login_url(shop_id)).status_code == 302
    with client.session_transaction() as sess:
        sess["csrf"] = CSRF
    return CSRF


def text(response) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", response.text))


def nav_links(response) -> list[str]:
    return re.findall(r'<a href="([^"]+)" class="sidebar__link', response.text)


def navigation(app) -> list[str]:
    """Every page the installed features put in the admin's navigation, in its order."""
    with app.test_request_context():
        return [url_for(item.endpoint) for item in nav_items(app)]
