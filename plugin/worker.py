"""``flask worker``: runs the Huey consumer for this app's queue, jobs in an app context."""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

# Worker threads by queue. A job mostly waits for the database; with Redis and PostgreSQL, 4 threads
# overlap those waits (bench/loyalty_latency.py, 200 orders/s: 159 orders/s through with 2 threads, 186
# with 4). On SQLite, one writer at a time: 4 threads only wait for each other (p99 0.72 s with 2, 1.33 s
# with 4).
THREADS = {"redis": 4, "sqlite": 2}


@click.command("worker")
@click.option("--workers", type=int, default=None, help="Worker threads [default: 4 with Redis, 2 with SQLite].")
@with_appcontext
def worker_command(workers: int | None) -> None:
    """Process queued jobs until interrupted (Ctrl-C stops it cleanly)."""
    from huey.consumer import Consumer

    queue = current_app.extensions["storecare.queue"]
    workers = workers or THREADS[queue.backend]
    logging.getLogger("huey").setLevel(logging.INFO)
    click.echo(f"storecare worker: {queue.backend} queue, {workers} threads, jobs: {', '.join(queue.registered())}")
    Consumer(queue.huey, workers=workers, worker_type="thread", periodic=True, initial_delay=0.05,
             backoff=1.15, max_delay=0.5, check_worker_health=True).run()
