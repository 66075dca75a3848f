"""Database migrations: Alembic driven from code, independent of the working directory.

The Alembic Config is built here (``script_location`` = ``<repo>/migrations``); the database URL is
always passed in, and ``migrations/env.py`` never reads the environment. Every call opens its own
engine (SQLite foreign-key enforcement stays off, as batch table rebuilds need) and disposes it.

Python API::

    upgrade(database_url, revision="head")
    downgrade(database_url, revision)           # "-1", "base", "0001_initial", ...
    current(database_url) -> ("0001_initial",)  # () on a database never migrated
    check(database_url)                         # raises SchemaDrift when models and migrations differ

Flask commands, on the app's ``STORECARE_SETTINGS.database_url``::

    flask db upgrade [REVISION]     # default: head
    flask db downgrade REVISION
    flask db current
    flask db check                  # exit status 1 when models and migrations differ

After changing a model, generate the next revision and read it before committing::

    python -m plugin.migrate revision -m "add loyalty ledger"
    # -> migrations/versions/0002_add_loyalty_ledger.py

``revision`` upgrades a temporary SQLite database to head and autogenerates the difference to the
models (batch operations, which run on PostgreSQL too); it writes nothing when there is no
difference. ``--empty`` writes a blank revision for a hand-written (data) migration.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import click
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Column, MetaData, Table, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import TypeDecorator

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# alembic_version.version_num is VARCHAR(32): generated revision ids stay within it.
MAX_REVISION_ID = 32


class MigrationError(Exception):
    """A migration could not run, or the database is not where the code expects it."""


class NotAtHead(MigrationError):
    """The database is not upgraded to the newest revision."""


class SchemaDrift(MigrationError):
    """The models and the migrated database differ: a revision is missing or out of date."""

    def __init__(self, differences: Sequence[Any]) -> None:
        self.differences = list(differences)
        lines = "\n".join(f"  - {describe_difference(d)}" for d in self.differences)
        super().__init__(f"models and migrations differ:\n{lines}")


# -- shared with migrations/env.py ------------------------------------------------------------------

def context_options(dialect_name: str) -> dict[str, Any]:
    """Options for ``context.configure``/``MigrationContext``: the same for migrating and checking."""
    return {
        "compare_type": True,
        "include_schemas": False,
        "render_as_batch": dialect_name == "sqlite",
        "render_item": render_item,
    }


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our TypeDecorators (UTCDateTime) as their plain SQLAlchemy type: no plugin imports."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if type(impl).__module__ == sqltypes.__name__:
            return f"sa.{impl!r}"
    return False


def migration_engine(database_url: str) -> Engine:
    return create_engine(database_url, poolclass=NullPool)


def alembic_config(**attributes: Any) -> Config:
    config = Config(attributes=attributes)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s")
    config.set_main_option("path_separator", "os")
    return config


# -- Python API -------------------------------------------------------------------------------------

@contextmanager
def _alembic_errors() -> Iterator[None]:
    try:
        yield
    except CommandError as error:
        raise MigrationError(str(error)) from error


@contextmanager
def _connected(database_url: str) -> Iterator[Config]:
    """A Config carrying one connection in one transaction, committed when the block succeeds."""
    engine = migration_engine(database_url)
    try:
        with engine.begin() as connection, _alembic_errors():
            yield alembic_config(connection=connection, database_url=database_url)
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    with _connected(database_url) as config:
        command.upgrade(config, revision)


def downgrade(database_url: str, revision: str) -> None:
    with _connected(database_url) as config:
        command.downgrade(config, revision)


def current(database_url: str) -> tuple[str, ...]:
    """The revisions the database is at; empty when it was never migrated."""
    engine = migration_engine(database_url)
    try:
        with engine.connect() as connection:
            return tuple(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def heads() -> tuple[str, ...]:
    """The newest revisions in migrations/versions."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def check(database_url: str, target_metadata: MetaData | None = None) -> None:
    """Raise unless the database is at head and matches the models (alembic's compare_metadata).

    ``target_metadata`` defaults to every model (plugin.models.metadata).
    """
    if target_metadata is None:
        from plugin.models import metadata

        target_metadata = metadata
    expected = set(heads())
    engine = migration_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=context_options(connection.dialect.name))
            applied = set(context.get_current_heads())
            if applied != expected:
                raise NotAtHead(f"database is at {_revisions(applied)}, migrations head is "
                                f"{_revisions(expected)}: run `flask db upgrade`")
            differences = compare_metadata(context, target_metadata)
    finally:
        engine.dispose()
    if differences:
        raise SchemaDrift(differences)


def revision(message: str, *, rev_id: str | None = None, autogenerate: bool = True) -> Path | None:
    """Write the next revision file; with autogenerate, None when models and migrations agree."""
    rev_id = rev_id or next_revision_id(message)
    if len(rev_id) > MAX_REVISION_ID:
        raise MigrationError(f"revision id {rev_id!r} is longer than {MAX_REVISION_ID} characters")
    with _alembic_errors():
        if not autogenerate:
            return _script_path(command.revision(alembic_config(), message=message, rev_id=rev_id))
        with tempfile.TemporaryDirectory(prefix="storecare-autogenerate-") as tmp:
            database_url = f"sqlite:///{Path(tmp) / 'head.db'}"
            upgrade(database_url)
            with _connected(database_url) as config:
                config.attributes["process_revision_directives"] = _skip_empty_revision
                return _script_path(command.revision(config, message=message, autogenerate=True,
                                                     rev_id=rev_id))


def next_revision_id(message: str) -> str:
    """``NNNN_slug``: one more than the highest numbered revision, the message as a short slug."""
    numbers = [int(m.group(1)) for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
               if (m := re.match(r"(\d+)_", script.revision))]
    prefix = f"{max(numbers, default=0) + 1:04d}_"
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_") or "revision"
    return (prefix + slug)[:MAX_REVISION_ID].rstrip("_")


def _skip_empty_revision(_context: MigrationContext, _revision: Any,
                         directives: list[MigrationScript]) -> None:
    script = directives[0]
    if script.upgrade_ops is not None and script.upgrade_ops.is_empty():
        directives.clear()


def _script_path(result: Script | Sequence[Script | None] | None) -> Path | None:
    scripts = [result] if isinstance(result, Script) else [s for s in result or () if s is not None]
    return Path(scripts[0].path) if scripts else None


def describe_difference(difference: Any) -> str:
    """One line for one entry of compare_metadata's result (a tuple, or a list for column changes)."""
    if isinstance(difference, list):
        return "; ".join(describe_difference(d) for d in difference)
    operation, *args = difference
    if operation.startswith("modify_"):
        _schema, table, column, _existing, old, new = args
        return f"{operation.replace('_', ' ')} {table}.{column}: {old!r} -> {new!r}"
    if operation in ("add_column", "remove_column"):
        _schema, table, column = args
        return f"{operation.replace('_', ' ')} {table}.{column.name}"
    names = [_name(a) for a in args if a is not None and not isinstance(a, dict)]
    return " ".join([operation.replace("_", " "), *names])


def _name(item: Any) -> str:
    if isinstance(item, Table):
        return item.name
    if isinstance(item, Column):
        return f"{item.table.name}.{item.name}" if item.table is not None else str(item.name)
    table = getattr(item, "table", None)
    name = getattr(item, "name", None)
    if name is not None:
        return f"{name} on {table.name}" if isinstance(table, Table) else str(name)
    return str(item)


def _revisions(revisions: set[str] | Sequence[str]) -> str:
    return ", ".join(sorted(revisions)) or "base (no revision applied)"


# -- flask db ---------------------------------------------------------------------------------------

def _database_url() -> str:
    return current_app.config["STORECARE_SETTINGS"].database_url


def _display(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


@contextmanager
def _cli_errors() -> Iterator[None]:
    try:
        yield
    except MigrationError as error:
        raise click.ClickException(str(error)) from error
    except OperationalError as error:
        raise click.ClickException(f"cannot use the database: {error.orig or error}") from error


@click.group("db")
def db_cli() -> None:
    """Database migrations (Alembic): upgrade, downgrade, current, check."""


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision: str) -> None:
    """Upgrade the database to REVISION (default: head)."""
    url = _database_url()
    with _cli_errors():
        before = current(url)
        click.echo(f"Upgrading {_display(url)} from {_revisions(before)} to {revision}.")
        upgrade(url, revision)
        after = current(url)
    click.echo(f"Database is at {_revisions(after)}." if after != before else "Already there: nothing to do.")


@db_cli.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@with_appcontext
def downgrade_command(revision: str) -> None:
    """Downgrade the database to REVISION: -1, base, or a revision id."""
    url = _database_url()
    with _cli_errors():
        before = current(url)
        click.echo(f"Downgrading {_display(url)} from {_revisions(before)} to {revision}.")
        downgrade(url, revision)
        after = current(url)
    click.echo(f"Database is at {_revisions(after)}." if after != before else "Already there: nothing to do.")


@db_cli.command("current")
@with_appcontext
def current_command() -> None:
    """Show the revision the database is at."""
    url = _database_url()
    with _cli_errors():
        applied, newest = current(url), heads()
    state = ("up to date" if set(applied) == set(newest)
             else f"head is {_revisions(newest)}: run `flask db upgrade`")
    click.echo(f"{_display(url)}: {_revisions(applied)}; {state}")


@db_cli.command("check")
@with_appcontext
def check_command() -> None:
    """Fail unless the database is at head and matches the models."""
    url = _database_url()
    with _cli_errors():
        check(url)
    click.echo(f"Models and migrations match; {_display(url)} is at {_revisions(heads())}.")


# -- python -m plugin.migrate -----------------------------------------------------------------------

@click.group("python -m plugin.migrate")
def main() -> None:
    """Write migrations (no app or database needed)."""


@main.command("revision")
@click.option("-m", "--message", required=True, help="What the revision does; becomes the file name.")
@click.option("--rev-id", default=None, help="Revision id (default: the next NNNN_message).")
@click.option("--empty", is_flag=True, help="Write a blank revision instead of autogenerating.")
def revision_command(message: str, rev_id: str | None, empty: bool) -> None:
    """Autogenerate the next revision from the models."""
    try:
        path = revision(message, rev_id=rev_id, autogenerate=not empty)
    except MigrationError as error:
        raise click.ClickException(str(error)) from error
    if path is None:
        click.echo("Models and migrations already match: no revision written.")
        return
    click.echo(f"Wrote {path.relative_to(MIGRATIONS_DIR.parent)}: read and tidy it before committing.")


if __name__ == "__main__":
    main()
