"""How Storecare's web processes are served: ``gunicorn -c python:plugin.gunicorn_conf 'plugin:create_app()'``.

Threads, not only processes: a webhook request spends most of its life waiting for the inbox's group
commit (plugin/sync/ingress.py), and the more requests a process holds at once, the more deliveries
share one commit. ``STORECARE_WEB_WORKERS`` and ``STORECARE_WEB_THREADS`` override the defaults.

The interpreter's thread switch interval drops from 5 ms to 0.5 ms in each worker: the inbox writer
thread wakes up after every database round trip and would otherwise wait up to 5 ms for a request
thread to hand over the GIL, which caps the commits a process makes per second.
"""
from __future__ import annotations

import os
import sys

SWITCH_INTERVAL = 0.0005

worker_class = "gthread"
workers = int(os.environ.get("STORECARE_WEB_WORKERS", "3"))
threads = int(os.environ.get("STORECARE_WEB_THREADS", "12"))
loglevel = os.environ.get("STORECARE_WEB_LOG_LEVEL", "warning")


def post_worker_init(worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    sys.setswitchinterval(SWITCH_INTERVAL)
