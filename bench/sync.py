"""Backfill of sandbox orders into PostgreSQL: orders/s and peak RSS.

Seeds a sandbox store (not timed), then runs the real backfill job code (customers, then orders,
paged through the sandbox adapter, upserted into a fresh PostgreSQL schema) and prints the figures.
The baseline in the same run is the adapter alone: paging the same orders without writing them.

    .venv/bin/python bench/sync.py [--orders 100000] [--database postgresql|sqlite]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOMAIN = "bench.sandbox.test"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()

    from sqlalchemy import create_engine, func, select, text

    from adapters.base import Connection
    from adapters.sandbox import SandboxAdapter, SandboxStore, seed_shop
    from plugin import create_app
    from plugin.migrate import upgrade
    from plugin.settings import Settings
    from plugin.shops.service import install_sandbox_shop
    from plugin.sync.backfill import run_backfill
    from plugin.sync.models import Order

    work = Path(tempfile.mkdtemp(prefix="storecare-sync-"))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    if args.database == "postgresql":
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{work / 'storecare.db'}"
    settings = Settings(env="demo", database_url=url, queue_path=str(work / "queue.db"),
                        sandbox_path=str(work / "sandbox.db"), log_level="WARNING").validated()
    try:
        upgrade(url)
        t = time.perf_counter()
        seed_shop(SandboxStore(settings.sandbox_path), DOMAIN, customers=max(1, args.orders // 5), orders=args.orders)
        print(f"seeded {args.orders:,} sandbox orders in {time.perf_counter() - t:.1f} s (not timed below)")

        adapter = SandboxAdapter(Connection(shop_domain=DOMAIN), settings.sandbox_path)
        rss_before = rss_mb()
        t, cursor, read = time.perf_counter(), None, 0
        while True:
            page = adapter.list_orders(cursor=cursor, limit=250)
            read += len(page.items)
            if page.is_last:
                break
            cursor = page.next_cursor
        baseline = read / (time.perf_counter() - t)
        print(f"baseline, adapter paging only : {baseline:8.0f} orders/s  ({read:,} orders)")

        app = create_app(settings)
        with app.app_context():
            db = app.extensions["storecare.db"]
            with db.uow() as session:
                shop_id = install_sandbox_shop(session, DOMAIN, name="Bench", currency="PLN").id
                session.commit()
            t = time.perf_counter()
            totals = run_backfill(db, shop_id)
            elapsed = time.perf_counter() - t
            with db.uow() as session:
                stored = session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))
        rate = totals["orders"] / elapsed
        print(f"backfill into {args.database:10}: {rate:8.0f} orders/s  ({totals['orders']:,} orders and "
              f"{totals['customers']:,} customers in {elapsed:.1f} s; {stored:,} orders stored)")
        print(f"ratio to adapter paging alone : {rate / baseline:.2f}")
        print(f"peak RSS                      : {rss_mb():.0f} MB (before the backfill: {rss_before:.0f} MB)")
        print("targets: >= 1,000 orders/s, RSS < 300 MB")
    finally:
        if args.database == "postgresql":
            with admin.connect() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
