"""Fixtures shared by every test: an app per test, on SQLite and on PostgreSQL.

PostgreSQL runs at 127.0.0.1:5432 (database ``test``); each test gets its own schema, dropped after.
Set STORECARE_TEST_PG_URL to point elsewhere, or STORECARE_TEST_DATABASES=sqlite to run one backend.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from plugin.settings import Settings

PG_URL = os.environ.get("STORECARE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("STORECARE_TEST_DATABASES", "sqlite,postgresql").split(",") if b]


def only_on(backend: str, tests_what: str):
    """Runs a test's ``database_url`` on ``backend`` alone, for what exists there only; a run that leaves
    that backend out (STORECARE_TEST_DATABASES) skips it, saying so."""
    left_out = pytest.mark.skipif(backend not in BACKENDS, reason=f"tests {tests_what}; this run leaves {backend} "
                                                                  "out (STORECARE_TEST_DATABASES)")
    return pytest.mark.parametrize("database_url", [pytest.param(backend, marks=left_out)], indirect=True)


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """The .mo catalogues are build output (not in git): compiled once per run, for every test folder."""
    from tests.i18n_support import compile_catalogs

    compile_catalogs()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'storecare.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(env="test", database_url=database_url, queue_path=str(tmp_path / "queue.db"),
                    sandbox_path=str(tmp_path / "sandbox.db"), app_url="http://localhost:5000",
                    log_level="WARNING").validated()


@pytest.fixture
def app(settings):
    from plugin import create_app
    from plugin.models import metadata

    app = create_app(settings)
    app.config["TESTING"] = True
    engine = app.extensions["storecare.db"].engine
    metadata.create_all(engine)
    with app.app_context():
        yield app
    app.extensions["storecare.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    return app.extensions["storecare.db"]


@pytest.fixture
def queue(app):
    return app.extensions["storecare.queue"]


@pytest.fixture
def fixtures_dir() -> Path:
    return Path(__file__).parent / "fixtures"


@pytest.fixture
def settings_with(settings):
    def make(**changes):
        return replace(settings, **changes)

    return make
