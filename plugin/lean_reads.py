"""The storefront's one-statement reads on SQLite, without SQLAlchemy's execution layer.

A loyalty widget's read sends one or two small SELECTs; on SQLite the database answers each in a few
microseconds, and taking a pooled connection, executing through SQLAlchemy and giving it back cost
about 100 us a request in process, more than a third of the whole read (single-threaded, 277 us against
171 us without it), and more under load, where every step waits for the GIL behind the process's other
threads (bench/loyalty_storefront.py: 0.42 of bare Flask's requests a second, 0.57 without it).

``SqliteReads`` keeps one ``sqlite3`` connection per thread for such reads, and runs a Core statement
as SQLAlchemy compiles it for SQLite (compiled once per statement), its rows as named tuples. It takes
only what needs no conversion either way: parameters and columns of types SQLAlchemy passes through
unchanged on SQLite (integers, strings); a statement with anything else (a date, a boolean, an IN
list) is run through SQLAlchemy as before (``Database.read``). Each read is outside any transaction:
Python's sqlite3 begins one only before a write, and every row is fetched before the next statement,
so the connection never holds an old snapshot of the write-ahead log.
"""
from __future__ import annotations

import sqlite3
import threading
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the parameters, in their places
    defaults: Mapping[str, object]  # values the statement holds itself (``Shop.status == "installed"``)
    row: type


class SqliteReads:
    TIMEOUT = 30  # seconds a read waits for a lock, as the engine's connections do (plugin/db.py)

    def __init__(self, engine: Engine):
        self._dialect = engine.dialect
        self._path = engine.url.database
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._plans: dict[object, _Plan | None] = {}

    @staticmethod
    def serves(engine: Engine) -> bool:
        """A SQLite database in a file (an in-memory one is a database per connection)."""
        return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")

    def plan(self, statement) -> _Plan | None:
        """How ``statement`` runs here, or None: it needs SQLAlchemy's conversions."""
        if statement not in self._plans:
            self._plans[statement] = self._planned(statement)
        return self._plans[statement]

    def rows(self, plan: _Plan, params: Mapping) -> list:
        values = [params[name] if name in params else plan.defaults[name] for name in plan.names]
        return [plan.row._make(found) for found in self._connection().execute(plan.sql, values).fetchall()]

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # used by its thread only; closed by ``close`` from whichever thread disposes of the database
            conn = sqlite3.connect(self._path, timeout=self.TIMEOUT, check_same_thread=False)
            with self._lock:
                self._opened.append(conn)
            self._local.conn = conn
        return conn

    def _planned(self, statement) -> _Plan | None:
        compiled = statement.compile(dialect=self._dialect)
        binds = compiled.binds.values()
        columns = list(statement.selected_columns)
        if (any(bind.expanding or _converts(bind.type, self._dialect, bind=True) for bind in binds)
                or any(_converts(column.type, self._dialect, bind=False) for column in columns)):
            return None
        defaults = {name: bind.value for name, bind in compiled.binds.items()}
        row = namedtuple("Row", [column.key for column in columns], rename=True)
        return _Plan(str(compiled), tuple(compiled.positiontup), defaults, row)


def _converts(type_, dialect, *, bind: bool) -> bool:
    impl = type_.dialect_impl(dialect)
    return (impl.bind_processor(dialect) if bind else impl.result_processor(dialect, None)) is not None
