"""INSERT ... ON CONFLICT for the two databases we run on (PostgreSQL and SQLite share the syntax)."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, table):
    """A dialect-specific insert() that offers on_conflict_do_nothing / on_conflict_do_update."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {name!r}")


def insert_ignore(session: Session, table, rows: list[dict], conflict: list[str], returning=None):
    """Insert rows, silently skipping those that hit the unique ``conflict`` columns.

    Returns the result rows of ``returning`` for the rows actually inserted.
    """
    if not rows:
        return []
    # executemany form: one cached statement, batched by SQLAlchemy's insertmanyvalues
    stmt = insert_for(session, table).on_conflict_do_nothing(index_elements=conflict)
    if returning is not None:
        return session.execute(stmt.returning(*returning), rows).all()
    session.execute(stmt, rows)
    return []
