"""The loyalty ledger at size on PostgreSQL: a balance read on a full ledger against an empty one, and
crediting points for synced orders through the real subscriber path.

Two fresh schemas (migrated to head) hold the same shop, customers and members, seeded by COPY (not
timed); one also holds a ledger of ``--entries`` entries spread over the members (interleaved as time
would write them, the members' balances set to their sums), the other none. Then:

1. the balance read, timed on both in alternating rounds on the same random members: the storefront's
   read path through the app's functions (``enrolled_member`` without enrolling, then
   ``ledger.balance``, as ``GET /loyalty/rewards`` reads it). Target: full / empty <= 1.2. The
   member document (``flask loyalty member``: balance, tier and every entry) is timed too, for what
   the member's history costs (it reads the member's entries, so it is not expected to stay flat).
2. crediting ``--orders`` synced orders of the members on the full ledger: their OrderPaid facts are
   recorded as the sync records them (``events.record_facts``, timed apart) and delivered to the
   ``loyalty.points`` subscriber by the real dispatcher (``plugin.sync.dispatch.deliver``). Target:
   >= 2,000 orders/s. ``--profile`` prints where the delivery's time goes (cProfile).

    .venv/bin/python bench/loyalty_ledger.py [--members 20000] [--entries 500000] [--orders 10000]
    .venv/bin/python bench/loyalty_ledger.py --full    # 200,000 members, 5,000,000 entries, 100,000 orders
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOMAIN = "bench.sandbox.test"
READ_TARGET, ORDERS_TARGET = 1.2, 2000.0
SOURCES = ("order", "order", "order", "signup", "review", "manual", "redemption", "referral")


def seed_members(engine, shop_id: int, members: int, now: datetime) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            with cur.copy("COPY customers (id, shop_id, platform_id, email, accepts_marketing, orders_count, "
                          "total_spent, synced_at) FROM STDIN") as copy:
                for n in range(1, members + 1):
                    copy.write_row((n, shop_id, str(n), f"member{n}@example.com", False, 0, 0, now))
            with cur.copy("COPY loyalty_members (id, shop_id, customer_id, status, joined_at, referral_code, "
                          "pending, approved, spent, expired, lifetime, owed, last_activity_at) FROM STDIN") as copy:
                for n in range(1, members + 1):
                    copy.write_row((n, shop_id, n, "active", now, f"R{n:09d}", 0, 0, 0, 0, 0, 0, now))
            cur.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), %s)", (members,))
            cur.execute("SELECT setval(pg_get_serial_sequence('loyalty_members', 'id'), %s)", (members,))
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:  # both stores alike: hint bits set, visibility map and statistics made
            cur.execute("VACUUM ANALYZE customers")
            cur.execute("VACUUM ANALYZE loyalty_members")
    finally:
        raw.close()


def seed_ledger(engine, shop_id: int, members: int, entries: int, now: datetime) -> None:
    """``entries`` approved entries, member after member in turn (as time interleaves them), then each
    member's balance set to its entries' sum."""
    start = now - timedelta(days=730)
    step = timedelta(days=730) / max(entries, 1)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            with cur.copy("COPY loyalty_ledger (id, shop_id, member_id, points, state, source, source_id, kind, "
                          "reason, reason_params, created_at) FROM STDIN") as copy:
                chunk = []
                for n in range(1, entries + 1):
                    source = SOURCES[n % len(SOURCES)]
                    points = -(n % 300 + 100) if source == "redemption" else n % 97 + 5
                    created = (start + step * n).isoformat()
                    chunk.append(f"{n}\t{shop_id}\t{(n - 1) % members + 1}\t{points}\tapproved\t{source}\th{n}\t"
                                 f"{'debit' if points < 0 else 'credit'}\tPoints for order %(number)s\t"
                                 f'{{"number": "#{n}"}}\t{created}\n')
                    if len(chunk) == 10_000:
                        copy.write("".join(chunk))
                        chunk = []
                copy.write("".join(chunk))
            cur.execute("SELECT setval(pg_get_serial_sequence('loyalty_ledger', 'id'), %s)", (entries,))
            cur.execute("UPDATE loyalty_members m SET approved = greatest(s.total, 0), lifetime = s.earned, "
                        "spent = s.spent FROM (SELECT member_id, sum(points) AS total, "
                        "sum(greatest(points, 0)) AS earned, -sum(least(points, 0)) AS spent "
                        "FROM loyalty_ledger GROUP BY member_id) s WHERE s.member_id = m.id")
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE loyalty_members")
            cur.execute("VACUUM ANALYZE loyalty_ledger")
    finally:
        raw.close()


def seed_orders(engine, shop_id: int, members: int, orders: int, now: datetime, rng) -> list[tuple]:
    """``orders`` paid orders of random members (ids after the ledger's); returns (id, customer, total)."""
    made = []
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            with cur.copy("COPY orders (id, shop_id, platform_id, number, customer_id, email, currency, subtotal, "
                          "total, total_discounts, total_tax, total_refunded, financial_status, fulfillment_status, "
                          "discount_codes, created_at, paid_at, platform_updated_at, synced_at) FROM STDIN") as copy:
                for n in range(1, orders + 1):
                    customer = rng.randint(1, members)
                    total = rng.randint(20, 900)
                    created = now - timedelta(minutes=orders - n)
                    copy.write_row((n, shop_id, f"o{n}", f"#{n}", customer, f"member{customer}@example.com", "PLN",
                                    total, total, 0, 0, 0, "paid", "unfulfilled", "[]", created, created, created, now))
                    made.append((n, customer, total, created))
            cur.execute("SELECT setval(pg_get_serial_sequence('orders', 'id'), %s)", (orders,))
            cur.execute("ANALYZE orders")
        conn.commit()
    finally:
        raw.close()
    return made


class Store:
    """One schema with its app."""

    def __init__(self, admin, work: Path, label: str):
        from sqlalchemy import text

        from plugin import create_app
        from plugin.migrate import upgrade
        from plugin.settings import Settings

        self.schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(text(f"CREATE SCHEMA {self.schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{self.schema}"
        upgrade(url)
        (work / label).mkdir()
        settings = Settings(env="demo", database_url=url, queue_path=str(work / label / "queue.db"),
                            sandbox_path=str(work / label / "sandbox.db"), log_level="WARNING").validated()
        self.app = create_app(settings)
        self.db = self.app.extensions["storecare.db"]

    def make_shop(self, now: datetime) -> int:
        from flask import current_app

        from plugin.admin.shop_settings import save, section
        from plugin.loyalty.settings import DEFAULTS
        from plugin.shops.models import Shop

        with self.app.app_context(), self.db.uow() as s:
            shop = Shop(platform="sandbox", domain=DOMAIN, name="Bench", currency="PLN")
            s.add(shop)
            s.commit()
            self.shop_id = shop.id
            save(s, shop.id, section(current_app, "loyalty"), {**DEFAULTS, "enabled": True, "history": "zero",
                                                                "signup_points": 0})
        return self.shop_id


def time_reads(stores: dict[str, Store], customers: list[int]) -> dict[str, tuple[float, float]]:
    """Microseconds per read, median over the customers, for each store (read in turn, member after
    member, so that a slow spell of the machine hits both alike): the storefront's balance read, and
    the member document."""
    from plugin.loyalty import ledger
    from plugin.loyalty.models import LoyaltyMember
    from plugin.loyalty.redemption import enrolled_member
    from plugin.loyalty.reports import member_document

    timings = {label: ([], []) for label in stores}
    order = list(stores.items())
    for number, customer in enumerate(customers):
        # the first read of a pair was measured slower (the other app's context and pool were the last
        # used): each store goes first for half of the members
        for label, store in (order if number % 2 == 0 else order[::-1]):
            balance_us, document_us = timings[label]
            with store.app.app_context():
                t = time.perf_counter()
                member = enrolled_member(store.db, store.shop_id, customer, enrol=False)
                ledger.balance(member)
                balance_us.append((time.perf_counter() - t) * 1e6)
                t = time.perf_counter()
                with store.db.uow() as s:
                    member_document(s, s.get(LoyaltyMember, member.id))
                document_us.append((time.perf_counter() - t) * 1e6)
    return {label: (statistics.median(b), statistics.median(d)) for label, (b, d) in timings.items()}


def credit_orders(store: Store, orders: list[tuple], profile: bool) -> None:
    from plugin.sync import dispatch, events, payloads

    facts = [payloads.OrderPaid(order_id=n, order_platform_id=f"o{n}", order_number=f"#{n}", customer_id=customer,
                                customer_platform_id=str(customer), currency="PLN", total=f"{total}.00",
                                source="webhook", historical=False, occurred_at=created.isoformat(),
                                subtotal=f"{total}.00", total_tax="0.00", total_discounts="0.00",
                                line_items=(payloads.LineItemData("p1", "Product", 1, f"{total}.00", f"{total}.00"),))
             for n, customer, total, created in orders]
    with store.app.app_context():
        t = time.perf_counter()
        for start in range(0, len(facts), 1000):  # as the sync records them: a page of orders at a time
            with store.db.uow() as s:
                events.record_facts(s, store.shop_id, facts[start:start + 1000])
                s.commit()
        recorded_s = time.perf_counter() - t
        subscription = store.app.extensions["storecare.events"].subscription("loyalty.points")
        profiler = cProfile.Profile() if profile else None
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        delivered = dispatch.deliver(store.db, subscription, store.shop_id)
        if profiler:
            profiler.disable()
        delivered_s = time.perf_counter() - t
        from sqlalchemy import func, select

        from plugin.loyalty.models import LedgerEntry
        with store.db.uow() as s:
            credited = s.scalar(select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.shop_id == store.shop_id, LedgerEntry.source == "order", LedgerEntry.order_id.is_not(None)))
    n = len(orders)
    print(f"recorded {n:,} OrderPaid facts in {recorded_s:.1f} s ({n / recorded_s:,.0f}/s, the sync's part)")
    print(f"delivered {delivered:,} to loyalty.points in {delivered_s:.1f} s: {n / delivered_s:,.0f} orders/s "
          f"({credited:,} order credits written); with recording {n / (recorded_s + delivered_s):,.0f} orders/s")
    print(f"target >= {ORDERS_TARGET:,.0f} orders/s: {'met' if n / delivered_s >= ORDERS_TARGET else 'MISSED'}")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(r"plugin/|commit|psycopg/connection", 40)  # our functions and the waits on the server
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--orders", type=int, default=None, help="10,000 (--full: 100,000)")
    parser.add_argument("--reads", type=int, default=1000, help="members read in each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="200,000 members, 5,000,000 entries, 100,000 orders "
                                                            "(unless --orders says otherwise)")
    parser.add_argument("--profile", action="store_true", help="profile the delivery to loyalty.points")
    args = parser.parse_args()
    if args.full:
        args.members, args.entries = 200_000, 5_000_000
    if args.orders is None:
        args.orders = 100_000 if args.full else 10_000

    from sqlalchemy import create_engine, text

    work = Path(tempfile.mkdtemp(prefix="storecare-ledger-"))
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    stores: list[Store] = []
    rng = random.Random(5)
    now = datetime.now(UTC)
    try:
        empty = Store(admin, work, "empty")
        stores.append(empty)
        full = Store(admin, work, "full")
        stores.append(full)
        t = time.perf_counter()
        for store in (empty, full):
            store.make_shop(now)
            seed_members(store.db.engine, store.shop_id, args.members, now)
        seed_ledger(full.db.engine, full.shop_id, args.members, args.entries, now)
        print(f"seeded {args.members:,} members twice and {args.entries:,} ledger entries "
              f"({args.entries / args.members:.0f} a member) in {time.perf_counter() - t:.0f} s (not timed)",
              flush=True)

        pair = {"empty": empty, "full": full}
        time_reads(pair, [rng.randint(1, args.members) for _ in range(100)])  # warm-up: connections, caches
        rounds = {"empty": [], "full": []}
        for round_ in range(args.rounds):
            timed = time_reads(pair, [rng.randint(1, args.members) for _ in range(args.reads)])
            for label in pair:
                rounds[label].append(timed[label])
                balance_us, document_us = timed[label]
                print(f"round {round_ + 1}  {label:5} ledger: balance read {balance_us:7.0f} us  "
                      f"member document {document_us:7.0f} us", flush=True)
        medians = {label: tuple(statistics.median(r[i] for r in rounds[label]) for i in (0, 1)) for label in rounds}
        ratio = medians["full"][0] / medians["empty"][0]
        print(f"balance read (storefront path), median of {args.rounds} rounds x {args.reads} members: "
              f"empty {medians['empty'][0]:.0f} us, {args.entries:,} entries {medians['full'][0]:.0f} us, "
              f"ratio {ratio:.2f} (target <= {READ_TARGET}: {'met' if ratio <= READ_TARGET else 'MISSED'})")
        print(f"member document (every entry of the member): empty {medians['empty'][1]:.0f} us, "
              f"full {medians['full'][1]:.0f} us, ratio {medians['full'][1] / medians['empty'][1]:.2f}", flush=True)

        t = time.perf_counter()
        orders = seed_orders(full.db.engine, full.shop_id, args.members, args.orders, now, rng)
        print(f"seeded {args.orders:,} paid orders in {time.perf_counter() - t:.0f} s (not timed)", flush=True)
        credit_orders(full, orders, args.profile)
    finally:
        for store in stores:
            store.db.dispose()
            with admin.connect() as c:
                c.execute(text(f"DROP SCHEMA {store.schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
