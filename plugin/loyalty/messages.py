"""Messages of the loyalty package for shoppers and merchants: in the request's language, in English
where there is no request (a job, a command)."""
from __future__ import annotations

from flask import has_request_context
from flask_babel import gettext


def _(message: str, **params) -> str:
    """``message`` (a catalogue msgid) translated, filled with ``params``."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message
