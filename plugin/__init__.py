"""Storecare: create_app(settings=None) builds everything; importing this package does nothing."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings=None) -> Flask:
    from plugin.admin.sessions import ABSOLUTE_LIFETIME
    from plugin.db import Database
    from plugin.extensions import babel
    from plugin.http import make_session, make_store_transport
    from plugin.i18n import select_locale
    from plugin.jobs.queue import JobQueue
    from plugin.manifest import load_manifest
    from plugin.problems import configure_logging, init_problems
    from plugin.security import CookieSessionInterface, TokenVault
    from plugin.settings import Settings
    from plugin.sync.events import EventBus

    settings = settings or Settings.from_env()
    manifest = load_manifest(settings.manifest_path or None)

    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        STORECARE_SETTINGS=settings,
        STORECARE_MANIFEST=manifest,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "plugin" / "translations"),
        SESSION_COOKIE_SAMESITE="None" if settings.is_production else "Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        # CHIPS: inside Shopify's iframe the cookie is third-party; partitioned, browsers that block
        # third-party cookies still keep it (per top-level site).
        SESSION_COOKIE_PARTITIONED=settings.is_production,
        SESSION_COOKIE_HTTPONLY=True,
        # The admin's sessions live on the server (plugin/admin/sessions.py); no cookie is accepted for
        # longer than their absolute cap (Flask's default would be 31 days).
        PERMANENT_SESSION_LIFETIME=ABSOLUTE_LIFETIME,
    )
    app.session_interface = CookieSessionInterface()
    configure_logging(app, settings.log_level)
    init_problems(app)

    database = Database()
    database.init_app(app, settings.database_url, threads=settings.web_threads)
    app.extensions["storecare.vault"] = TokenVault(settings.encryption_keys)
    queue = JobQueue(app, settings)
    app.extensions["storecare.queue"] = queue
    app.extensions["storecare.events"] = EventBus()
    app.extensions["storecare.http"] = make_session()
    app.extensions["storecare.woocommerce_transport"] = make_store_transport(settings)
    babel.init_app(app, locale_selector=select_locale)
    from plugin.rate_limits import init_rate_limits

    init_rate_limits(app, settings)

    from plugin.favicon import bp as favicon_bp
    from plugin.features import install_features
    from plugin.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(favicon_bp)
    install_features(app)
    from plugin.assets import init_assets
    from plugin.sync.lane import install_webhook_lane

    init_assets(app, settings.assets_path or None)  # /static/: versioned, compressed, cached (WhiteNoise)
    install_webhook_lane(app)  # outermost: the usual webhook skips Flask's request machinery (see there)

    from plugin.cli import register_cli

    register_cli(app)
    return app
