"""A backfill fills new tables faster than autovacuum looks at them: it refreshes PostgreSQL's planner
statistics itself, so later pages are planned on the rows that are there, not on empty tables."""
from __future__ import annotations

from sqlalchemy import text

from tests import sandbox_support


def test_a_backfill_leaves_planner_statistics_of_the_tables_it_filled(app, db, queue):
    sandbox_support.install(app, db, customers=30, orders=120)
    queue.drain()  # the install's backfill
    with db.uow() as s:
        if db.engine.dialect.name == "postgresql":
            estimates = dict(s.execute(text(
                "SELECT relname, reltuples FROM pg_class WHERE oid IN ('customers'::regclass, 'orders'::regclass, "
                "'line_items'::regclass)")).all())
            # ANALYZE sets reltuples (-1 until a table was first analysed or vacuumed)
            assert estimates["customers"] >= 30 and estimates["orders"] >= 120 and estimates["line_items"] > 0
        else:  # SQLite plans on its indexes: nothing is analysed there
            assert s.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")).first() is None
