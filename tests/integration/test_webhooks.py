"""POST /webhooks/<platform>: verify -> store -> commit -> enqueue -> 200; the worker applies it."""
import io
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from werkzeug.test import EnvironBuilder, run_wsgi_app

from adapters.sandbox import operations
from adapters.sandbox import webhooks as sandbox_webhooks
from plugin.jobs.models import JobRun
from plugin.shops.service import webhook_secret
from plugin.sync.models import Order, WebhookDelivery
from tests import sandbox_support


@pytest.fixture
def sandbox(app, db, queue):
    installed = sandbox_support.install(app, db)
    queue.drain()  # the install's backfill
    return installed


def _count(db, model, *where):
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _signed(sandbox, db, payload: dict, topic="orders/updated", webhook_id="wh-1", secret=None):
    body = sandbox_webhooks.encode_body(payload)
    secret = secret or webhook_secret("sandbox", sandbox_support.shop(db, sandbox.shop_id))
    headers = sandbox_webhooks.webhook_request(sandbox.domain, topic, body, secret, webhook_id,
                                               sandbox_support.SEEDED_AT)
    return headers, body


def test_an_order_webhook_is_acknowledged_stored_and_applied_by_the_worker(sandbox, db, queue, client):
    before = _count(db, Order)
    outcome = operations.create_order(sandbox.store, sandbox.domain, customer_email=None, items=2,
                                      delivery=sandbox.delivery)
    assert sandbox.statuses == [200, 200]  # orders/create, orders/paid
    assert _count(db, WebhookDelivery, WebhookDelivery.status == "received") == 2
    assert _count(db, Order) == before  # nothing is applied inside the request
    queue.drain()
    with db.uow() as s:
        order = s.scalars(select(Order).where(Order.platform_id == outcome.subject.platform_id)).one()
        assert order.total == outcome.subject.total and order.financial_status == "paid"
        assert [d.status for d in s.scalars(select(WebhookDelivery))] == ["processed", "processed"]


def test_a_bad_signature_gets_401_and_nothing_is_stored(sandbox, db, client):
    order = sandbox.store.recent_orders(sandbox.domain, 1)[0]
    from adapters.sandbox import mapping

    headers, body = _signed(sandbox, db, mapping.order_payload(order), secret="not-the-secret")
    response = client.post("/webhooks/sandbox", data=body, headers=headers)
    assert response.status_code == 401 and response.content_type == "application/problem+json"
    assert "signature" in response.get_json()["detail"]
    headers, _ = _signed(sandbox, db, mapping.order_payload(order))
    tampered = body.replace(b'"currency"', b'"Currency"')
    assert client.post("/webhooks/sandbox", data=tampered, headers=headers).status_code == 401
    missing = {k: v for k, v in headers.items() if "Hmac" not in k}
    assert client.post("/webhooks/sandbox", data=body, headers=missing).status_code == 401
    assert _count(db, WebhookDelivery) == 0 and _count(db, JobRun, JobRun.name == "sync.process_deliveries") == 0


def test_an_unknown_shop_gets_401(sandbox, db, client):
    headers, body = _signed(sandbox, db, {"id": 1})
    headers["X-Sandbox-Shop-Domain"] = "someone-else.sandbox.test"
    assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 401
    assert _count(db, WebhookDelivery) == 0


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"", b'{"id": ', '{"id": 1}'.encode("utf-16"),
                                  b'{"name": "\xff"}'])
def test_a_malformed_body_gets_400_and_nothing_is_stored(sandbox, db, client, body):
    secret = webhook_secret("sandbox", sandbox_support.shop(db, sandbox.shop_id))
    headers = sandbox_webhooks.webhook_request(sandbox.domain, "orders/create", body, secret, "wh-bad",
                                               sandbox_support.SEEDED_AT)
    response = client.post("/webhooks/sandbox", data=body, headers=headers)
    assert response.status_code == 400 and response.get_json()["title"] == "Bad Request"
    assert _count(db, WebhookDelivery) == 0


def test_a_duplicate_delivery_gets_200_and_is_processed_once(sandbox, db, queue, client):
    from adapters.sandbox import mapping

    order = sandbox.store.recent_orders(sandbox.domain, 1)[0]
    headers, body = _signed(sandbox, db, mapping.order_payload(order), webhook_id="same-id")
    first = client.post("/webhooks/sandbox", data=body, headers=headers)
    again = client.post("/webhooks/sandbox", data=body, headers=headers)
    assert (first.status_code, first.get_json()) == (200, {"status": "accepted"})
    assert (again.status_code, again.get_json()) == (200, {"status": "duplicate"})
    assert _count(db, WebhookDelivery) == 1
    with db.uow() as s:  # one job, for the one delivery stored
        jobs = s.scalars(select(JobRun).where(JobRun.name == "sync.process_deliveries")).all()
        assert [j.args["delivery_ids"] for j in jobs] == [[s.scalars(select(WebhookDelivery.id)).one()]]
    queue.drain()
    with db.uow() as s:
        assert s.scalars(select(WebhookDelivery)).one().attempts == 1


def test_an_oversized_body_gets_413(sandbox, db, app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    headers, _ = _signed(sandbox, db, {"id": 1})
    body = json.dumps({"padding": "x" * limit}).encode()
    response = client.post("/webhooks/sandbox", data=body, headers=headers)
    assert response.status_code == 413 and str(limit) in response.get_json()["detail"]
    assert _count(db, WebhookDelivery) == 0


def _chunked(client, body: bytes, headers: dict):
    """POST as a platform's chunked upload reaches the app under gunicorn: no Content-Length, the server
    ends the stream."""
    return client.post("/webhooks/sandbox", input_stream=io.BytesIO(body),
                       headers={**headers, "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_over_the_limit_with_a_valid_signature_gets_413(sandbox, db, app, client):
    """Werkzeug stops reading a streamed body at the limit without saying so: the truncated body's
    signature failed (401), which told the platform its secret was wrong instead of its body too big."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    headers, body = _signed(sandbox, db, {"id": 1, "padding": "x" * limit})
    response = _chunked(client, body, headers)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert str(limit) in response.get_json()["detail"]
    assert _count(db, WebhookDelivery) == 0 and _count(db, JobRun, JobRun.name == "sync.process_deliveries") == 0


def test_a_chunked_body_of_exactly_the_limit_is_accepted(sandbox, db, app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    padding = limit - len(sandbox_webhooks.encode_body({"id": 1, "padding": ""}))
    headers, body = _signed(sandbox, db, {"id": 1, "padding": "x" * padding}, webhook_id="wh-at-limit")
    assert len(body) == limit
    response = _chunked(client, body, headers)
    assert (response.status_code, response.get_json()) == (200, {"status": "accepted"})
    assert _count(db, WebhookDelivery) == 1


def test_an_unknown_platform_gets_404(client):
    response = client.post("/webhooks/magento", data=b"{}")
    assert response.status_code == 404 and response.content_type == "application/problem+json"


def test_out_of_order_deliveries_keep_the_newest_state(sandbox, db, queue):
    placed = operations.create_order(sandbox.store, sandbox.domain, customer_email=None, items=1,
                                     delivery=sandbox.delivery)
    number = int(placed.subject.number.lstrip("#"))
    # the refund's webhooks arrive, then a stale copy of the original order arrives late
    operations.create_refund(sandbox.store, sandbox.domain, number, delivery=sandbox.delivery)
    from adapters.sandbox import mapping

    headers, body = _signed(sandbox, db, dict(placed.payload), topic="orders/updated", webhook_id="late-copy")
    sandbox.delivery.send("http://localhost/webhooks/sandbox", body, headers)
    queue.drain()
    with db.uow() as s:
        order = s.scalars(select(Order).where(Order.platform_id == placed.subject.platform_id)).one()
        assert order.financial_status == "refunded" and order.total_refunded == order.total
    assert mapping  # the sandbox's own mapping produced every payload above


def test_a_worker_killed_mid_job_reruns_it_to_the_same_result(sandbox, db, queue):
    """The job is taken and claimed, then its worker dies: recovery re-runs it, with the same result."""
    from datetime import timedelta

    from plugin.db import utcnow
    from plugin.jobs.models import JobRun

    operations.create_order(sandbox.store, sandbox.domain, customer_email=None, items=3, delivery=sandbox.delivery)
    with db.uow() as s:
        job_ids = s.scalars(select(JobRun.id).where(JobRun.name == "sync.process_deliveries")).all()
    # worker 1 takes the first task, claims it, half-applies it in a transaction that never commits, and dies
    assert queue.huey.dequeue() is not None
    with db.uow() as s:
        run = s.get(JobRun, job_ids[0])
        run.status, run.attempts, run.lease_until = "running", 1, utcnow() + timedelta(seconds=5)
        s.commit()
    lost = queue.recover_stalled(now=utcnow() + timedelta(minutes=10))
    assert job_ids[0] in lost  # (queued jobs older than the lease are pushed again too; a finished run is never re-run)
    queue.drain()
    with db.uow() as s:
        statuses = {r.id: (r.status, r.attempts) for r in s.scalars(select(JobRun).where(JobRun.id.in_(job_ids)))}
        assert statuses[job_ids[0]] == ("succeeded", 2)
        orders_once = s.scalar(select(func.count()).select_from(Order))
    # running every delivery again changes nothing
    from plugin.sync.inbox import process_delivery

    with db.uow() as s:
        ids = s.scalars(select(WebhookDelivery.id)).all()
    assert all(process_delivery(db, i) == "processed" for i in ids)
    assert _count(db, Order) == orders_once


def test_a_chunked_webhook_is_answered_like_one_with_a_length(sandbox, db, client):
    """The webhook lane serves bodies of a stated length; a chunked body goes through the Flask view, to
    the same answer."""
    order = sandbox.store.recent_orders(sandbox.domain, 1)[0]
    from adapters.sandbox import mapping

    payload = mapping.order_payload(order)
    headers, body = _signed(sandbox, db, payload, webhook_id="wh-length")
    with_length = client.post("/webhooks/sandbox", data=body, headers=headers)
    headers, body = _signed(sandbox, db, payload, webhook_id="wh-chunked")
    chunked = _chunked(client, body, headers)
    for response in (with_length, chunked):
        assert (response.status_code, response.get_json()) == (200, {"status": "accepted"})
        assert response.mimetype == "application/json" and len(response.headers["X-Request-Id"]) == 32
    with db.uow() as s:
        assert sorted(s.scalars(select(WebhookDelivery.delivery_id))) == ["wh-chunked", "wh-length"]


def test_a_webhook_answer_and_its_problem_carry_the_request_id(sandbox, db, client):
    headers, body = _signed(sandbox, db, {"id": 1}, secret="not-the-secret")
    refused = client.post("/webhooks/sandbox", data=body, headers={**headers, "X-Request-Id": "req-abcdef12"})
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert refused.headers["X-Request-Id"] == "req-abcdef12" and refused.get_json()["request_id"] == "req-abcdef12"
    headers, body = _signed(sandbox, db, {"id": 1})
    given = client.post("/webhooks/sandbox", data=body, headers={**headers, "X-Request-Id": "<script>"})
    assert given.status_code == 200 and len(given.headers["X-Request-Id"]) == 32


def test_a_webhook_that_cannot_be_stored_is_a_500_without_internals_logged_with_the_request_id(
        sandbox, db, client, caplog):
    headers, body = _signed(sandbox, db, {"id": 1})
    with db.engine.begin() as conn:  # the inbox's table is gone: every INSERT fails
        conn.execute(text("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away"))
    try:
        with caplog.at_level(logging.ERROR, logger="storecare"):
            response = client.post("/webhooks/sandbox", data=body, headers={**headers, "X-Request-Id": "req-12345678"})
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries"))
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert response.get_json()["request_id"] == "req-12345678" and "webhook_deliveries" not in response.text
    record = next(r for r in caplog.records if r.name == "storecare")
    assert record.request_id == "req-12345678" and "webhook_deliveries" in record.exc_text
    assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 200  # and it recovers


def test_a_webhook_body_that_ends_early_gets_400_and_nothing_is_stored(sandbox, db, app):
    headers, body = _signed(sandbox, db, {"id": 1})
    environ = EnvironBuilder(path="/webhooks/sandbox", method="POST", data=body, headers=headers).get_environ()
    environ["CONTENT_LENGTH"] = str(len(body) + 100)  # the client said more than it sent, then went away
    _, status, _ = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    assert status.startswith("400")
    assert _count(db, WebhookDelivery) == 0


def test_an_order_deleted_in_the_sandbox_stays_as_a_row_marked_deleted(sandbox, db, queue):
    placed = operations.create_order(sandbox.store, sandbox.domain, delivery=sandbox.delivery)
    queue.drain()
    deleted_at = placed.subject.updated_at + timedelta(hours=1)

    operations.delete_order(sandbox.store, sandbox.domain, int(placed.subject.number), delivery=sandbox.delivery,
                            now=deleted_at)
    queue.drain()

    with db.uow() as s:
        order = s.scalars(select(Order).where(Order.platform_id == placed.subject.platform_id)).one()
        assert order.deleted_at == deleted_at and order.total == placed.subject.total
        assert [d.status for d in s.scalars(select(WebhookDelivery).where(
            WebhookDelivery.topic == "orders/delete"))] == ["processed"]


def test_a_burst_of_order_deliveries_is_applied_together_and_a_bad_one_alone(sandbox, db, queue, client):
    from sqlalchemy import event as sa_event
    from sqlalchemy import update

    from adapters.sandbox import mapping
    from plugin.sync import inbox

    orders = sandbox.store.recent_orders(sandbox.domain, 13)

    def stored(payloads: list[dict]) -> list[int]:
        """Deliveries received, as the inbox stores them; returns their ids in order."""
        for payload in payloads:
            headers, body = _signed(sandbox, db, payload, webhook_id=f"wh-{payload.get('id')}-{len(payloads)}")
            assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 200
        with db.uow() as s:
            return list(s.scalars(select(WebhookDelivery.id).where(WebhookDelivery.status == "received")
                                  .order_by(WebhookDelivery.id)))

    def commits_to_apply(ids: list[int]) -> int:
        commits: list[int] = []
        listener = lambda conn: commits.append(1)  # noqa: E731
        sa_event.listen(db.engine, "commit", listener)
        try:
            inbox.process_deliveries(db, sandbox.shop_id, ids)
        finally:
            sa_event.remove(db.engine, "commit", listener)
        return len(commits)

    def changed(order) -> dict:  # a newer version of the order, as its orders/updated says
        return {**mapping.order_payload(order), "updated_at": "2030-01-01T00:00:00Z", "note": "changed"}

    two = commits_to_apply(stored([changed(o) for o in orders[:2]]))
    ten = commits_to_apply(stored([changed(o) for o in orders[2:12]]))

    assert ten == two  # one transaction for the burst, not one per delivery
    assert _count(db, WebhookDelivery, WebhookDelivery.status == "processed") == 12
    with db.uow() as s:
        newer = s.scalars(select(Order.platform_id).where(Order.shop_id == sandbox.shop_id,
                                                          Order.platform_updated_at > sandbox_support.SEEDED_AT)).all()
    assert set(newer) == {str(o.id) for o in orders[:12]}

    # a delivery that cannot be applied: the ones around it are applied, it gets a job of its own
    with db.uow() as s:
        s.execute(update(WebhookDelivery).values(status="processed"))
        s.commit()
    ids = stored([changed(orders[12]), {"id": "no-such-shape"},
                  changed(orders[0]) | {"updated_at": "2031-01-01T00:00:00Z"}])
    commits_to_apply(ids)
    with db.uow() as s:
        statuses = [s.get(WebhookDelivery, i).status for i in ids]
        own_jobs = s.scalars(select(JobRun.args).where(JobRun.name == inbox.DELIVERY_JOB)).all()
    assert statuses == ["processed", "failed", "processed"]  # failed as it would alone (a permanent fault)
    assert own_jobs == [{"delivery_id": ids[1]}]


def test_a_deliveries_job_applies_the_shops_batches_waiting_behind_it_and_they_are_not_run_again(
        sandbox, db, queue, client):
    from adapters.sandbox import mapping

    orders = sandbox.store.recent_orders(sandbox.domain, 3)
    for n, order in enumerate(orders):  # three requests one after another: three batches, three jobs
        payload = {**mapping.order_payload(order), "updated_at": "2030-01-01T00:00:00Z"}
        headers, body = _signed(sandbox, db, payload, webhook_id=f"wh-late-{n}")
        assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 200
    with db.uow() as s:
        jobs = s.scalars(select(JobRun).where(JobRun.name == "sync.process_deliveries", JobRun.status == "queued")
                         .order_by(JobRun.id)).all()
    assert len(jobs) == 3

    queue.run_job(jobs[0].id)  # the first takes the two waiting behind it

    with db.uow() as s:
        assert [d.status for d in s.scalars(select(WebhookDelivery).where(WebhookDelivery.delivery_id.like("%wh-late-%"))
                                            .order_by(WebhookDelivery.id))] == ["processed"] * 3
        assert [s.get(JobRun, j.id).status for j in jobs] == ["succeeded"] * 3
    queue.drain()  # Huey still holds the other two: their runs find them done and pass them by
    with db.uow() as s:
        assert [(s.get(JobRun, j.id).status, s.get(JobRun, j.id).attempts) for j in jobs] == [("succeeded", 1)] * 3
        assert {d.attempts for d in s.scalars(select(WebhookDelivery).where(
            WebhookDelivery.delivery_id.like("%wh-late-%")))} == {1}
