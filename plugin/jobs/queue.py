"""The job queue: Huey underneath (a SQLite file by default, Redis when configured), JobRun rows on top.

A job is a plain function registered by name; it takes ids and re-loads what it needs. Enqueueing
adds a JobRun row to the caller's session and pushes the job to Huey only after that session commits,
so a job never runs against data that was rolled back. The runner records every attempt, retries
transient failures with exponential backoff and jitter, and leaves the rest failed and visible.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from huey import RedisHuey, SqliteHuey, crontab
from huey.exceptions import RetryTask
from sqlalchemy import event, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from adapters.errors import AdapterError
from adapters.retries import backoff
from plugin.db import utcnow
from plugin.jobs.models import JobRun, queued_run

log = logging.getLogger(__name__)
RUNNER = "storecare.run_job"
BATCH_RUNNER = "storecare.run_jobs"


class JobError(Exception):
    pass


class TransientJobError(JobError):
    """Raise from a job to ask for a retry with backoff."""


class PermanentJobError(JobError):
    """Raise from a job to fail it at once: retrying cannot help."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, AdapterError):
        return exc.transient
    return isinstance(exc, (TransientJobError, OperationalError, ConnectionError, TimeoutError))


def backoff_seconds(attempt: int, base: float = 2.0, cap: float = 600.0, rng: random.Random | None = None) -> float:
    """A job's delay before its next attempt: 2, 4, 8 ... s capped at 10 minutes, on the one backoff curve
    (adapters/retries.py: full jitter in [0.5, 1.5) of the step)."""
    return backoff(attempt, base, cap, rng)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., object]
    max_attempts: int | None = None


class JobQueue:
    def __init__(self, app, settings):
        self.app = app
        self.settings = settings
        self._jobs: dict[str, JobSpec] = {}
        if settings.redis_url:
            self.huey = RedisHuey(settings.queue_name, url=settings.redis_url, utc=True)
            self.backend = "redis"
        else:
            # fsync off: a queue entry lost with the machine is pushed again from its JobRun row (recover_stalled)
            self.huey = SqliteHuey(settings.queue_name, filename=settings.queue_path, utc=True, fsync=False)
            self.backend = "sqlite"
        self._runner = self.huey.task(name=RUNNER)(self._run)
        self._batch_runner = self.huey.task(name=BATCH_RUNNER)(self._run_many)
        self.huey.periodic_task(crontab(minute="*"), name="storecare.recover")(self._recover_periodic)

    # -- registration
    def register(self, name: str, func: Callable[..., object], max_attempts: int | None = None) -> None:
        if name in self._jobs:
            raise JobError(f"job {name!r} is registered twice")
        self._jobs[name] = JobSpec(name, func, max_attempts)

    def registered(self) -> list[str]:
        return sorted(self._jobs)

    def every(self, minutes: int, name: str, func: Callable[[], object]) -> None:
        """Run ``func`` in an app context every ``minutes`` (on the clock: 0, 15, 30, 45 for 15) inside
        the worker. It should only enqueue jobs, so that the work itself gets JobRun rows and retries."""
        if not 1 <= minutes <= 60 or 60 % minutes:
            raise JobError("a periodic task runs every 1 to 60 minutes, a divisor of 60")

        def run() -> None:
            with self.app.app_context():
                func()

        self.huey.periodic_task(crontab(minute=f"*/{minutes}"), name=name)(run)

    # -- enqueueing
    def enqueue(self, session: Session, name: str, args: dict, shop_id: int | None = None) -> JobRun:
        """Add a JobRun to ``session``; it is pushed to the queue when the session commits.

        ``args`` are the job function's keyword arguments (ids, never objects); ``shop_id`` tags the run
        so the shop's merchant sees it.
        """
        run = JobRun(**queued_run(name, shop_id, dict(args), self.max_attempts(name), utcnow()))
        session.add(run)
        session.flush()
        pending = session.info.setdefault("storecare.pending_jobs", [])
        # Listening for the session's life (not once): a session that commits, then enqueues again,
        # pushes the second transaction's jobs at its commit too.
        if not event.contains(session, "after_commit", self._push_pending):
            event.listen(session, "after_commit", self._push_pending)
            event.listen(session, "after_rollback", _forget_pending)
        pending.append(run.id)
        return run

    def max_attempts(self, name: str) -> int:
        """How many attempts a run of job ``name`` gets (its own limit, else the settings')."""
        if name not in self._jobs:
            raise JobError(f"unknown job {name!r}")
        return self._jobs[name].max_attempts or self.settings.job_max_attempts

    def _push_pending(self, session: Session) -> None:
        ids = session.info.pop("storecare.pending_jobs", [])
        for job_id in ids:
            self.push(job_id)

    def push(self, job_id: int, delay: float | None = None) -> None:
        """Hand a committed JobRun to Huey. A failure here is repaired by ``recover_stalled``."""
        try:
            self._runner.schedule(args=(job_id,), delay=delay) if delay else self._runner(job_id)
        except Exception:  # the row stays queued; the periodic recovery pushes it again
            log.exception("could not push job %s to the queue", job_id)

    def push_many(self, job_ids: list[int]) -> None:
        """Hand committed JobRuns to Huey as one task (one queue write for a batch of webhooks)."""
        if len(job_ids) == 1:
            return self.push(job_ids[0])
        if job_ids:
            try:
                self._batch_runner(list(job_ids))
            except Exception:  # the rows stay queued; the periodic recovery pushes them again
                log.exception("could not push jobs %s to the queue", job_ids)

    # -- running
    def _run(self, job_id: int) -> None:
        with self.app.app_context():
            self.run_job(job_id, report=False)

    def _run_many(self, job_ids: list[int]) -> None:
        """Run a pushed batch one job after another; a job that asks to be retried goes back to the
        queue on its own, with its delay, so it does not hold up (or repeat) the others."""
        with self.app.app_context():
            for job_id in job_ids:
                try:
                    self.run_job(job_id)
                except RetryTask as retry:
                    self.push(job_id, delay=retry.delay or backoff_seconds(1))

    def run_job(self, job_id: int, report: bool = True) -> str:
        """Run one attempt of a job. Returns the JobRun's status afterwards (``report`` false: a job
        that could not be claimed says ``"not claimed"`` without reading its status, as Huey's runs
        need not know)."""
        db = self.app.extensions["storecare.db"]
        now = utcnow()
        claimed = db.execute_alone(
            update(JobRun)
            .where(JobRun.id == job_id, JobRun.status.in_(("queued", "retrying", "running")),
                   or_(JobRun.status != "running", JobRun.lease_until < now))
            .values(status="running", attempts=JobRun.attempts + 1, started_at=now,
                    lease_until=now + timedelta(seconds=self.settings.job_lease_seconds))
            .returning(JobRun.name, JobRun.args, JobRun.attempts, JobRun.max_attempts))
        if not claimed:  # done, failed, or running elsewhere (e.g. taken over by another job)
            if not report:
                return "not claimed"
            with db.uow() as session:
                return session.scalar(select(JobRun.status).where(JobRun.id == job_id)) or "missing"
        name, args, attempts, max_attempts = claimed[0].name, dict(claimed[0].args or {}), claimed[0].attempts, \
            claimed[0].max_attempts
        spec = self._jobs.get(name)
        try:
            if spec is None:
                raise PermanentJobError(f"no job named {name!r} is registered")
            spec.func(**args)
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            retry = is_transient(exc) and attempts < max_attempts
            status = "retrying" if retry else "failed"
            message = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("job %s (%s) attempt %s/%s %s: %s", job_id, name, attempts, max_attempts,
                        status, message, exc_info=not retry)
            self._finish(job_id, status, message)
            if retry:
                delay = getattr(exc, "retry_after", None) or backoff_seconds(attempts)
                raise RetryTask(f"retrying job {job_id}", delay=delay) from exc
            return status
        self._finish(job_id, "succeeded", None)
        return "succeeded"

    def take_over(self, name: str, shop_id: int, limit: int = 50) -> list[tuple[int, dict]]:
        """Claim the shop's jobs named ``name`` still waiting in the queue (up to ``limit``, oldest first)
        for the caller to do their work along with its own: returns (id, args) of each. The claim is the
        one a worker makes (``queued`` to ``running`` with a lease), so a worker that takes one of them
        from Huey later finds it claimed and passes it by. The caller ends them with ``end_taken``; if it
        dies first, their lease runs out and ``recover_stalled`` queues them again."""
        db = self.app.extensions["storecare.db"]
        now = utcnow()
        waiting = select(JobRun.id).where(JobRun.shop_id == shop_id, JobRun.status == "queued",
                                          JobRun.name == name).order_by(JobRun.id).limit(limit)
        taken = db.execute_alone(
            update(JobRun).where(JobRun.id.in_(waiting.scalar_subquery()), JobRun.status == "queued")
            .values(status="running", attempts=JobRun.attempts + 1, started_at=now,
                    lease_until=now + timedelta(seconds=self.settings.job_lease_seconds))
            .returning(JobRun.id, JobRun.args))
        return [(job_id, dict(args or {})) for job_id, args in taken]

    def end_taken(self, job_ids: list[int], done: bool) -> None:
        """End jobs claimed by ``take_over``: succeeded when ``done``, else queued again as they were
        (their attempt not counted) and pushed."""
        if not job_ids:
            return
        values = ({"status": "succeeded", "finished_at": utcnow(), "last_error": None, "lease_until": None}
                  if done else {"status": "queued", "attempts": JobRun.attempts - 1, "lease_until": None})
        self.app.extensions["storecare.db"].execute_alone(
            update(JobRun).where(JobRun.id.in_(job_ids), JobRun.status == "running").values(**values))
        if not done:
            self.push_many(list(job_ids))

    def _finish(self, job_id: int, status: str, error: str | None) -> None:
        values = {"status": status, "last_error": error, "lease_until": None}
        if status in ("succeeded", "failed"):
            values["finished_at"] = utcnow()
        self.app.extensions["storecare.db"].execute_alone(update(JobRun).where(JobRun.id == job_id).values(**values))

    # -- operator tools
    def retry_all(self, job_ids: list[int]) -> list[JobRun]:
        """Queue failed jobs again, all of them or none (JobError names the first that cannot be);
        commits."""
        with self.app.extensions["storecare.db"].uow() as session:
            runs = [self.retry(session, job_id) for job_id in job_ids]
            session.commit()
        return runs

    def retry(self, session: Session, job_id: int) -> JobRun:
        run = session.get(JobRun, job_id)
        if run is None:
            raise JobError(f"no job {job_id}")
        if run.status != "failed":
            raise JobError(f"job {job_id} is {run.status}, only failed jobs can be retried")
        run.status, run.attempts, run.finished_at = "queued", 0, None
        session.flush()
        pending = session.info.setdefault("storecare.pending_jobs", [])
        if not pending:
            event.listen(session, "after_commit", self._push_pending, once=True)
        pending.append(run.id)
        return run

    def recover_stalled(self, now=None) -> list[int]:
        """Re-push jobs lost with a killed worker (lease passed) or never pushed (queued too long)."""
        now = now or utcnow()
        db = self.app.extensions["storecare.db"]
        stale_queue = now - timedelta(seconds=self.settings.job_lease_seconds)
        with db.uow() as session:
            ids = session.scalars(select(JobRun.id).where(or_(
                (JobRun.status == "running") & (JobRun.lease_until < now),
                (JobRun.status == "queued") & (JobRun.enqueued_at < stale_queue),
            ))).all()
            if ids:  # deemed lost: released to be claimed again by whichever worker takes the task
                session.execute(update(JobRun).where(JobRun.id.in_(ids))
                                .values(status="queued", enqueued_at=now, lease_until=None))
                session.commit()
        for job_id in ids:
            self.push(job_id)
        return list(ids)

    def _recover_periodic(self) -> None:
        with self.app.app_context():
            self.recover_stalled()

    def drain(self, limit: int = 10_000, include_scheduled: bool = False) -> int:
        """Run queued tasks in this process until the queue is empty (tests, the demo's seeding)."""
        count = 0
        while count < limit:
            # look before taking: Redis' dequeue blocks for a second on an empty queue
            task = self.huey.dequeue() if self.huey.pending_count() else None
            if task is None and include_scheduled:
                scheduled = self.huey.read_schedule(utcnow().replace(tzinfo=None) + timedelta(days=3650))
                for t in scheduled:
                    t.eta = None
                    self.huey.enqueue(t)
                if scheduled:
                    continue
            if task is None:
                return count
            self.huey.execute(task)
            count += 1
        return count

    def pending_count(self) -> int:
        return self.huey.pending_count()

    def ping(self) -> None:
        """Raise if the queue backend is unreachable."""
        self.huey.pending_count()


def _forget_pending(session: Session) -> None:
    session.info.pop("storecare.pending_jobs", None)
