"""Import of past orders into the loyalty program (turning the program on): orders/s.

Writes N paid orders (two lines each, one in ten partly refunded, one in twenty a guest's order matched
by email) for N/4 customers straight into the mirror of a fresh PostgreSQL schema (not timed), then runs
the real import (plugin/loyalty/importing.py) and prints the figures. Target: 100,000 orders < 60 s.

    .venv/bin/python bench/loyalty_import.py [--orders 100000] [--database postgresql|sqlite]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()

    from flask import current_app
    from sqlalchemy import create_engine, func, insert, select, text

    from plugin import create_app
    from plugin.admin import shop_settings
    from plugin.loyalty.importing import import_history
    from plugin.loyalty.models import LedgerEntry, LoyaltyMember
    from plugin.loyalty.settings import DEFAULTS
    from plugin.migrate import upgrade
    from plugin.settings import Settings
    from plugin.shops.models import Shop
    from plugin.sync.models import Customer, LineItem, Order, Refund

    work = Path(tempfile.mkdtemp(prefix="storecare-loyalty-"))
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
        app = create_app(settings)
        with app.app_context():
            db = app.extensions["storecare.db"]
            t = time.perf_counter()
            start = datetime(2025, 1, 1, tzinfo=UTC)
            with db.uow() as s:
                shop = Shop(platform="sandbox", domain="bench.sandbox.test", name="Bench", currency="PLN",
                            status="installed")
                s.add(shop)
                s.flush()
                shop_id = shop.id
                n_customers = max(1, args.orders // 4)
                s.execute(insert(Customer), [{"shop_id": shop_id, "platform_id": str(i), "email": f"c{i}@example.com",
                                              "orders_count": 4, "total_spent": Decimal(0)}
                                             for i in range(n_customers)])
                ids = s.scalars(select(Customer.id).where(Customer.shop_id == shop_id).order_by(Customer.id)).all()
                for first in range(0, args.orders, 10_000):
                    rows = []
                    for n in range(first, min(args.orders, first + 10_000)):
                        when = start + timedelta(minutes=n)
                        total = Decimal(20 + n % 180) + Decimal("0.99")
                        guest, refunded = n % 20 == 0, n % 10 == 1
                        rows.append({"shop_id": shop_id, "platform_id": f"o{n}", "number": f"#{n}",
                                     "customer_id": None if guest else ids[n % len(ids)],
                                     "email": f"c{n % len(ids)}@example.com", "currency": "PLN",
                                     "subtotal": total, "total": total, "total_discounts": Decimal(0),
                                     "total_tax": Decimal(0), "total_refunded": Decimal(10 if refunded else 0),
                                     "financial_status": "partially_refunded" if refunded else "paid",
                                     "fulfillment_status": "fulfilled", "created_at": when, "paid_at": when,
                                     "platform_updated_at": when})
                    s.execute(insert(Order), rows)
                orders = s.execute(select(Order.id, Order.total, Order.total_refunded)
                                   .where(Order.shop_id == shop_id)).all()
                for first in range(0, len(orders), 10_000):
                    chunk = orders[first:first + 10_000]
                    s.execute(insert(LineItem), [{"shop_id": shop_id, "order_id": o.id, "platform_id": f"{o.id}-{i}",
                                                  "product_id": f"p{i}", "title": "Coffee", "quantity": 1,
                                                  "unit_price": o.total / 2, "total": o.total / 2}
                                                 for o in chunk for i in range(2)])
                    refunds = [{"shop_id": shop_id, "order_id": o.id, "platform_id": f"r{o.id}",
                                "amount": o.total_refunded, "created_at": start} for o in chunk if o.total_refunded]
                    if refunds:
                        s.execute(insert(Refund), refunds)
                s.commit()
            print(f"wrote {args.orders:,} orders for {n_customers:,} customers in {time.perf_counter() - t:.1f} s "
                  "(not timed below)")
            with db.uow() as s:  # the program on (its import job is queued; the bench runs the import itself)
                shop_settings.save(s, shop_id, shop_settings.section(current_app, "loyalty"),
                                   {**DEFAULTS, "enabled": True,
                                    "multipliers": [{"product_id": "p1", "multiplier": "2"}]})
            t = time.perf_counter()
            credited = import_history(db, shop_id, datetime.now(UTC))
            elapsed = time.perf_counter() - t
            with db.uow() as s:
                entries = s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.shop_id == shop_id))
                members = s.scalar(select(func.count()).select_from(LoyaltyMember)
                                   .where(LoyaltyMember.shop_id == shop_id))
                total = s.scalar(select(func.sum(LoyaltyMember.approved)).where(LoyaltyMember.shop_id == shop_id))
            t = time.perf_counter()
            again = import_history(db, shop_id, datetime.now(UTC))
            second = time.perf_counter() - t
            app.extensions["storecare.db"].dispose()
        print(f"import into {args.database:10}: {credited / elapsed:8.0f} orders/s  ({credited:,} orders in "
              f"{elapsed:.1f} s; {entries:,} entries, {members:,} members, {total:,} points)")
        print(f"run again                 : {again} orders credited in {second:.1f} s")
        print("target: 100,000 orders < 60 s")
    finally:
        if args.database == "postgresql":
            with admin.connect() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
