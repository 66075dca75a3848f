"""``flask worker``: runs the Huey consumer for this app's queue, jobs in an app context."""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Process queued jobs until interrupted (Ctrl-C stops it cleanly)."""
    from huey.consumer import Consumer

    queue = current_app.extensions["storecare.queue"]
    logging.getLogger("huey").setLevel(logging.INFO)
    click.echo(f"storecare worker: {queue.backend} queue, {workers} threads, jobs: {', '.join(queue.registered())}")
    Consumer(queue.huey, workers=workers, worker_type="thread", periodic=True, initial_delay=0.05,
             backoff=1.15, max_delay=0.5, check_worker_health=True).run()
