"""A real worker process (``flask worker``) on the test's own database, queue and sandbox files."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker_env(settings, **extra) -> dict[str, str]:
    env = {**os.environ, "STORECARE_ENV": "test", "STORECARE_DATABASE_URL": settings.database_url,
           "STORECARE_QUEUE_PATH": settings.queue_path, "STORECARE_QUEUE_NAME": settings.queue_name,
           "STORECARE_SANDBOX_PATH": settings.sandbox_path, "STORECARE_APP_URL": settings.app_url,
           "STORECARE_LOG_LEVEL": "WARNING"}
    env.update(extra)
    return env


def start_worker(settings, app: str = "plugin", threads: int = 1, **extra) -> subprocess.Popen:
    """``flask worker`` for ``app`` (an import path Flask can load) with ``threads`` worker threads."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", app, "worker", "--workers", str(threads)],
                            cwd=ROOT, env=worker_env(settings, **extra), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_worker(proc: subprocess.Popen, sig=signal.SIGTERM, show: bool = False) -> int:
    """Signal the worker's process group and reap it; its stderr is shown if it failed (or ``show``)."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=20)
    if show or proc.returncode not in (0, -sig):
        sys.stderr.write(err.decode(errors="replace"))
    return proc.returncode


def wait_for(condition, what: str, timeout: float = 90.0, interval: float = 0.02):
    """Poll until ``condition()`` is truthy; fail naming ``what`` (a bound on waiting, not a timing assert)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what}")
