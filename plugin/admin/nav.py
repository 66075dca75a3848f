"""The admin navigation: plain data that feature packages add to while ``create_app`` runs.

A feature registers its page once per app, for example from its blueprint's ``record_once``::

    register_nav(app, NavItem("loyalty.program", lazy_gettext("Loyalty"), icon="star", order=30))

The list lives in ``app.extensions`` (one per app, so several apps in one process do not share it);
the layout reads it with ``nav_items(app)``. ``label`` is a ``lazy_gettext`` string so that it is
translated when the page is rendered, in the viewer's language.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

NAV_KEY = "storecare.admin_nav"


class NavError(Exception):
    pass


@dataclass(frozen=True)
class NavItem:
    endpoint: str  # a Flask endpoint taking no arguments, e.g. "admin.orders"
    label: object  # a str or a flask_babel LazyString
    icon: str = "dot"  # a name from templates/admin/_icons.html
    order: int = 100  # lower comes first
    # the pages the item stands for, by path prefix (None: its own page and those under it), e.g.
    # "/admin/loyalty" for an item opening /admin/loyalty/members: its rewards and tiers pages are its too
    section: str | None = None


def register_nav(app: Flask, item: NavItem) -> None:
    items: list[NavItem] = app.extensions.setdefault(NAV_KEY, [])
    if any(existing.endpoint == item.endpoint for existing in items):
        raise NavError(f"navigation item for {item.endpoint!r} is registered twice")
    items.append(item)


def nav_items(app: Flask) -> list[NavItem]:
    return sorted(app.extensions.get(NAV_KEY, []), key=lambda item: (item.order, item.endpoint))
