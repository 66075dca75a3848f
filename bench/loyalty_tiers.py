"""Tier recalculation for 200,000 members on PostgreSQL: seconds, against the 60 s budget.

Seeds a fresh PostgreSQL schema (migrated to head) with one shop, its customers, their paid orders
(some refunded in part, some cancelled, spread over two years) and a member per customer, by COPY
(not timed); makes three tiers through the editor; then times the real recalculation
(``plugin.loyalty.tiers.recalculate``) twice: the first run places every member (most change tier),
the second finds nothing to change. Prints both and the ratio of the first to the budget.

    .venv/bin/python bench/loyalty_tiers.py [--members 200000] [--orders-per-member 3] [--basis spend]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BUDGET_S = 60.0


def seed(engine, shop_id: int, members: int, per_member: int, now: datetime) -> int:
    """Customers, orders and members by COPY; returns the number of orders."""
    rng = random.Random(12)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            with cur.copy("COPY customers (id, shop_id, platform_id, email, accepts_marketing, orders_count, "
                          "total_spent, synced_at) FROM STDIN") as copy:
                for n in range(1, members + 1):
                    copy.write_row((n, shop_id, str(n), f"member{n}@example.com", False, 0, 0, now))
            orders = 0
            with cur.copy("COPY orders (id, shop_id, platform_id, number, customer_id, email, currency, subtotal, "
                          "total, total_discounts, total_tax, total_refunded, financial_status, fulfillment_status, "
                          "discount_codes, created_at, paid_at, cancelled_at, platform_updated_at, synced_at) "
                          "FROM STDIN") as copy:
                for n in range(1, members + 1):
                    for _ in range(rng.randint(0, 2 * per_member)):
                        orders += 1
                        total = rng.randint(20, 900)
                        created = now - timedelta(days=rng.randint(0, 730), seconds=rng.randint(0, 86399))
                        roll = rng.random()
                        status, refunded, cancelled = "paid", 0, None
                        if roll < 0.05:
                            status, refunded = "partially_refunded", total // 3
                        elif roll < 0.08:
                            status, cancelled = "voided", created + timedelta(hours=2)
                        copy.write_row((orders, shop_id, f"o{orders}", f"#{orders}", n, f"member{n}@example.com",
                                        "PLN", total, total, 0, 0, refunded, status, "fulfilled", "[]", created,
                                        created, cancelled, created, now))
            with cur.copy("COPY loyalty_members (id, shop_id, customer_id, status, joined_at, referral_code, "
                          "pending, approved, spent, expired, lifetime, owed, last_activity_at) FROM STDIN") as copy:
                for n in range(1, members + 1):
                    copy.write_row((n, shop_id, n, "active", now, f"R{n:09d}", 0, 0, 0, 0, 0, 0, now))
            cur.execute("ANALYZE customers")
            cur.execute("ANALYZE orders")
            cur.execute("ANALYZE loyalty_members")
        conn.commit()
    finally:
        raw.close()
    return orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--orders-per-member", type=int, default=3, help="on average")
    parser.add_argument("--basis", choices=("spend", "orders", "points"), default="spend")
    parser.add_argument("--period", choices=("lifetime", "calendar_year", "rolling_12"), default="rolling_12")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    from plugin import create_app
    from plugin.admin.shop_settings import save, section
    from plugin.loyalty import tiers
    from plugin.loyalty.settings import DEFAULTS
    from plugin.migrate import upgrade
    from plugin.settings import Settings
    from plugin.shops.models import Shop

    work = Path(tempfile.mkdtemp(prefix="storecare-tiers-"))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    settings = Settings(env="demo", database_url=url, queue_path=str(work / "queue.db"),
                        sandbox_path=str(work / "sandbox.db"), log_level="WARNING").validated()
    try:
        upgrade(url)
        app = create_app(settings)
        with app.app_context():
            db = app.extensions["storecare.db"]
            now = datetime.now(UTC)
            with db.uow() as session:
                shop = Shop(platform="sandbox", domain="bench.sandbox.test", name="Bench", currency="PLN")
                session.add(shop)
                session.commit()
                shop_id = shop.id
                save(session, shop_id, section(app, "loyalty"), {**DEFAULTS, "enabled": True,
                                                                 "tier_basis": args.basis, "tier_period": args.period})
            t = time.perf_counter()
            orders = seed(db.engine, shop_id, args.members, args.orders_per_member, now)
            print(f"seeded {args.members:,} members with {orders:,} orders in {time.perf_counter() - t:.1f} s "
                  f"(not timed)")
            thresholds = {"spend": ("0", "800", "2000"), "orders": ("0", "2", "5"), "points": ("0", "800", "2000")}
            with db.uow() as session:
                for name, entry in zip(("Bronze", "Silver", "Gold"), thresholds[args.basis], strict=True):
                    tiers.create_tier(session, shop_id, {"name": name, "entry_threshold": entry,
                                                         "retention_threshold": str(int(entry) * 3 // 4)})
                session.commit()

            t = time.perf_counter()
            first = tiers.recalculate(db, shop_id)
            first_s = time.perf_counter() - t
            t = time.perf_counter()
            second = tiers.recalculate(db, shop_id)
            second_s = time.perf_counter() - t
            with db.uow() as session:
                counts = session.execute(text(
                    "SELECT t.name, count(m.id) FROM loyalty_members m LEFT JOIN loyalty_tiers t "
                    "ON t.id = m.tier_id WHERE m.shop_id = :shop GROUP BY t.name ORDER BY t.name"),
                    {"shop": shop_id}).all()
            print(f"basis {args.basis}, period {args.period}; members per tier: "
                  + ", ".join(f"{name or 'none'} {n:,}" for name, n in counts))
            print(f"first recalculation : {first_s:6.2f} s  {first.members:,} members, "
                  f"{len(first.changed_member_ids):,} changed tier")
            print(f"second (no change)  : {second_s:6.2f} s  {second.members:,} members, "
                  f"{len(second.changed_member_ids):,} changed tier")
            print(f"budget {BUDGET_S:.0f} s: ratio {first_s / BUDGET_S:.3f} "
                  f"({'within' if first_s < BUDGET_S else 'OVER'} the budget)")
            db.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
