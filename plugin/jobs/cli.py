"""``flask jobs``: what an operator needs: list, inspect, retry, recover stalled jobs."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from plugin.jobs.models import JOB_STATUSES, JobRun
from plugin.jobs.queue import JobError


@click.group("jobs")
def jobs_cli():
    """Inspect and repair background jobs."""


@jobs_cli.command("list")
@click.option("--status", type=click.Choice(JOB_STATUSES), default="failed", show_default=True)
@click.option("--shop", "shop_id", type=int, help="Only this shop's jobs.")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def list_jobs(status: str, shop_id: int | None, limit: int):
    """List jobs in a status (failed by default), newest first."""
    db = current_app.extensions["storecare.db"]
    with db.uow() as session:
        query = select(JobRun).where(JobRun.status == status).order_by(JobRun.id.desc()).limit(limit)
        if shop_id is not None:
            query = query.where(JobRun.shop_id == shop_id)
        runs = session.scalars(query).all()
        if not runs:
            click.echo(f"no {status} jobs")
        for run in runs:
            click.echo(f"#{run.id} {run.name} shop={run.shop_id} attempts={run.attempts}/{run.max_attempts} "
                       f"enqueued={run.enqueued_at:%Y-%m-%d %H:%M:%S} args={run.args}")
            if run.last_error:
                click.echo(f"    {run.last_error}")


@jobs_cli.command("retry")
@click.argument("job_ids", nargs=-1, type=int, required=True)
@with_appcontext
def retry_jobs(job_ids: tuple[int, ...]):
    """Queue failed jobs again (their attempt count starts over)."""
    try:
        current_app.extensions["storecare.queue"].retry_all(list(job_ids))
    except JobError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"queued again: {', '.join(f'#{i}' for i in job_ids)}")


@jobs_cli.command("recover")
@with_appcontext
def recover():
    """Re-queue jobs lost with a killed worker (also runs every minute inside the worker)."""
    ids = current_app.extensions["storecare.queue"].recover_stalled()
    click.echo(f"re-queued {len(ids)} job(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))


@jobs_cli.command("run-pending")
@with_appcontext
def run_pending():
    """Run every queued job in this process, then exit (a one-shot worker)."""
    count = current_app.extensions["storecare.queue"].drain()
    click.echo(f"ran {count} job(s)")
