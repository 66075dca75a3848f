"""Locale choice: the user's explicit choice (the admin's ``lang``, then a widget's or Shopify's ``locale``),
then the shop's locale, then the browser's languages."""
from __future__ import annotations

from flask import g, has_request_context, request, session

SUPPORTED = ("en", "pl")


def shop_language(shop) -> str:
    """The shop's language if we speak it, else English: what its shoppers read when nobody chose."""
    language = (shop.locale or "")[:2]
    return language if language in SUPPORTED else "en"


def select_locale() -> str:
    if not has_request_context():  # a job or a command: English, unless it chose with force_locale
        return "en"
    # ``lang``: the admin's language switch, kept in the session; ``locale``: the language a storefront
    # widget asks for, or the one Shopify passes to the embedded admin (its user's, e.g. ``pl`` or
    # ``pt-BR``), which a merchant's own choice in Storecare beats
    asked = (request.args.get("lang"), session.get("lang"), (request.args.get("locale") or "")[:2].lower())
    for chosen in asked:
        if chosen in SUPPORTED:
            return chosen
    shop = g.get("shop")
    if shop is not None and (shop.locale or "")[:2] in SUPPORTED:
        return shop.locale[:2]
    return request.accept_languages.best_match(SUPPORTED) or "en"
