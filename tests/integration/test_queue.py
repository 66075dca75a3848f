"""The job queue on both of its backends: a SQLite file (embedded default) and Redis (scale-out)."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.errors import AuthRevoked, Transient
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from tests.factories import make_shop

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["sqlite", "redis"])
def qapp(request, settings_with):
    from plugin import create_app
    from plugin.models import metadata

    changes = {"queue_name": f"test-{uuid.uuid4().hex[:10]}", "job_lease_seconds": 60}
    if request.param == "redis":
        changes["redis_url"] = REDIS_URL
    app = create_app(settings_with(**changes))
    metadata.create_all(app.extensions["storecare.db"].engine)
    with app.app_context():
        yield app
    app.extensions["storecare.queue"].huey.flush()
    app.extensions["storecare.db"].dispose()


@pytest.fixture
def calls(qapp):
    """A recording job with scripted failures, registered like any feature's job."""
    log, script = [], []

    def flaky(n: int) -> None:
        log.append(n)
        if script:
            raise script.pop(0)

    qapp.extensions["storecare.queue"].register("test.flaky", flaky, max_attempts=3)
    return log, script


def _enqueue(app, n=1):
    db, queue = app.extensions["storecare.db"], app.extensions["storecare.queue"]
    with db.uow() as s:
        shop = make_shop(s, f"{uuid.uuid4().hex[:8]}.sandbox.test")
        run = queue.enqueue(s, "test.flaky", {"n": n}, shop_id=shop.id)
        assert queue.pending_count() == 0  # nothing reaches the queue before commit
        s.commit()
        return run.id


def _run(app, job_id):
    with app.extensions["storecare.db"].uow() as s:
        return s.get(JobRun, job_id)


def test_a_job_is_pushed_on_commit_and_run_with_its_arguments(qapp, calls):
    job_id = _enqueue(qapp, 7)
    queue = qapp.extensions["storecare.queue"]
    assert queue.pending_count() == 1
    assert queue.drain() == 1
    assert calls[0] == [7]
    run = _run(qapp, job_id)
    assert (run.status, run.attempts, run.last_error) == ("succeeded", 1, None)


def test_a_rolled_back_enqueue_never_runs(qapp, calls):
    db, queue = qapp.extensions["storecare.db"], qapp.extensions["storecare.queue"]
    with db.uow() as s:
        queue.enqueue(s, "test.flaky", {"n": 1})
    assert queue.pending_count() == 0 and queue.drain() == 0 and calls[0] == []


def test_a_session_that_commits_twice_pushes_the_jobs_of_each_commit(qapp, calls):
    db, queue = qapp.extensions["storecare.db"], qapp.extensions["storecare.queue"]
    with db.uow() as s:
        queue.enqueue(s, "test.flaky", {"n": 1})
        s.commit()
        queue.enqueue(s, "test.flaky", {"n": 2})
        s.rollback()  # this one is forgotten
        queue.enqueue(s, "test.flaky", {"n": 3})
        s.commit()
    assert queue.pending_count() == 2 and queue.drain() == 2 and sorted(calls[0]) == [1, 3]


def test_transient_failures_retry_with_backoff_then_succeed(qapp, calls):
    log, script = calls
    script.extend([Transient("502 from platform"), Transient("timeout")])
    job_id = _enqueue(qapp)
    queue = qapp.extensions["storecare.queue"]
    queue.drain()
    run = _run(qapp, job_id)
    assert (run.status, run.attempts, run.last_error) == ("retrying", 1, "Transient: 502 from platform")
    assert queue.pending_count() == 0  # the retry waits in the schedule, not in the queue
    queue.drain(include_scheduled=True)
    run = _run(qapp, job_id)
    assert (run.status, run.attempts, run.last_error) == ("succeeded", 3, None)
    assert log == [1, 1, 1]


def test_permanent_failures_and_exhausted_retries_are_visible_as_failed(qapp, calls):
    log, script = calls
    script.append(AuthRevoked("token revoked"))
    first = _enqueue(qapp)
    queue = qapp.extensions["storecare.queue"]
    queue.drain(include_scheduled=True)
    assert (_run(qapp, first).status, _run(qapp, first).attempts) == ("failed", 1)
    script.extend([Transient("a"), Transient("b"), Transient("c")])
    second = _enqueue(qapp)
    queue.drain(include_scheduled=True)
    run = _run(qapp, second)
    assert (run.status, run.attempts, run.last_error) == ("failed", 3, "Transient: c")


def test_operator_lists_and_retries_failed_jobs_from_the_cli(qapp, calls):
    calls[1].append(AuthRevoked("token revoked"))
    job_id = _enqueue(qapp)
    queue = qapp.extensions["storecare.queue"]
    queue.drain()
    runner = qapp.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"])
    assert f"#{job_id} test.flaky" in listed.output and "AuthRevoked: token revoked" in listed.output
    assert runner.invoke(args=["jobs", "retry", str(job_id)]).exit_code == 0
    assert runner.invoke(args=["jobs", "retry", str(job_id)]).output.strip().endswith("only failed jobs can be retried")
    queue.drain()
    assert (_run(qapp, job_id).status, _run(qapp, job_id).attempts) == ("succeeded", 1)


def test_a_job_lost_with_a_killed_worker_is_recovered_and_runs_once(qapp, calls):
    job_id = _enqueue(qapp)
    queue, db = qapp.extensions["storecare.queue"], qapp.extensions["storecare.db"]
    # a worker takes the task, claims the run, and dies before finishing: the task is gone from the queue
    assert queue.huey.dequeue() is not None
    with db.uow() as s:
        run = s.get(JobRun, job_id)
        run.status, run.attempts, run.lease_until = "running", 1, utcnow() + timedelta(seconds=60)
        s.commit()
    assert queue.recover_stalled() == []  # the lease has not passed: the worker may still be alive
    assert queue.recover_stalled(now=utcnow() + timedelta(seconds=61)) == [job_id]
    queue.drain()
    run = _run(qapp, job_id)
    assert (run.status, run.attempts) == ("succeeded", 2) and calls[0] == [1]


def test_the_runner_skips_a_run_that_already_finished(qapp, calls):
    job_id = _enqueue(qapp)
    queue = qapp.extensions["storecare.queue"]
    queue.drain()
    assert queue.run_job(job_id) == "succeeded"
    assert calls[0] == [1]


def test_healthz_reports_the_queue_backend(qapp):
    body = qapp.test_client().get("/healthz").get_json()
    assert body["status"] == "ok" and body["queue_backend"] in ("sqlite", "redis")
    with qapp.extensions["storecare.db"].uow() as s:
        assert s.scalars(select(JobRun)).all() == []
