"""Webhook acknowledgement under gunicorn with 32 concurrent clients, against a bare Flask endpoint.

Both apps are served the same way (gunicorn with plugin/gunicorn_conf.py) in the same run and loaded
by wrk (Debian package) with signed sandbox webhooks, each with a new delivery id, so every request
stores an inbox row and queues a job. Prints requests/s, p50 and p99 for each round, then each app's
median round and its ratio to the bare endpoint.

With ``--anatomy`` it also serves Storecare (SQLite) without the database write, and without the
hand-over to the inbox writer (bench/apps.py ``storecare_without``), to show what each stage costs.

    .venv/bin/python bench/webhooks.py [--seconds 8] [--rounds 3] [--connections 32]
                                       [--backend sqlite|postgres|both] [--anatomy]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin.lifeline import tethered  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOMAIN = "bench.sandbox.test"
SECRET = "bench-webhook-secret"
BODY_FILE = ROOT / "tests" / "fixtures" / "sandbox-order.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict) -> None:
    """Migrate the database and install the benchmark shop with a known webhook secret."""
    from plugin import create_app
    from plugin.migrate import upgrade
    from plugin.settings import Settings
    from plugin.shops.models import Shop

    settings = Settings.from_env(env)
    upgrade(settings.database_url)
    app = create_app(settings)
    with app.app_context():
        db, vault = app.extensions["storecare.db"], app.extensions["storecare.vault"]
        with db.uow() as s:
            s.add(Shop(platform="sandbox", domain=DOMAIN, name="Bench", currency="PLN",
                       credentials_encrypted=vault.encrypt({"webhook_secret": SECRET})))
            s.commit()
    app.extensions["storecare.db"].dispose()


def lua_string(data: bytes) -> str:
    """A Lua string literal of these exact bytes: printable ASCII as it is, anything else as \\ddd
    (Lua has no \\u escape, and a body with "Stępień" in it must reach the app byte for byte)."""
    out = []
    for byte in data:
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(path: Path, body: bytes) -> None:
    from plugin.security import sign_base64

    signature = sign_base64(SECRET, body)
    lua = f"""
wrk.method = "POST"
wrk.body = {lua_string(body)}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Sandbox-Topic"] = "orders/create"
wrk.headers["X-Sandbox-Shop-Domain"] = "{DOMAIN}"
wrk.headers["X-Sandbox-Hmac-Sha256"] = "{signature}"
wrk.headers["X-Sandbox-Triggered-At"] = "2026-11-20T10:00:00Z"
local counter = 0
local prefix = "{uuid.uuid4().hex[:8]}"
setup = function(thread) thread:set("tid", tostring(math.random(1, 1e9))) end
request = function()
  counter = counter + 1
  wrk.headers["X-Sandbox-Webhook-Id"] = prefix .. "-" .. tid .. "-" .. counter
  return wrk.format()
end
"""
    path.write_text(lua)


def serve(app_spec: str, env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    # Both apps are served by Storecare's own gunicorn configuration (plugin/gunicorn_conf.py).
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-c", "python:plugin.gunicorn_conf", "-w", str(workers),
           "--threads", str(threads), "-b", f"127.0.0.1:{port}", app_spec]
    # tethered: gunicorn gets SIGTERM if the bench dies, however it ends (plugin/lifeline.py)
    proc = subprocess.Popen(tethered(cmd), cwd=ROOT, env=env, start_new_session=True)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=0.5)
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn did not start for {app_spec}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def run_wrk(port: int, script: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
                          "-s", str(script), f"http://127.0.0.1:{port}/webhooks/sandbox"],
                         capture_output=True, text=True, check=True)
    out, err = out.stdout, out.stderr
    def ms(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if "Requests/sec" not in out or ".lua:" in err:  # a script that does not load sends bare GETs
        raise SystemExit(f"wrk did not run the script:\n{err}{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%"),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def main() -> None:
    from plugin import gunicorn_conf

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    # both apps are served as Storecare is in production: plugin/gunicorn_conf.py's workers and threads
    parser.add_argument("--workers", type=int, default=gunicorn_conf.workers)
    parser.add_argument("--threads", type=int, default=gunicorn_conf.threads)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--anatomy", action="store_true", help="also measure Storecare without some stages")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    body = BODY_FILE.read_bytes()
    work = Path(tempfile.mkdtemp(prefix="storecare-bench-"))
    script = work / "webhook.lua"
    wrk_script(script, body)
    base_env = {**os.environ, "STORECARE_ENV": "demo", "STORECARE_LOG_LEVEL": "WARNING",
                "STORECARE_DATA_DIR": str(work)}
    runs = [("bare Flask", None, "bench.apps:bare()")]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    runs += [("Storecare, SQLite + SQLite queue" if b == "sqlite" else "Storecare, PostgreSQL + Redis", b,
              "bench.apps:storecare()") for b in backends]
    if args.anatomy:
        runs += [("  without the database write", "sqlite", 'bench.apps:storecare_without("database")'),
                 ("  without the inbox hand-over", "sqlite", 'bench.apps:storecare_without("writer")')]
    # Rounds alternate the apps, so that a slow spell of this shared machine hits them all alike; the
    # figures are each app's median round.
    results: dict[str, list[dict]] = {label: [] for label, _, _ in runs}
    for round_ in range(args.rounds):
        for number, (label, backend, app_spec) in enumerate(runs):
            result = measure(work / f"run-{round_}-{number}", base_env, backend, app_spec, script, args)
            results[label].append(result)
            print(f"round {round_ + 1}  {label:34}: {result['rps']:6.0f} req/s  p50 {result['p50']:6.2f} ms  "
                  f"p99 {result['p99']:6.2f} ms  non-2xx {result['errors']}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nmedians over {args.rounds} rounds of {args.seconds} s, {args.connections} connections, "
          f"{args.workers} workers x {args.threads} threads:")
    bare = median_of(results["bare Flask"])
    for label, _, _ in runs:
        figures = median_of(results[label])
        print(f"{label:34}: {figures['rps']:6.0f} req/s  p50 {figures['p50']:6.2f} ms  p99 {figures['p99']:6.2f} ms"
              f"  ratio to bare {figures['rps'] / bare['rps']:.2f}")


def median_of(rounds: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in rounds) for key in ("rps", "p50", "p99")}


def measure(data_dir: Path, base_env: dict, backend: str | None, app_spec: str, script: Path, args) -> dict:
    """Serve ``app_spec`` on a fresh database (none for the bare app), warm it up, load it, stop it."""
    env = dict(base_env)
    engine = schema = None
    if backend == "postgres":
        import sqlalchemy

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        engine = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        env["STORECARE_DATABASE_URL"] = f"{PG_URL}?options=-csearch_path%3D{schema}"
        env["STORECARE_REDIS_URL"] = "redis://127.0.0.1:6379/14"
        env["STORECARE_QUEUE_NAME"] = schema
    elif backend == "sqlite":
        data_dir.mkdir(parents=True)
        env["STORECARE_DATA_DIR"] = str(data_dir)
    if backend:
        prepare(env)
    port = free_port()
    proc = serve(app_spec, env, port, args.workers, args.threads)
    try:
        run_wrk(port, script, 2, args.connections)  # warm-up
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


if __name__ == "__main__":
    main()
