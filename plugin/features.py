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
- ``subscribers``: ``Subscriber`` (a unique name, an event name, the handler): the handler gets the
  event in a transaction of its own and never commits;
- ``commands``: click commands or groups added to ``flask``;
- ``init_app``: a function taking the app, for anything else (hooks, extensions).

The order of ``FEATURES`` is the order of registration; a feature may subscribe to events of a feature
before or after it (subscriptions are checked once every feature is installed).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from flask import Flask

from plugin.admin.nav import NavItem, register_nav

# The app's features, in the order they are installed.
FEATURES: tuple[str, ...] = ("plugin.shops", "plugin.sync", "plugin.storefront", "plugin.admin")
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
    event: str  # a declared event name
    handler: str  # "module:function" taking (session, event); writes in that session, never commits


@dataclass(frozen=True)
class Feature:
    name: str
    blueprints: tuple[str, ...] = ()
    nav: tuple[NavItem, ...] = ()
    jobs: tuple[Job, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    events: tuple[str, ...] = ()
    subscribers: tuple[Subscriber, ...] = ()
    commands: tuple[str, ...] = ()
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
    subscribers, commands, then each ``init_app``. A name declared twice is an error naming both."""
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
    return installed


def _install(app: Flask, queue, bus, feature: Feature) -> None:
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
            bus.subscribe(subscriber.event, load(subscriber.handler), name=subscriber.name)
        for path in feature.commands:
            app.cli.add_command(load(path))
        if feature.init_app is not None:
            load(feature.init_app)(app)
    except (ImportError, AttributeError, ValueError) as exc:
        raise FeatureError(f"feature {feature.name!r}: {exc}") from exc
