"""``make demo``: migrate, seed a sandbox store, install its shop, then run the web app and a worker.

Everything lives under var/demo (SQLite for the app, the queue and the sandbox store), so a second
run starts where the first stopped. Ctrl-C stops both processes, and so does closing the terminal
(SIGHUP) or ending the demo with SIGTERM; killed outright (SIGKILL), the demo takes them with it
(plugin/lifeline.py). None is left behind holding the port.

    PORT=5000 .venv/bin/python -m plugin.demo [--reset]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from plugin.lifeline import tethered

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "demo.sandbox.test"


DATA_DIR = ROOT / "var" / "demo"


def demo_port(environ=os.environ, data_dir: Path = DATA_DIR) -> int:
    """``PORT``; else the port the demo last started on (``var/demo/port``), so that a command from
    another terminal acts on the running demo (its webhook address, its links) without repeating PORT;
    else 5000."""
    if environ.get("PORT"):
        return int(environ["PORT"])
    try:
        return int((data_dir / "port").read_text().strip())
    except (OSError, ValueError):
        return 5000


def demo_environment(port: int) -> dict[str, str]:
    data_dir = DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "STORECARE_ENV": "demo", "STORECARE_DATA_DIR": str(data_dir),
            "STORECARE_APP_URL": f"http://127.0.0.1:{port}", "STORECARE_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1"}


def prepare(env: dict[str, str]) -> None:
    """Migrate; seed the sandbox store once; install (or re-install) the demo shop."""
    from adapters.sandbox.generator import seed_shop
    from adapters.sandbox.store import SandboxStore
    from plugin import create_app
    from plugin.loyalty.demo import seed_program
    from plugin.migrate import upgrade
    from plugin.settings import Settings
    from plugin.shops.service import install_sandbox_shop

    settings = Settings.from_env(env)
    upgrade(settings.database_url)
    store = SandboxStore(settings.sandbox_path)
    if not store.has_shop(DOMAIN):
        print("seeding the sandbox store: 500 customers, 3,000 orders over two years ...", flush=True)
        seed_shop(store, DOMAIN, seed=42, customers=500, orders=3000, currency="PLN", name="Kawa & Co.")
    app = create_app(settings)
    with app.app_context():
        db = app.extensions["storecare.db"]
        with db.uow() as session:
            shop = install_sandbox_shop(session, DOMAIN, name="Kawa & Co.", currency="PLN", locale="pl",
                                        webhook_address=settings.app_url)
            session.commit()
            seed_program(session, shop.id)  # the loyalty program, once (its history imported after the sync)
    app.extensions["storecare.db"].dispose()


def wait_until_up(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the web app stopped during start-up; see its output above")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"the web app did not answer {url} within {seconds:.0f} s")


def run_cli(argv: list[str]) -> None:
    """``python -m plugin.demo cli sandbox order ...``: any flask command against the demo's data."""
    env = demo_environment(demo_port())
    raise SystemExit(subprocess.call([sys.executable, "-m", "flask", "--app", "plugin", *argv], cwd=ROOT, env=env))


def main() -> None:
    if sys.argv[1:2] == ["cli"]:
        run_cli(sys.argv[2:])
    parser = argparse.ArgumentParser(description="Run the Storecare demo")
    parser.add_argument("--reset", action="store_true", help="start from an empty var/demo")
    args = parser.parse_args()
    port = int(os.environ.get("PORT", "5000"))
    if args.reset:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    env = demo_environment(port)
    (DATA_DIR / "port").write_text(f"{port}\n")
    prepare(env)
    base = env["STORECARE_APP_URL"]
    serve(port, env, banner=f"""
Storecare demo is running (the worker is syncing the sandbox shop in the background).

  Merchant admin:    {base}/demo/admin/{DOMAIN}
  Demo storefront:   {base}/demo/store/{DOMAIN}

Place an order as a shopper and watch it arrive in the admin (from another terminal):
  .venv/bin/python -m plugin.demo cli sandbox order --shop {DOMAIN} --guest
  .venv/bin/python -m plugin.demo cli sandbox refund --shop {DOMAIN} <order number>
Stop with Ctrl-C.
""")


def serve(port: int, env: dict[str, str], banner: str = "", web_workers: int = 2) -> None:
    """Run the web app (gunicorn) and a worker on ``env``'s settings until stopped, then stop both.

    Each child runs in a session of its own, so that a terminal's signals reach the demo only and the
    demo stops its children in order (SIGHUP would make gunicorn reload, not stop); each is tethered to
    the demo, so that it also stops if the demo is killed before it can."""
    bin_dir = Path(sys.executable).parent
    web = subprocess.Popen(tethered([str(bin_dir / "gunicorn"), "-c", "python:plugin.gunicorn_conf",
                                     "-w", str(web_workers), "-b", f"127.0.0.1:{port}", "plugin:create_app()"]),
                           cwd=ROOT, env=env, start_new_session=True)
    worker = subprocess.Popen(tethered([sys.executable, "-m", "flask", "--app", "plugin", "worker"]),
                              cwd=ROOT, env=env, start_new_session=True)
    children = (web, worker)

    def stop(*_):
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        raise SystemExit(0)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # Ctrl-C, kill, the terminal closing
        signal.signal(sig, stop)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", web)
    except SystemExit:
        stop()
    print(banner, flush=True)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    print("a demo process stopped unexpectedly; shutting the demo down", file=sys.stderr)
    stop()


if __name__ == "__main__":
    main()
