"""How Storecare's web processes are served: ``gunicorn -c python:plugin.gunicorn_conf 'plugin:create_app()'``.

Threads, not only processes: a webhook request spends most of its life waiting for the inbox's group
commit (plugin/sync/ingress.py), and the more requests a process holds at once, the more deliveries
share one commit. A waiting request holds its thread, so a process needs a thread for every connection
it may be given, and the kernel spreads connections over the workers' sockets unevenly (by a hash of
the address): with 32 connections over three workers, the busiest held 12 to 18 in four runs. At 12
threads a process, requests queued for a thread while others slept in their batch; 24 threads took the
webhook benchmark on PostgreSQL from about 0.61 to 0.74 of the bare endpoint (which stayed where it
was). ``STORECARE_WEB_WORKERS``, ``STORECARE_WEB_THREADS`` and ``STORECARE_WEB_LOG_LEVEL`` override the
defaults, read (like every setting) through ``plugin.settings.Settings``; gunicorn reads this file when it
starts, before any app exists, so only the serving settings are read here, unchecked otherwise.
"""
from __future__ import annotations

from plugin.settings import Settings

_serving = Settings.from_env(validate=False)
worker_class = "gthread"
workers = _serving.web_workers
threads = _serving.web_threads
loglevel = _serving.web_log_level
# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections across them.
# With one shared socket the worker that wakes first takes the connection, and long-lived keep-alive
# connections (a platform's webhook sender, a load balancer) can pile onto one process, which then works
# on one core while the others idle.
reuse_port = True


def post_worker_init(worker):
    """The app is loaded: move everything it made (models, routes, translations, the manifest) out of the
    garbage collector's sight. Otherwise the first full collection under load scans all of it while
    holding the GIL (174 ms measured in a webhook burst), and every request in the process waits."""
    import gc
    import sys

    gc.freeze()
    # A thread that gives up the GIL for a moment (a socket write, an SQLite step, a database round
    # trip) waits for it again behind every thread that is computing, each for up to the switch interval
    # (5 ms by default). With 24 threads a process, requests spent their time in those queues: at 1 ms
    # the storefront read served 25 % more requests and bare Flask 18 % more, in one run of
    # bench/loyalty_storefront.py.
    sys.setswitchinterval(SWITCH_INTERVAL)


SWITCH_INTERVAL = 0.001
