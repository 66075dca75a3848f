"""CSRF protection for the admin's forms: a random token per session, sent back in a hidden field.

The admin runs embedded in other sites' pages later (SameSite=None cookies), so every unsafe request
must prove it came from a page we rendered: ``csrf_token()`` in the form, ``check_csrf()`` before
the view. JavaScript callers send the token in the ``X-CSRF-Token`` header instead. Requests signed in
by a Shopify ID token are checked by that token instead (``plugin.admin.kit``).
"""
from __future__ import annotations

import hmac
import secrets

from flask import request, session
from flask_babel import gettext

from plugin.admin.embedded import is_embedded
from plugin.problems import Problem

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SESSION_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """This session's token for a form. A page inside Shopify needs none: each of its requests is signed
    in by an ID token, which the browser never sends on its own (``plugin.admin.embedded``)."""
    if is_embedded():
        return ""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    given = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(
            expected.encode("utf-8"), given.encode("utf-8")):
        raise Problem(400, "Bad Request",
                      gettext("This form has expired or did not come from Storecare. "
                              "Reload the page and try again."))
