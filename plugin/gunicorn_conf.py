"""How Storecare's web processes are served: ``gunicorn -c python:plugin.gunicorn_conf 'plugin:create_app()'``.

Threads, not only processes: a webhook request spends most of its life waiting for the inbox's group
commit (plugin/sync/ingress.py), and the more requests a process holds at once, the more deliveries
share one commit. ``STORECARE_WEB_WORKERS`` and ``STORECARE_WEB_THREADS`` override the defaults.
"""
from __future__ import annotations

import os

worker_class = "gthread"
workers = int(os.environ.get("STORECARE_WEB_WORKERS", "3"))
threads = int(os.environ.get("STORECARE_WEB_THREADS", "12"))
loglevel = os.environ.get("STORECARE_WEB_LOG_LEVEL", "warning")
