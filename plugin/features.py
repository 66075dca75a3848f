"""Features: each package of ``plugin/`` declares itself once, and ``create_app`` walks the list.

A feature is plain data (``Feature``) in its package's ``feature.py``, naming what it brings by import
path (``"plugin.sync.views:bp"``), so that declaring a feature imports nothing and nothing happens at
import time; ``install_features`` imports and registers each part while the app is built. The core
never names a feature's blueprint, job, command or navigation item: adding ``plugin/loyalty/`` means
writing ``plugin/loyalty/feature.py`` and adding ``"plugin.loyalty"`` to ``FEATURES``.

What a feature may declare:

- ``blueprints``: Flask blueprints (``"module:attr"``), registered in the order given;
- ``nav``: admin navigation items (``NavItem``: an endpoint, a lazily translated label, an icon);
- ``jobs``: queue jobs (``Job``: a name, the function, its attempts, the label the merchant reads)
  and ``schedules`` (``Schedule``: a function the worker runs every N minutes, which should only
  enqueue jobs);
- ``events``: the names of the domain events it records (another feature may subscribe to them);
- ``subscribers``: ``Subscriber`` (a unique name, an event name or a tuple of them, the handler): the
  handler gets each event of a shop in the shop's order, in a transaction that also advances the
  subscriber's progress (a run of waiting events shares one; if it fails, they are handled again one
  per transaction), and never commits (plugin/sync/dispatch.py); with ``batch=True`` it is given such
  a run as a list, to read and write for all of them at once. Events one
  subscriber handles keep their relative order; two subscribers are independent (one failing never
  holds up or rolls back the other), so put events whose order matters to you in one subscriber;
- ``messages``: the kinds of message to shoppers it writes to the outbox (``MessageKind``: a name, a
  lazily translated label; plugin/outbox/kinds.py);
- ``commands``: click commands or groups added to ``flask``;
- ``settings``: a section of the admin's Settings page (``SettingsSection``): values kept per shop,
  validated by the section's marshmallow schema, edited in the section's form template
  (``plugin.admin.shop_settings``), and optionally a function called when the values are saved (``on_save``);
- ``storefront``: storefront endpoints (``"module:attr"`` naming a ``StorefrontRoutes``, see
  ``plugin/storefront/routes.py``), each mounted under the direct API (``/storefront/api/v1``) and
  Shopify's app proxy (``/proxy/api/v1``) at once;
- ``rate_limits``: ``RateLimit`` (an endpoint, a group of ``plugin/rate_limits.py``): the endpoint is
  limited per client address by that group's setting (storefront endpoints are limited already);
- ``widgets``: storefront widgets (``Widget``: a name, its script and style in static/, a launcher or
  inline mount, a lazily translated label, an icon, an optional per-shop ``enabled`` predicate, a
  launcher's optional per-shop ``side`` (bottom right or left) and a size budget); the shop's
  manifest lists them and static/loader.js loads each on demand
  (plugin/storefront/widgets.py);
- ``platform_needs``: a function (``"module:function"``) taking ``(session, shop)`` and returning the
  capabilities (``adapters.base.Capability``) the feature needs from the shop's platform now, e.g.
  store credit while a store-credit reward is offered. The admin asks the merchant to grant the access
  they need (plugin/shops/permissions.py: a banner, ``missing_scopes``);
- ``init_app``: a function taking the app, for anything else (hooks, extensions).

A feature's admin pages are a blueprint made by ``plugin.admin.kit.admin_blueprint`` (listed in
``blueprints``, its pages in ``nav``): sign-in, CSRF, security headers, layout and error pages come
with it.

The order of ``FEATURES`` is the order of registration; a feature may subscribe to events of a feature
before or after it (subscriptions are checked once every feature is installed).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import Flask

from plugin.admin.nav import NavItem, register_nav
from plugin.outbox.kinds import MessageKind, MessageKindError, register_message_kind
from plugin.rate_limits import RateLimit, limit_endpoint
from plugin.storefront.widgets import Widget, register_widget

# The app's features, in the order they are installed.
FEATURES: tuple[str, ...] = ("plugin.shops", "plugin.privacy", "plugin.sync", "plugin.storefront", "plugin.admin",
                             "plugin.outbox", "plugin.api", "plugin.loyalty")
FEATURES_KEY = "storecare.features"


class FeatureError(Exception):
    """A feature's declaration cannot be installed; the message names the feature and the part."""


@dataclass(frozen=True)
class Job:
    name: str  # unique in the app, e.g. "sync.backfill"
    func: str  # "module:function" taking the job's keyword arguments (ids)
    max_attempts: int | None = None  # None: the app's default (STORECARE_JOB_MAX_ATTEMPTS)
    # What the merchant reads for it in the admin (Jobs, Connection), a lazy_gettext string:
    # lazy_gettext("Import of orders and customers"). Every job of the app has one (a test checks).
    label: object = None


@dataclass(frozen=True)
class Schedule:
    name: str  # unique in the app, e.g. "storecare.reconcile"
    minutes: int  # every N minutes, on the clock (a divisor of 60)
    func: str  # "module:function" without arguments, run in an app context; it should only enqueue


@dataclass(frozen=True)
class Subscriber:
    name: str  # unique in the app, e.g. "loyalty.award_points": its progress is kept under this name
    event: str | tuple[str, ...]  # a declared event name, or several handled in their shop's order
    handler: str  # "module:function" taking (session, event); writes in that session, never commits
    batch: bool = False  # True: the handler takes (session, events), the shop's next events in order


@dataclass(frozen=True)
class SettingsSection:
    name: str  # unique in the app, e.g. "loyalty": the key of the shop's stored values
    label: object  # the section's heading on the Settings page (a lazy_gettext string)
    schema: str  # "module:Schema" (a plugin.admin.shop_settings.SettingsSchema): checks writes and reads
    template: str  # Jinja template of the form's fields, e.g. "loyalty/settings.html"
    defaults: Mapping = field(default_factory=dict, hash=False)  # values (as the schema loads them)
    # "module:function" called as on_save(session, shop_id, before, after) when the shop's values are
    # saved, inside the save's transaction (before and after typed; before: what was in force). It writes
    # in that session and never commits; if it raises, nothing is saved. E.g. loyalty starts its import
    # when the program is turned on.
    on_save: str | None = None


@dataclass(frozen=True)
class Feature:
    name: str
    blueprints: tuple[str, ...] = ()
    nav: tuple[NavItem, ...] = ()
    jobs: tuple[Job, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    events: tuple[str, ...] = ()
    subscribers: tuple[Subscriber, ...] = ()
    messages: tuple[MessageKind, ...] = ()
    commands: tuple[str, ...] = ()
    settings: SettingsSection | None = None
    storefront: tuple[str, ...] = ()
    rate_limits: tuple[RateLimit, ...] = ()
    widgets: tuple[Widget, ...] = ()
    platform_needs: str | None = None
    init_app: str | None = None


@dataclass
class Installed:
    """What ``install_features`` installed, for the app's own use (and tests): features by name."""

    features: dict[str, Feature] = field(default_factory=dict)

    def job(self, name: str) -> Job | None:
        """The declaration of the job named ``name``, if an installed feature declares it."""
        return next((job for feature in self.features.values() for job in feature.jobs if job.name == name), None)


def load(path: str):
    """The object at ``"module:attr"`` (``"module:a.b"`` for an attribute of an attribute)."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise FeatureError(f"{path!r} is not a 'module:attribute' path")
    target = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


def feature_of(package: str) -> Feature:
    """The ``FEATURE`` declared in ``<package>.feature``."""
    declared = getattr(importlib.import_module(f"{package}.feature"), "FEATURE", None)
    if not isinstance(declared, Feature):
        raise FeatureError(f"{package}.feature does not declare FEATURE = Feature(...)")
    return declared


def install_features(app: Flask, packages: tuple[str, ...] = FEATURES) -> Installed:
    """Install every feature's parts into ``app``: blueprints, navigation, jobs, schedules, events,
    subscribers, commands, storefront endpoints, widgets, then each ``init_app``; rate limits last, once every
    endpoint exists. A name declared twice is an error naming both."""
    installed = app.extensions.setdefault(FEATURES_KEY, Installed())
    queue, bus = app.extensions["storecare.queue"], app.extensions["storecare.events"]
    features = [feature_of(package) for package in packages]
    for feature in features:
        if feature.name in installed.features:
            raise FeatureError(f"feature {feature.name!r} is installed twice")
        installed.features[feature.name] = feature
        for event in feature.events:
            bus.declare(event, feature.name)
    for feature in features:
        _install(app, queue, bus, feature)
    for feature in features:
        try:
            for rule in feature.rate_limits:
                limit_endpoint(app, rule, *((load(rule.key),) if rule.key else ()))
        except (ImportError, AttributeError, ValueError) as exc:
            raise FeatureError(f"feature {feature.name!r}: {exc}") from exc
    return installed


def _install(app: Flask, queue, bus, feature: Feature) -> None:
    from plugin.storefront.routes import mount_storefront

    try:
        for path in feature.blueprints:
            app.register_blueprint(load(path))
        for item in feature.nav:
            register_nav(app, item)
        for job in feature.jobs:
            queue.register(job.name, load(job.func), max_attempts=job.max_attempts)
        for schedule in feature.schedules:
            queue.every(schedule.minutes, schedule.name, load(schedule.func))
        for subscriber in feature.subscribers:
            bus.subscribe(subscriber.event, load(subscriber.handler), name=subscriber.name,
                          batch=subscriber.batch)
        for kind in feature.messages:
            register_message_kind(app, kind)
        for path in feature.commands:
            app.cli.add_command(load(path))
        for path in feature.storefront:
            mount_storefront(app, load(path))
        if feature.settings is not None:
            from plugin.admin.shop_settings import register_section

            register_section(app, feature.settings, load(feature.settings.schema),
                             load(feature.settings.on_save) if feature.settings.on_save else None)
        for widget in feature.widgets:
            register_widget(app, feature.name, widget, load(widget.enabled) if widget.enabled else None,
                            load(widget.side) if widget.side else None)
        if feature.platform_needs is not None:
            load(feature.platform_needs)  # found now, or start-up stops naming the feature
        if feature.init_app is not None:
            load(feature.init_app)(app)
    except (ImportError, AttributeError, ValueError, TypeError, MessageKindError) as exc:
        raise FeatureError(f"feature {feature.name!r}: {exc}") from exc
