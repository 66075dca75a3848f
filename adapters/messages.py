"""``N_``: marks a message that a person reads (a merchant, in our admin) for translation, without
translating it here. Adapters do not depend on the web app; the app translates the message where it
shows it (``gettext(message)``), since the English text is the catalogue's key. babel.cfg extracts
``N_`` from adapters/ and plugin/."""
from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext name
    return message
