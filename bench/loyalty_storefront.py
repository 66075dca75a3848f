"""The loyalty widget's balance and rewards read under gunicorn with 32 concurrent clients, against bare Flask.

``GET /storefront/api/v1/loyalty/rewards`` (the member's available points and the rewards with whether
they cover each) signed the way the store signs its shoppers: an ``X-Storecare-Shopper`` token
(plugin/storefront/identity.py, ``issue_shopper_token``) for one of N members with points, a different
member at random on each request. Storecare is served as in production (gunicorn with
plugin/gunicorn_conf.py) on SQLite and on PostgreSQL (+ Redis), and a bare Flask endpoint answering a
fixed document of the same shape (bench/apps.py) is served the same way in the same run; wrk loads
each in alternating rounds. Prints every round, then each app's median round, its ratio to the bare
endpoint (target >= 0.5) and its p99 (target < 30 ms).

    .venv/bin/python bench/loyalty_storefront.py [--seconds 8] [--rounds 3] [--warmup 2] [--connections 32]
                                                 [--members 1000] [--backend sqlite|postgres|both]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.webhooks import PG_URL, free_port, serve, stop  # noqa: E402

DOMAIN = "bench.sandbox.test"
PATH = "/storefront/api/v1/loyalty/rewards"
TARGET_RATIO, TARGET_P99_MS = 0.5, 30.0


def prepare(env: dict, members: int) -> list[str]:
    """Migrate, install a sandbox shop with its program on, four rewards and ``members`` members with
    points; returns a shopper token for each member (valid ~10 minutes, as the store issues them)."""
    from flask import current_app

    from adapters.sandbox import SandboxStore, seed_shop
    from plugin import create_app
    from plugin.admin.shop_settings import save, section
    from plugin.loyalty import ledger
    from plugin.loyalty.members import ensure_member
    from plugin.loyalty.rewards import create_reward
    from plugin.loyalty.settings import DEFAULTS
    from plugin.migrate import upgrade
    from plugin.settings import Settings
    from plugin.shops.models import Shop
    from plugin.shops.service import install_sandbox_shop
    from plugin.storefront.identity import issue_shopper_token
    from plugin.sync.models import Customer

    settings = Settings.from_env(env)
    upgrade(settings.database_url)
    seed_shop(SandboxStore(settings.sandbox_path), DOMAIN, customers=0, orders=0)
    app = create_app(settings)
    with app.app_context():
        db = app.extensions["storecare.db"]
        with db.uow() as s:
            shop_id = install_sandbox_shop(s, DOMAIN, name="Bench", currency="PLN",
                                           webhook_address="http://127.0.0.1:9").id
            s.commit()
        with db.uow() as s:
            save(s, shop_id, section(current_app, "loyalty"), {**DEFAULTS, "enabled": True, "history": "zero"})
        with db.uow() as s:
            for name, kind, cost, value in (("10 zł off", "fixed_amount", 500, "10.00"),
                                            ("10% off", "percentage", 1000, "10"),
                                            ("Free shipping", "free_shipping", 400, "15.00"),
                                            ("Store credit", "store_credit", 2000, "40.00")):
                create_reward(s, shop_id, {"name": name, "kind": kind, "cost": cost, "value": value})
            for n in range(1, members + 1):
                customer = Customer(shop_id=shop_id, platform_id=f"c{n}", email=f"member{n}@example.com")
                s.add(customer)
                s.flush()
                member = ensure_member(s, shop_id, customer.id)
                ledger.credit(s, member, 300 + n % 1500, source="manual", source_id="bench", reason="Bench")
            s.commit()
        with db.uow() as s:
            shop = s.get(Shop, shop_id)
            tokens = [issue_shopper_token(shop, f"c{n}") for n in range(1, members + 1)]
        db.dispose()
    return tokens


def wrk_script(path: Path, tokens: list[str]) -> None:
    listed = ",\n".join(f'"{t}"' for t in tokens)
    path.write_text(f"""
local tokens = {{
{listed}
}}
wrk.method = "GET"
setup = function(thread) thread:set("seed", math.random(1, 1e9)) end
init = function(args) math.randomseed(seed) end
request = function()
  wrk.headers["X-Storecare-Shopper"] = tokens[math.random(1, #tokens)]
  return wrk.format("GET", "{PATH}")
end
""")


def run_wrk(port: int, script: Path, seconds: int, connections: int) -> dict:
    done = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
                           "-s", str(script), f"http://127.0.0.1:{port}{PATH}"],
                          capture_output=True, text=True, check=True)
    out, err = done.stdout, done.stderr
    if "Requests/sec" not in out or ".lua:" in err:
        raise SystemExit(f"wrk did not run the script:\n{err}{out}")

    def ms(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"),
            "p99": ms("99%"), "errors": int(non2xx.group(1)) if non2xx else 0}


def measure(work: Path, base_env: dict, backend: str | None, app_spec: str, args) -> dict:
    """Serve ``app_spec`` on a fresh database (the bare app: none), warm it up, load it, stop it."""
    env = dict(base_env)
    engine = schema = None
    work.mkdir(parents=True)
    env["STORECARE_DATA_DIR"] = str(work)
    if backend == "postgres":
        import sqlalchemy

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        engine = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        env["STORECARE_DATABASE_URL"] = f"{PG_URL}?options=-csearch_path%3D{schema}"
        env["STORECARE_REDIS_URL"] = "redis://127.0.0.1:6379/14"
        env["STORECARE_QUEUE_NAME"] = schema
    tokens = prepare(env, args.members) if backend else ["bare"]
    script = work / "rewards.lua"
    wrk_script(script, tokens)
    port = free_port()
    proc = serve(app_spec, env, port, args.workers, args.threads)
    try:
        run_wrk(port, script, args.warmup, args.connections)  # warm-up: the processes start, their caches fill
        return run_wrk(port, script, args.seconds, args.connections)
    finally:
        stop(proc)
        if backend == "postgres":
            import redis
            import sqlalchemy

            with engine.connect() as c:
                c.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
            redis.Redis.from_url(env["STORECARE_REDIS_URL"]).flushdb()
            engine.dispose()


def median_of(rounds: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in rounds) for key in ("rps", "p50", "p99", "errors")}


def main() -> None:
    from plugin import gunicorn_conf

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before the measured run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--members", type=int, default=1000, help="members with points, one drawn per request")
    parser.add_argument("--workers", type=int, default=gunicorn_conf.workers)
    parser.add_argument("--threads", type=int, default=gunicorn_conf.threads)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="storecare-bench-"))
    base_env = {**os.environ, "STORECARE_ENV": "demo", "STORECARE_LOG_LEVEL": "WARNING"}
    runs = [("bare Flask", None, "bench.apps:bare()")]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    runs += [("Storecare, SQLite" if b == "sqlite" else "Storecare, PostgreSQL + Redis", b,
              "bench.apps:storecare()") for b in backends]
    results: dict[str, list[dict]] = {label: [] for label, _, _ in runs}
    try:
        for round_ in range(args.rounds):  # alternating, so that a slow spell of the machine hits all alike
            for number, (label, backend, app_spec) in enumerate(runs):
                result = measure(work / f"run-{round_}-{number}", base_env, backend, app_spec, args)
                results[label].append(result)
                print(f"round {round_ + 1}  {label:30}: {result['rps']:6.0f} req/s  p50 {result['p50']:6.2f} ms  "
                      f"p99 {result['p99']:6.2f} ms  non-2xx {result['errors']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nGET {PATH}, {args.members} members; medians over {args.rounds} rounds of {args.seconds} s, "
          f"{args.connections} connections, {args.workers} workers x {args.threads} threads:")
    bare = median_of(results["bare Flask"])
    for label, backend, _ in runs:
        f = median_of(results[label])
        line = (f"{label:30}: {f['rps']:6.0f} req/s  p50 {f['p50']:6.2f} ms  p99 {f['p99']:6.2f} ms  "
                f"ratio to bare {f['rps'] / bare['rps']:.2f}")
        if backend:
            met = f["rps"] / bare["rps"] >= TARGET_RATIO and f["p99"] < TARGET_P99_MS and not f["errors"]
            line += f"  ({'meets' if met else 'MISSES'} >= {TARGET_RATIO} and p99 < {TARGET_P99_MS:.0f} ms)"
        print(line)


if __name__ == "__main__":
    main()
