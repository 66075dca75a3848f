"""Alembic environment for Storecare.

Run through ``plugin.migrate`` (``flask db ...``, ``python -m plugin.migrate revision``), which builds
the Config in code and hands over an open connection in ``config.attributes["connection"]``. The
plain ``alembic`` CLI works from the repository root with ``-x database_url=...``. This file never
reads the environment: the database URL always comes from the caller.

Tables and ``alembic_version`` are unqualified (``include_schemas=False``), so on PostgreSQL they land
in the first schema of the connection's ``search_path`` (e.g. ``?options=-csearch_path%3Dtenant``).
"""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy.engine import Connection, make_url

from plugin.migrate import context_options, migration_engine
from plugin.models import metadata

config = context.config


def _database_url() -> str:
    url = (config.attributes.get("database_url")
           or context.get_x_argument(as_dictionary=True).get("database_url")
           or config.get_main_option("sqlalchemy.url"))
    if not url:
        raise CommandError("no database URL: use `flask db ...`, plugin.migrate, "
                           "or `alembic -x database_url=... <command>`")
    return url


def _run_offline() -> None:
    url = _database_url()
    context.configure(url=url, target_metadata=metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"},
                      **context_options(make_url(url).get_backend_name()))
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      process_revision_directives=config.attributes.get("process_revision_directives"),
                      **context_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = migration_engine(_database_url())
    try:
        with engine.begin() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if config.config_file_name is not None:  # the plain alembic CLI, with alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
