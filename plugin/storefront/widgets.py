"""Storefront widgets as a registry: a feature declares its widgets (``Feature.widgets``), each shop's
manifest lists those it has turned on, and ``static/loader.js`` draws and loads them from that manifest.

A widget is a script (and a stylesheet) in ``static/``, served under a versioned URL (plugin/assets.py).
Its script registers one function, ``window.StorecareWidgets[name] = function (root, launcher, cfg)``:

- ``root``: a shadow root of its own, where its stylesheet is already linked;
- ``launcher``: for ``mount="launcher"``, the button in the corner that opens it (the widget's panel
  has the id ``sc-<name>``, which the button's ``aria-controls`` names; a launcher in the bottom-left
  corner has ``style.left`` set, one in the bottom-right ``style.right``: its panel opens on that
  side); ``null`` for ``mount="inline"``,
  where ``root`` belongs to one of the page's ``<div data-storecare-widget="<name>">`` (a theme block or
  shortcode puts it there) and the widget draws itself in place;
- ``cfg``: what the loader learnt once for every widget: ``api`` (the storefront API's base), ``token``
  (the shopper token, WooCommerce and the demo), ``guest`` (true: the page says nobody is signed in),
  ``locale`` ("en" or "pl"), ``login`` (the store's sign-in page).

A launcher widget returns ``{toggle: function}``, which the button calls on every later click. The
loader loads a launcher widget on its button's first click and an inline one when its place comes into
view; whatever the number of widgets, it stays one small file (bench/widgets.py measures both).

The manifest (``GET /storefront/api/v1/manifest?shop=<domain>&locale=pl``, and through Shopify's app
proxy ``/apps/storecare/api/v1/manifest``) is public and cached briefly::

    {"widgets": [{"name": "orders", "mount": "launcher", "label": "Your orders", "icon": "M5 8h14...",
                  "script": "/static/widgets/orders.3f9a1c2b7d10.js",
                  "style": "/static/widgets/orders.0c1d2e3f4a5b.css"},
                 {"name": "loyalty", "mount": "launcher", ..., "side": "left"}]}

A launcher whose widget declares a ``side`` (the shop's choice, e.g. a setting) has it in its entry,
``"right"`` or ``"left"``; the loader draws each launcher in the bottom corner of its side (right
without one), beside the launchers already there.

``script`` and ``style`` are root-relative on the direct API (the manifest comes from our origin) and
absolute through the proxy (the browser is on the shop's origin; the files come from ours).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.assets import ASSETS_KEY

WIDGETS_KEY = "storecare.widgets"
MOUNTS = ("launcher", "inline")
DEFAULT_BUDGET = 8 * 1024  # gzipped bytes of a widget's script and style together
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


@dataclass(frozen=True)
class Widget:
    """What a feature declares about one storefront widget (see the module's docstring)."""

    name: str  # unique in the app: [a-z][a-z0-9-]*, also its key in window.StorecareWidgets
    script: str  # a file of static/, e.g. "widgets/orders.js"
    style: str | None = None  # its stylesheet in static/, linked in the widget's shadow root
    mount: str = "launcher"  # "launcher": a button in the corner opens it; "inline": drawn in the page
    label: Any = ""  # (lazy_gettext) the launcher's accessible name and tooltip, in the shopper's language
    icon: str = ""  # the launcher's icon: SVG path data on a 24x24 grid, drawn with a stroke
    enabled: str | None = None  # "module:function" (session, shop) -> bool; None: on in every shop
    side: str | None = None  # a launcher's "module:function" (session, shop) -> "right" | "left"; None: right
    budget: int = DEFAULT_BUDGET  # its script and style, gzipped, at most this many bytes (bench)


class WidgetError(ValueError):
    """A widget declaration that cannot work; the message names the widget."""


@dataclass(frozen=True)
class Registered:
    feature: str
    widget: Widget
    enabled: Callable[[Session, Any], bool] | None
    side: Callable[[Session, Any], str] | None = None


def register_widget(app: Flask, feature: str, widget: Widget, enabled=None, side=None) -> None:
    """Add ``widget`` (declared by ``feature``; ``enabled`` its loaded predicate, ``side`` its loaded
    launcher side) to the app's registry."""
    registry: dict[str, Registered] = app.extensions.setdefault(WIDGETS_KEY, {})
    if not _NAME.match(widget.name):
        raise WidgetError(f"widget name {widget.name!r} must match {_NAME.pattern}")
    if widget.name in registry:
        raise WidgetError(f"widget {widget.name!r} is declared by {registry[widget.name].feature!r} already")
    if widget.mount not in MOUNTS:
        raise WidgetError(f"widget {widget.name!r}: mount must be one of {', '.join(MOUNTS)}")
    if side is not None and widget.mount != "launcher":
        raise WidgetError(f"widget {widget.name!r}: only a launcher has a side")
    # a lazy label is translated per request, so only a plain one can be checked here
    unlabelled = widget.label is None or (isinstance(widget.label, str) and not widget.label.strip())
    if widget.mount == "launcher" and unlabelled:
        raise WidgetError(f"widget {widget.name!r}: a launcher needs a label")
    static = Path(app.static_folder or "")
    for part in filter(None, (widget.script, widget.style)):
        if not (static / part).is_file():
            raise WidgetError(f"widget {widget.name!r}: no file static/{part}")
    registry[widget.name] = Registered(feature, widget, enabled, side)


def registered(app: Flask | None = None) -> list[Registered]:
    """Every registered widget, in the order the features declared them."""
    return list((app or current_app).extensions.get(WIDGETS_KEY, {}).values())


class ShopNotServed(LookupError):
    """No installed shop goes by that name (or id): it has no widgets."""


def shop_manifest(*, domain: str | None = None, shop_id: int | None = None, locale: str | None = None,
                  base: str = "") -> dict:
    """The manifest of the installed shop named by ``domain`` (what its storefront calls itself) or by
    ``shop_id`` (a verified proxy signature), in ``locale`` (default: the shop's language)."""
    from plugin.i18n import shop_language
    from plugin.shops.models import Shop

    with current_app.extensions["storecare.db"].uow() as session:
        shop = shop_by_domain(session, domain) if domain is not None else session.get(Shop, shop_id)
        if shop is None or shop.status != "installed":
            raise ShopNotServed("No installed shop goes by that name.")
        if locale is None:
            locale = shop_language(shop)
        return manifest(session, shop, locale, base)


def manifest(session: Session, shop, locale: str, base: str = "") -> dict:
    """The widgets ``shop`` shows, labelled in ``locale``; files under ``base`` + their versioned path."""
    assets = current_app.extensions[ASSETS_KEY]

    def url(name: str | None) -> str | None:
        return base + url_for("static", filename=assets.versioned_name(name)) if name else None

    def entry(r: Registered) -> dict:
        w = r.widget
        found = {"name": w.name, "mount": w.mount, "label": str(w.label), "icon": w.icon,
                 "script": url(w.script), "style": url(w.style)}
        if r.side is not None:
            found["side"] = r.side(session, shop)
        return found

    with force_locale(locale):
        return {"widgets": [entry(r) for r in registered() if r.enabled is None or r.enabled(session, shop)]}


def shop_by_domain(session: Session, domain: str):
    """The installed shop a storefront names itself by (a WooCommerce store may use its bare host)."""
    from plugin.shops.models import Shop
    from plugin.shops.woocommerce_identity import signing_candidates

    shop = session.scalars(select(Shop).where(Shop.domain == domain, Shop.status == "installed")
                           .order_by(Shop.id).limit(1)).first()
    if shop is None:
        shop = next(iter(signing_candidates(session, domain)), None)
    return shop
