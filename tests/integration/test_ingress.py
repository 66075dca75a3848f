"""The inbox's write path (plugin/sync/ingress.py), on SQLite and PostgreSQL: deliveries verified by
concurrent requests are committed together with one job per shop, duplicates inside one batch are stored
once, a bad row fails alone, a delivery that fails in its batch's job gets a job of its own, and the cache
of shop keys never turns a valid webhook away."""
from __future__ import annotations

import json
import re
import threading

import pytest
from sqlalchemy import delete, func, select, text

from adapters.sandbox import mapping
from adapters.sandbox import webhooks as sandbox_webhooks
from plugin.db import utcnow
from plugin.jobs.models import QUEUED_COLUMNS, JobRun
from plugin.shops.models import Shop
from plugin.shops.service import credentials, store_credentials, webhook_secret
from plugin.sync import ingress
from plugin.sync.ingress import JOB, InboxWriter, _insert_postgresql, _Item, _prepare_postgresql
from plugin.sync.models import WebhookDelivery
from tests import sandbox_support
from tests.conftest import BACKENDS


@pytest.fixture
def sandbox(app, db, queue):
    installed = sandbox_support.install(app, db, customers=5, orders=10)
    queue.drain()
    return installed


def count(db, model, *where) -> int:
    with db.uow() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def row(shop_id: int, delivery_id: str, payload: dict | None = None) -> dict:
    return {"platform": "sandbox", "shop_id": shop_id, "topic": "orders/updated", "delivery_id": delivery_id,
            "received_at": utcnow(), "triggered_at": utcnow(), "payload": json.dumps(payload or {"id": 1})}


def signed(db, sandbox, webhook_id: str, secret: str | None = None):
    order = sandbox.store.recent_orders(sandbox.domain, 1)[0]
    body = sandbox_webhooks.encode_body(mapping.order_payload(order))
    secret = secret or webhook_secret("sandbox", sandbox_support.shop(db, sandbox.shop_id))
    headers = sandbox_webhooks.webhook_request(sandbox.domain, "orders/updated", body, secret, webhook_id,
                                               sandbox_support.SEEDED_AT)
    return headers, body


def test_one_batch_stores_each_delivery_once_with_one_job_for_the_shop(app, db, queue, sandbox):
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    payload = mapping.order_payload(sandbox.store.recent_orders(sandbox.domain, 1)[0])
    items = write_batch(writer, [row(sandbox.shop_id, d, payload) for d in ("a", "b", "a", "c")])
    stored = [item.result for item in items]
    assert stored[2] is None and len({stored[0], stored[1], stored[3]}) == 3  # the second "a" is a duplicate
    assert writer.batches == 1
    with db.uow() as s:
        jobs = s.scalars(select(JobRun).where(JobRun.name == JOB)).all()
        assert [(j.shop_id, j.args) for j in jobs] == [
            (sandbox.shop_id, {"shop_id": sandbox.shop_id, "delivery_ids": [stored[0], stored[1], stored[3]]})]
        assert jobs[0].status == "queued" and jobs[0].max_attempts == queue.max_attempts(JOB)
        # read back through the model: what the batch's SQL wrote is what the ORM expects
        delivery = s.get(WebhookDelivery, stored[0])
        assert (delivery.delivery_id, delivery.topic, delivery.status, delivery.attempts) == ("a", "orders/updated",
                                                                                              "received", 0)
        assert delivery.payload == payload and delivery.received_at.tzinfo is not None
    assert queue.pending_count() == 1  # one queue task for the batch
    queue.drain()
    writer.stop()
    assert count(db, WebhookDelivery, WebhookDelivery.status == "processed") == 3


def test_deliveries_of_two_shops_in_one_batch_get_a_job_each(app, db, queue, sandbox):
    other = sandbox_support.install(app, db, customers=1, orders=1, domain="second.sandbox.test")
    queue.drain()
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    items = write_batch(writer, [row(sandbox.shop_id, "s1"), row(other.shop_id, "o1"), row(sandbox.shop_id, "s2")])
    writer.stop()
    with db.uow() as s:
        jobs = {j.shop_id: j.args["delivery_ids"] for j in s.scalars(select(JobRun).where(JobRun.name == JOB))}
    assert jobs == {sandbox.shop_id: [items[0].result, items[2].result], other.shop_id: [items[1].result]}


def job_columns(sql: str) -> list[str]:
    found = re.search(r"INSERT INTO job_runs \(([^)]*)\)", sql)
    assert found, "the statement writes no job row"
    return [name.strip() for name in found.group(1).split(",")]


def test_the_batchs_sql_writes_a_job_row_of_every_column_the_model_fills():
    """The batch writes its JobRun rows in SQL of its own: a column added to the model with a default, or
    filled by enqueue, would be left empty there without a word. The SQL names queued_run's columns;
    every other column of the model must start empty."""
    table = JobRun.__table__
    for sql in (ingress._POSTGRESQL, ingress._SQLITE_JOB):
        assert job_columns(sql) == list(QUEUED_COLUMNS)
    assert set(QUEUED_COLUMNS) <= set(table.columns.keys())
    left_empty = [table.c[name] for name in table.columns.keys() if name not in QUEUED_COLUMNS]
    assert [column.name for column in left_empty if column.primary_key] == ["id"]
    assert [column.name for column in left_empty if not column.primary_key and (
        not column.nullable or column.default is not None or column.server_default is not None)] == []


def test_a_job_row_from_the_batch_is_the_row_enqueue_writes(app, db, queue, sandbox):
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    write_batch(writer, [row(sandbox.shop_id, "one")])
    writer.stop()
    with db.uow() as s:
        queue.enqueue(s, JOB, {"shop_id": sandbox.shop_id, "delivery_ids": []}, shop_id=sandbox.shop_id)
        s.commit()
        batch, enqueued = s.scalars(select(JobRun).where(JobRun.name == JOB).order_by(JobRun.id)).all()

    def values(run: JobRun) -> dict:
        return {name: getattr(run, name) for name in JobRun.__table__.columns.keys()
                if name not in ("id", "args", "enqueued_at")}

    assert values(batch) == values(enqueued)
    assert batch.enqueued_at.tzinfo is not None and batch.args["delivery_ids"]


def write_batch(writer: InboxWriter, rows: list[dict]) -> list[_Item]:
    """What a leading request does with the deliveries it finds waiting."""
    items = [_Item(r) for r in rows]
    writer._write(items)
    return items


def test_a_row_that_cannot_be_stored_fails_alone(app, db, queue, sandbox):
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    items = write_batch(writer, [row(sandbox.shop_id, "ok-1"), row(987654, "no-such-shop"), row(sandbox.shop_id, "ok-2")])
    writer.stop()
    assert items[0].result and items[2].result
    assert isinstance(items[1].error, db.engine.dialect.dbapi.IntegrityError)  # no such shop: the foreign key
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id.in_(("ok-1", "ok-2"))) == 2
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id == "no-such-shop") == 0


class HeldWriter(InboxWriter):
    """A writer whose first batch waits until the test lets it go: the requests that come meanwhile
    queue up behind it, as they do behind a commit under load."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release, self.sizes = threading.Event(), []

    def _insert(self, rows):
        self.sizes.append(len(rows))
        if len(self.sizes) == 1:
            assert self.release.wait(10)
        return super()._insert(rows)


def wait_until(condition) -> None:
    for _ in range(1000):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the condition never came true")


def test_requests_that_come_while_a_batch_is_written_are_written_together_next(app, db, queue, sandbox):
    writer = HeldWriter(app.extensions["storecare.db"], queue)
    results: dict[str, int | None] = {}

    def store(delivery_id):
        results[delivery_id] = writer.store(row(sandbox.shop_id, delivery_id))

    leader = threading.Thread(target=store, args=("first",))
    leader.start()
    wait_until(lambda: writer.sizes == [1])  # the first request leads; its batch is being written
    followers = [threading.Thread(target=store, args=(f"next-{n}",)) for n in range(5)]
    for t in followers:
        t.start()
    wait_until(lambda: len(writer._waiting) == 5)
    writer.release.set()
    for t in [leader, *followers]:
        t.join(10)

    assert writer.sizes == [1, 5] and writer.batches == 2  # the five came meanwhile: one batch, one commit
    assert all(results[d] for d in ["first"] + [f"next-{n}" for n in range(5)])
    with db.uow() as s:
        jobs = [j.args["delivery_ids"] for j in s.scalars(select(JobRun).where(JobRun.name == JOB).order_by(JobRun.id))]
    assert jobs == [[results["first"]], sorted(results[f"next-{n}"] for n in range(5))]
    writer.stop()


def test_a_short_batch_after_a_full_one_waits_for_the_rest_of_the_wave(app, db, queue, sandbox):
    # Under load the requests of one batch come back together, and one that was late would otherwise be
    # written alone in between: half of all commits, for one delivery each. The wait here is far longer
    # than the test, so only the wave coming in can end it.
    writer = HeldWriter(app.extensions["storecare.db"], queue, linger=60)
    results: dict[str, int | None] = {}

    def store(delivery_id):
        results[delivery_id] = writer.store(row(sandbox.shop_id, delivery_id))

    def start(*delivery_ids):
        threads = [threading.Thread(target=store, args=(d,)) for d in delivery_ids]
        for t in threads:
            t.start()
        return threads

    threads = start("first")
    wait_until(lambda: writer.sizes == [1])
    threads += start("wave-1", "wave-2", "wave-3")
    wait_until(lambda: len(writer._waiting) == 3)
    writer.release.set()  # the three are written as one batch: the last batch had three deliveries
    wait_until(lambda: writer.sizes == [1, 3])
    threads += start("late")  # leads alone, and waits for as many as the last batch had
    wait_until(lambda: writer._filled is not None)
    threads += start("again-1", "again-2")
    for t in threads:
        t.join(10)

    assert writer.sizes == [1, 3, 3]
    assert all(results.values()) and len(results) == 7
    writer.stop()


def test_a_lingering_batch_is_written_when_no_more_come(app, db, queue, sandbox):
    writer = HeldWriter(app.extensions["storecare.db"], queue, linger=0.01)
    writer.release.set()
    threads = [threading.Thread(target=writer.store, args=(row(sandbox.shop_id, f"pair-{n}"),)) for n in range(2)]
    threads[0].start()
    wait_until(lambda: writer.sizes)
    threads[1].start()
    for t in threads:
        t.join(10)
    assert writer.store(row(sandbox.shop_id, "alone")) is not None  # the last batch may have had two
    writer.stop()
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id.like("pair-%")) == 2


def test_a_request_that_waits_too_long_gets_a_timeout_and_its_delivery_is_not_stored_later(app, db, queue, sandbox):
    writer = HeldWriter(app.extensions["storecare.db"], queue)
    leader = threading.Thread(target=writer.store, args=(row(sandbox.shop_id, "slow-leader"),))
    leader.start()
    wait_until(lambda: writer.sizes == [1])
    with pytest.raises(TimeoutError):
        writer.store(row(sandbox.shop_id, "gave-up"), timeout=0.05)  # answered 503: the platform sends it again
    writer.release.set()
    leader.join(10)
    assert writer.store(row(sandbox.shop_id, "after")) is not None  # the writer goes on leading new batches
    writer.stop()
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id == "slow-leader") == 1
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id == "gave-up") == 0


def test_a_delivery_that_fails_in_its_batch_gets_a_job_of_its_own_and_the_others_are_applied(app, db, queue,
                                                                                                sandbox):
    payload = mapping.order_payload(sandbox.store.recent_orders(sandbox.domain, 1)[0])
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    broken = {"id": "not-a-number"}  # no line items, no totals: the sandbox mapping refuses it
    items = write_batch(writer, [row(sandbox.shop_id, "good-1", payload), row(sandbox.shop_id, "bad", broken),
                                 row(sandbox.shop_id, "good-2", payload)])
    writer.stop()
    queue.drain()
    with db.uow() as s:
        statuses = {d.delivery_id: d.status for d in s.scalars(select(WebhookDelivery).where(
            WebhookDelivery.id.in_([i.result for i in items])))}
        batch_job = s.scalars(select(JobRun).where(JobRun.name == JOB)).one()
        own = s.scalars(select(JobRun).where(JobRun.name == "sync.process_delivery")).all()
    assert statuses == {"good-1": "processed", "bad": "failed", "good-2": "processed"}
    assert batch_job.status == "succeeded"
    assert [(j.args, j.shop_id, j.status) for j in own] == [({"delivery_id": items[1].result}, sandbox.shop_id,
                                                             "failed")]
    assert own[0].last_error  # the merchant sees why


def test_concurrent_webhooks_are_each_acknowledged_and_stored_once(app, db, queue, sandbox):
    ids = [f"burst-{n % 20}" for n in range(40)]  # every delivery twice, as a platform's retry would
    requests = [signed(db, sandbox, webhook_id) for webhook_id in ids]
    statuses: list[int] = []
    start = threading.Barrier(8)

    def send(chunk):
        client = app.test_client()
        start.wait()
        for headers, body in chunk:
            statuses.append(client.post("/webhooks/sandbox", data=body, headers=headers).status_code)

    threads = [threading.Thread(target=send, args=(requests[n::8],)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [200] * 40
    burst = WebhookDelivery.delivery_id.like("burst-%")
    assert count(db, WebhookDelivery, burst) == 20
    with db.uow() as s:
        delivery_ids = set(s.scalars(select(WebhookDelivery.id).where(burst)))
        jobs = [d for j in s.scalars(select(JobRun).where(JobRun.name == JOB)) for d in j.args["delivery_ids"]]
        assert sorted(d for d in jobs if d in delivery_ids) == sorted(delivery_ids)


def rotate_secret(db, shop_id: int, secret: str) -> None:
    with db.uow() as s:
        shop = s.get(Shop, shop_id)
        store_credentials(shop, {**credentials(shop), "webhook_secret": secret})
        s.commit()


def test_a_rotated_secret_is_learnt_at_once_and_the_old_one_expires_with_the_cache(app, db, sandbox, client):
    old = webhook_secret("sandbox", sandbox_support.shop(db, sandbox.shop_id))
    headers, body = signed(db, sandbox, "before-rotation")
    assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 200  # cached now
    rotate_secret(db, sandbox.shop_id, "the-new-secret")

    headers, body = signed(db, sandbox, "after-rotation", secret="the-new-secret")
    assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 200

    keys, _ = app.extensions["storecare.ingress"]
    keys.TTL = 0.0  # the cache entry has expired
    headers, body = signed(db, sandbox, "old-secret", secret=old)
    assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 401
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id == "old-secret") == 0


def test_a_shop_deleted_while_cached_is_looked_up_again_not_answered_500(app, db, sandbox, client):
    secret = webhook_secret("sandbox", sandbox_support.shop(db, sandbox.shop_id))
    headers, body = signed(db, sandbox, "cached")
    assert client.post("/webhooks/sandbox", data=body, headers=headers).status_code == 200
    with db.uow() as s:  # shop/redact erased it; the cache still names it
        s.execute(delete(Shop).where(Shop.id == sandbox.shop_id))
        s.commit()

    headers, body = signed(db, sandbox, "after-redaction", secret=secret)
    response = client.post("/webhooks/sandbox", data=body, headers=headers)

    assert response.status_code == 401 and "unknown shop" in response.get_json()["detail"]


def test_a_payload_is_stored_as_the_text_it_came_as(app, db, queue, sandbox):
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    body = '{ "id" : 1.10,\n  "name": "Stępień \\u0119 \\"x\\"",  "tags": [ ],"n": 1e3 }'
    [item] = write_batch(writer, [{**row(sandbox.shop_id, "as-it-came"), "payload": body}])
    writer.stop()
    cast = "payload::text" if db.engine.dialect.name == "postgresql" else "payload"
    with db.engine.connect() as conn:
        stored = conn.execute(text(f"SELECT {cast} FROM webhook_deliveries WHERE id = :id"), {"id": item.result})
        assert stored.scalar_one() == body


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_the_batch_statement_prepared_on_a_connection_before_is_used_as_it_is(app, db, queue, sandbox):
    """A connection the pool lent the inbox writer before comes back with the statement prepared.
    PostgreSQL only: SQLite has no prepared statements to meet again."""
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        pgconn, attempts = raw.driver_connection.pgconn, queue.max_attempts(JOB)
        _prepare_postgresql(pgconn)
        first, _ = _insert_postgresql(pgconn, [row(sandbox.shop_id, "lent-1")], attempts)
        _prepare_postgresql(pgconn)  # lent again: prepared already
        again, _ = _insert_postgresql(pgconn, [row(sandbox.shop_id, "lent-2")], attempts)
        assert list(first) == [("sandbox", sandbox.shop_id, "lent-1")]
        assert list(again) == [("sandbox", sandbox.shop_id, "lent-2")]
    finally:
        raw.driver_connection.autocommit = False
        raw.close()
    assert count(db, WebhookDelivery) == 2
