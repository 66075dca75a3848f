"""Database: declarative Base, engine and session factory, and the unit of work services use."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
_CHECKPOINT = "storecare.checkpoint_wal"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which stores naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# the largest value of an INTEGER column (ids of rewards, tiers, API keys): PostgreSQL refuses a larger
# number in a comparison with an error, rather than finding nothing
MAX_INTEGER = 2**31 - 1


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DatabaseError(Exception):
    pass


class Database:
    """Unbound until ``init_app``: holds the engine and the session factory for one app."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    def configure(self, url: str, **engine_options) -> None:
        self.engine = make_engine(url, **engine_options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "after_commit", _checkpoint_if_asked)
        event.listen(self._sessions, "after_rollback", _forget_checkpoint)
        from plugin.read_cache import ReadCache

        self.reads = ReadCache(self._sessions)  # what the storefront repeats on every request (see there)
        self._row_changes = None
        from plugin.lean_reads import SqliteReads

        self._lean = SqliteReads(self.engine) if SqliteReads.serves(self.engine) else None
        if self._lean is not None:
            self.on_dispose(self._lean.close)

    def init_app(self, app, url: str, threads: int | None = None) -> None:
        """``threads``: how many threads of this process may use the database at once (a web worker's
        threads). The pool keeps that many connections: with fewer, every request past the pool's size
        opened a connection of its own and closed it after (on PostgreSQL a new server process each
        time: 2 % of a loaded storefront's samples were connecting, and its requests queued behind)."""
        self.configure(url, **({"pool_size": threads} if threads and ":memory:" not in url else {}))
        app.extensions["storecare.db"] = self
        app.teardown_request(_give_back_reading)  # the request is over (its app context may go on)
        app.teardown_appcontext(_give_back_reading)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads of one statement each that need no transaction around them (the
        storefront's lean reads): each statement commits on its own, so a read costs its statement, not
        also a BEGIN and a ROLLBACK (two round trips on PostgreSQL). Within a request every such read
        uses one connection, taken from the pool at the first and given back when the request ends."""
        from flask import g, has_app_context

        if not has_app_context():
            with self.engine.connect() as conn:
                yield self._outside_transactions(conn)
            return
        held = g.get("storecare_reading")
        if held is None or held.closed:
            held = g.storecare_reading = self._outside_transactions(self.engine.connect())
        yield held

    def read(self, statement, params: Mapping) -> list:
        """The rows of one SELECT that needs no transaction around it (the storefront's lean reads).
        On a SQLite file it runs on a connection of the thread's own, without SQLAlchemy's execution
        (plugin/lean_reads.py) when its parameters and columns need no conversion; otherwise on the
        request's ``reading()`` connection. ``statement`` is built once (a module's constant): how it
        runs is kept by it."""
        lean = self._lean
        if lean is not None:
            plan = lean.plan(statement)
            if plan is not None:
                return lean.rows(plan, params)
        with self.reading() as conn:
            return conn.execute(statement, params).all()

    def execute_alone(self, statement, params: dict | None = None) -> list:
        """Run one statement in a transaction of its own and commit it; returns its rows (RETURNING),
        or [] for a statement that returns none. On PostgreSQL the statement commits on its own (one
        round trip, not BEGIN, the statement and COMMIT): the job queue's bookkeeping, a claim or a
        job's end, is a statement each, three of them for every job a worker runs."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                with conn.begin():
                    result = conn.execute(statement, params)
                    return result.all() if result.returns_rows else []
            result = conn.execution_options(isolation_level="AUTOCOMMIT").execute(statement, params)
            return result.all() if result.returns_rows else []

    def _outside_transactions(self, conn: Connection) -> Connection:
        # SQLite's driver begins a transaction only before a write, so a read is already outside one;
        # asking for autocommit there costs a PRAGMA when the connection is taken and another when it
        # is given back (9 % of a loaded read's samples)
        return conn if conn.dialect.name == "sqlite" else conn.execution_options(isolation_level="AUTOCOMMIT")

    def session(self) -> Session:
        if self._sessions is None:
            raise DatabaseError("database is not configured: call create_app() first")
        return self._sessions()

    @contextmanager
    def uow(self) -> Iterator[Session]:
        """A unit of work: commit explicitly; leaving the block without commit rolls back."""
        session = self.session()
        try:
            yield session
        finally:
            session.close()  # rolls back what was not committed; loaded objects stay readable

    def row_changes(self):
        """On PostgreSQL, this process's listener to the loyalty members any process writes
        (plugin/row_changes.py), made when first asked for and stopped at dispose; None on SQLite."""
        if self._row_changes is None and self.engine.dialect.name == "postgresql":
            from plugin.row_changes import RowChanges

            self._row_changes = RowChanges(self.engine, self.reads)
            self.on_dispose(self._row_changes.stop)
        return self._row_changes

    def on_dispose(self, callback) -> None:
        """Call ``callback`` before the engine is disposed (a thread holding a connection of its own)."""
        self._on_dispose = [*getattr(self, "_on_dispose", []), callback]

    def dispose(self) -> None:
        for callback in getattr(self, "_on_dispose", []):
            callback()
        if self.engine is not None:
            self.engine.dispose()


def _give_back_reading(_exc=None) -> None:
    from flask import g

    held = g.pop("storecare_reading", None)
    if held is not None:
        held.close()


def checkpoint_wal_after_commit(session: Session) -> None:
    """Once ``session``'s transaction commits, copy SQLite's write-ahead log into the database file and
    truncate the log to nothing (``PRAGMA wal_checkpoint(TRUNCATE)``).

    In WAL mode a committed change is written to the ``-wal`` file first and reaches the database file
    at a checkpoint; until the log is overwritten, it keeps the earlier versions of every page it holds.
    A redaction asks for this so that what it erased survives in neither file (with ``secure_delete``
    the database file keeps no freed copy either). On PostgreSQL this does nothing: see the README for
    what PostgreSQL keeps until VACUUM."""
    if session.get_bind().dialect.name == "sqlite":
        session.info[_CHECKPOINT] = True


def _checkpoint_if_asked(session: Session) -> None:
    if not session.info.pop(_CHECKPOINT, False):
        return
    # A connection of its own: the session's is done with its transaction but still held. TRUNCATE waits
    # (the busy timeout) for readers of the log to finish; one still reading leaves it "busy". The commit
    # has happened whatever this does, so a failure here is logged, not raised.
    try:
        with session.get_bind().connect() as conn:
            busy, log_pages, moved = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    except DBAPIError as exc:
        log.warning("checkpointing the SQLite write-ahead log after a redaction failed: %s", exc)
        return
    if busy:
        log.warning("the SQLite write-ahead log could not be truncated after a redaction (%s of %s pages "
                    "copied): a reader held it, and the log keeps old pages until it is next reset",
                    moved, log_pages)


def _forget_checkpoint(session: Session) -> None:
    session.info.pop(_CHECKPOINT, None)  # the transaction that asked for it did not commit


def make_engine(url: str, **options) -> Engine:
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # Overwrite deleted and replaced content with zeros: an erased email must not linger in a
            # page's free space (18 copies of one after a redaction without it). Debian's SQLite has it
            # on by default; other builds do not.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    if "+psycopg" in url.split("://", 1)[0]:
        cache_long_psycopg_queries()
    engine = create_engine(url, **options)
    ping_connections_idle_for(engine, IDLE_PING_SECONDS)
    return engine


IDLE_PING_SECONDS = 2.0


def ping_connections_idle_for(engine: Engine, seconds: float) -> None:
    """Check a pooled connection with a round trip before handing it out, if it has been idle in the
    pool for ``seconds`` or more; one that fails is replaced by a new one, and the caller never sees it.

    SQLAlchemy's ``pool_pre_ping`` checks on every checkout: under load that is a round trip for each
    statement a storefront read sends (1 in 4 of its round trips; without it the loaded read served
    15-40 % more requests). A connection handed back a moment ago was working a moment ago; what goes
    wrong while a connection sits in the pool (the server restarted, a firewall dropped an idle
    connection) is what the ping is for. A connection that breaks while in use fails that statement
    either way, and SQLAlchemy then replaces every connection of the pool (its disconnect handling)."""
    clock = time.monotonic

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_conn, record):
        record.info[_RETURNED_AT] = clock()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        returned = record.info.get(_RETURNED_AT)
        if returned is None or clock() - returned < seconds:
            return  # new, or back in the pool a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"an idle pooled connection was dead: {exc}") from exc


_RETURNED_AT = "storecare.returned_at"


def cache_long_psycopg_queries() -> None:
    """Let psycopg keep its parse of long queries too.

    psycopg turns a query's ``%(name)s`` placeholders into PostgreSQL's ``$n`` with a regex pass, and
    remembers the result only for queries under 4 KB with at most 50 parameters. SQLAlchemy's
    multi-row ``INSERT ... RETURNING`` pages (an order page of the backfill, its line items, its
    events) are far longer and the same text page after page, so each was parsed again: half the
    backfill's time (bench/sync.py: 753 orders/s before, 1,485 after, 20,000 orders). The limits are
    module constants of psycopg's query module; tests/unit/test_db.py fails if a psycopg release
    renames them, so that this never silently stops working."""
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 1_000_000)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 100_000)
