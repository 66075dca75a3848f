"""plugin.db: the engine's settings that are ours to choose."""
from __future__ import annotations

from psycopg import _queries
from psycopg.adapt import Transformer

from plugin.db import make_engine


def test_a_postgresql_engine_lets_psycopg_reuse_its_parse_of_long_multi_row_inserts():
    make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # creating an engine does not connect
    # the names this relies on are still psycopg's: a release that renames them fails here
    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= 1_000_000
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= 100_000

    rows = ", ".join(f"(%(a{n})s, %(b{n})s)" for n in range(500))  # 1,000 parameters, ~20 KB
    query = f"INSERT INTO t (a, b) VALUES {rows}".encode()
    params = {f"{c}{n}": n for n in range(500) for c in "ab"}
    before = _queries._query2pg.cache_info().hits
    for _ in range(3):
        converted = _queries.PostgresQuery(Transformer())
        converted.convert(query, params)
    assert _queries._query2pg.cache_info().hits - before == 2  # parsed once, then remembered
    assert b"$1000" in converted.query
