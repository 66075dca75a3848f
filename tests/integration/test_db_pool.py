"""plugin.db's pool on PostgreSQL: a connection that died while idle in the pool is replaced before
anyone uses it; one handed back a moment ago is handed out again without a round trip of checking.
And ``Database.reading``: one connection per request, outside any transaction, given back at its end."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from plugin.db import _RETURNED_AT, make_engine
from tests.conftest import BACKENDS, PG_URL


@pytest.fixture
def pg_engine():
    if "postgresql" not in BACKENDS:
        pytest.skip("kills PostgreSQL server connections; this run leaves PostgreSQL out (STORECARE_TEST_DATABASES)")
    engine = make_engine(PG_URL, pool_size=1, max_overflow=0)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    yield engine, admin
    engine.dispose()
    admin.dispose()


def backend_of(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def kill(admin, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def idle_for_long(engine) -> None:
    """The pool's one connection as if handed back long ago (the threshold is seconds; no test sleeps)."""
    for record in engine.pool._pool.queue:  # the pool's idle connection records
        record.info[_RETURNED_AT] -= 3600


def test_a_connection_that_died_while_idle_is_replaced_and_the_statement_runs(pg_engine):
    engine, admin = pg_engine
    first = backend_of(engine)
    kill(admin, first)
    idle_for_long(engine)

    second = backend_of(engine)  # no error: the checkout found it dead and connected again

    assert second != first


def test_a_connection_handed_back_a_moment_ago_is_not_checked_again(pg_engine):
    """The other side of the bargain, shown: no ping within the threshold, so a connection killed in
    that moment fails the statement (as one killed while in use would), and the pool then starts over."""
    from sqlalchemy.exc import OperationalError

    engine, admin = pg_engine
    kill(admin, backend_of(engine))

    with pytest.raises(OperationalError):
        backend_of(engine)
    assert backend_of(engine)  # the dead connection was dropped: the next one works


def test_reads_of_a_request_share_one_connection_outside_a_transaction(app, db):
    with app.test_request_context():
        with db.reading() as first:
            first.execute(text("SELECT 1"))
        with db.reading() as second:
            assert second is first
            if db.engine.dialect.name != "sqlite":  # SQLite's driver begins a transaction only to write
                assert second.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
    assert first.closed  # given back with the request
    with app.test_request_context(), db.reading() as third:
        assert third is not first
