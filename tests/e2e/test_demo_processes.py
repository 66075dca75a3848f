"""The demo's web app and worker die with the demo: closing its terminal (SIGHUP to its process group) or
killing it outright (SIGKILL, which it cannot handle) leaves no process behind and the port free.

The demo's own launcher (``plugin.demo.serve``) runs here on the test's database, queue and a free port,
in a session of its own as ``make demo`` runs in a terminal's."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.worker_support import ROOT, wait_for, worker_env

pytestmark = pytest.mark.slow  # Linux: the processes are read from /proc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    """Nothing listens on the port and it can be bound again, as the next ``make demo`` would."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _parents() -> dict[int, int]:
    """pid -> parent pid of every living (not zombie) process."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            parents[int(entry.name)] = int(ppid)
    return parents


def _descendants(pid: int) -> set[int]:
    parents, found, frontier = _parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _at_least(count: int, pids: set[int]) -> set[int] | None:
    return pids if len(pids) >= count else None


def _alive(pids: set[int]) -> set[int]:
    return pids & set(_parents())


@pytest.fixture
def demo(app, settings, tmp_path):
    """The demo's launcher on a free port; yields (process, port, its processes) once the app answers."""
    port = _free_port()
    env = worker_env(settings, STORECARE_APP_URL=f"http://127.0.0.1:{port}", STORECARE_WEB_THREADS="4")
    log = (tmp_path / "demo.log").open("wb")
    launch = f"import os; from plugin.demo import serve; serve({port}, dict(os.environ))"
    proc = subprocess.Popen([sys.executable, "-c", launch], cwd=ROOT, env=env, start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT)
    family: set[int] = set()
    try:
        wait_for(lambda: _healthy(port) or proc.poll() is not None, "the demo to answer", interval=0.1)
        assert proc.poll() is None, (tmp_path / "demo.log").read_text()
        # gunicorn's master and its two workers, and the queue's worker
        family |= wait_for(lambda: _at_least(4, _descendants(proc.pid)), "the demo's processes")
        yield proc, port, family
    finally:
        for pid in _alive(family | _descendants(proc.pid) | {proc.pid}):  # a failed test leaves nothing either
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=20)
        log.close()


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _assert_nothing_left(proc: subprocess.Popen, port: int, family: set[int]) -> None:
    proc.wait(timeout=30)
    wait_for(lambda: not _alive(family), f"the demo's processes {sorted(_alive(family))} to stop", timeout=60,
             interval=0.1)
    wait_for(lambda: _port_free(port), f"port {port} to be free", timeout=30, interval=0.1)


def test_closing_the_terminal_stops_the_web_app_and_the_worker(demo):
    proc, port, family = demo
    os.killpg(proc.pid, signal.SIGHUP)  # what a closing terminal sends to its foreground process group
    _assert_nothing_left(proc, port, family)


def test_killing_the_demo_outright_stops_the_web_app_and_the_worker(demo):
    proc, port, family = demo
    os.kill(proc.pid, signal.SIGKILL)  # no handler runs: the children must notice by themselves
    _assert_nothing_left(proc, port, family)
