"""Text that shoppers (or their platform) wrote, shown in the admin: escaped, isolated and kept in its box.

Names, emails, order numbers, notes and searches may hold bidi controls: a right-to-left override
(U+202E) left in a name reverses everything after it on the line, our words included. ``<bdi>``
(``unicode-bidi: isolate``) confines it to the shopper's own text; a customer's first and last names
are isolated one by one, so one cannot reorder the other. ``one_line`` is for table cells: the text
is cut with an ellipsis (admin.css ``.one-line``) and given whole in the ``title``. Where markup cannot
go (the page's ``<title>``), ``plain_text`` puts the Unicode isolates U+2068/U+2069 in its place.
"""
from __future__ import annotations

import re

from markupsafe import Markup

FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"
_BDI_START = re.compile(r"<bdi\b[^>]*>")


def shopper_text(value: object, *, one_line: bool = False) -> Markup:
    """``value`` escaped and isolated; empty markup for None or an empty string."""
    if value is None or value == "":
        return Markup("")
    if one_line:
        return Markup('<bdi class="one-line" title="{0}">{0}</bdi>').format(str(value))
    return Markup("<bdi>{0}</bdi>").format(str(value))


def person_name(customer, *, one_line: bool = False) -> Markup:
    """A customer's name, each part isolated (the email when there is no name); empty markup if neither."""
    parts = [part for part in (customer.first_name, customer.last_name) if part]
    if not parts:
        return shopper_text(customer.email, one_line=one_line)
    inner = Markup(" ").join(shopper_text(part) for part in parts)
    if one_line:
        return Markup('<bdi class="one-line" title="{0}">{1}</bdi>').format(" ".join(parts), inner)
    return Markup("<bdi>{0}</bdi>").format(inner)


def plain_text(html: object) -> str:
    """Markup as text for places that take no markup, isolates kept as U+2068 ... U+2069."""
    text = _BDI_START.sub(FIRST_STRONG_ISOLATE, str(html)).replace("</bdi>", POP_DIRECTIONAL_ISOLATE)
    return Markup(text).striptags()
