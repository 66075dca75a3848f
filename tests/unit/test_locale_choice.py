"""Which language a request is answered in (plugin/i18n.py): an explicit choice first, then the shop's,
then the browser's."""
from __future__ import annotations

import pytest
from flask import Flask, session

from plugin.i18n import select_locale


@pytest.fixture()
def app():
    app = Flask(__name__)
    app.secret_key = "test"
    return app


@pytest.mark.parametrize(("query", "browser", "expected"), [
    ("locale=pl", "en-US", "pl"),       # the storefront widget's choice beats the browser's
    ("locale=pl-PL", "en", "pl"),       # Shopify's embedded admin passes a region too
    ("locale=EN", "pl", "en"),
    ("locale=pt-BR", "pl", "pl"),       # a language we do not speak: the browser's
    ("lang=en&locale=pl", "pl", "en"),  # the admin's language switch beats everything
    ("lang=de", "pl,en;q=0.5", "pl"),
    ("", "pl,en;q=0.5", "pl"),
    ("", "de", "en"),
])
def test_the_explicit_choice_then_the_browser(app, query, browser, expected):
    with app.test_request_context(f"/?{query}", headers={"Accept-Language": browser}):
        assert select_locale() == expected


def test_an_unsupported_lang_falls_back_to_the_sessions_choice(app):
    with app.test_request_context("/?lang=de&locale=xx", headers={"Accept-Language": "en"}):
        session["lang"] = "pl"
        assert select_locale() == "pl"


def test_the_merchants_choice_in_storecare_beats_the_language_shopify_passes(app):
    with app.test_request_context("/?locale=en-US", headers={"Accept-Language": "en"}):
        session["lang"] = "pl"
        assert select_locale() == "pl"
    with app.test_request_context("/?locale=en-US&lang=en"):
        session["lang"] = "pl"
        assert select_locale() == "en"
