"""The inbox's write path (plugin/sync/ingress.py), on SQLite and PostgreSQL: deliveries verified by
concurrent requests are committed together with their jobs, duplicates inside one batch are stored
once, a bad row fails alone, and the cache of shop keys never turns a valid webhook away."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from adapters.sandbox import mapping
from adapters.sandbox import webhooks as sandbox_webhooks
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from plugin.shops.service import credentials, store_credentials, webhook_secret
from plugin.sync.ingress import InboxWriter
from plugin.sync.models import WebhookDelivery
from tests import sandbox_support


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
            "received_at": utcnow(), "triggered_at": utcnow(), "payload": payload or {"id": 1},
            "status": "received", "attempts": 0}


def signed(db, sandbox, webhook_id: str, secret: str | None = None):
    order = sandbox.store.recent_orders(sandbox.domain, 1)[0]
    body = sandbox_webhooks.encode_body(mapping.order_payload(order))
    secret = secret or webhook_secret("sandbox", sandbox_support.shop(db, sandbox.shop_id))
    headers = sandbox_webhooks.webhook_request(sandbox.domain, "orders/updated", body, secret, webhook_id,
                                               sandbox_support.SEEDED_AT)
    return headers, body


def test_one_batch_stores_each_delivery_once_with_one_job_each(app, db, queue, sandbox):
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    payload = mapping.order_payload(sandbox.store.recent_orders(sandbox.domain, 1)[0])
    futures = writer_batch(writer, [row(sandbox.shop_id, d, payload) for d in ("a", "b", "a", "c")])
    stored = [f.result(0) for f in futures]
    assert stored[2] is None and len({stored[0], stored[1], stored[3]}) == 3  # the second "a" is a duplicate
    assert writer.batches == 1
    with db.uow() as s:
        jobs = s.scalars(select(JobRun).where(JobRun.name == "sync.process_delivery")).all()
        assert sorted(j.args["delivery_id"] for j in jobs) == sorted(stored[i] for i in (0, 1, 3))
        assert {j.shop_id for j in jobs} == {sandbox.shop_id}
    assert queue.pending_count() == 1  # one queue task runs the batch's three jobs
    queue.drain()
    writer.stop()
    assert count(db, WebhookDelivery, WebhookDelivery.status == "processed") == 3


def writer_batch(writer: InboxWriter, rows: list[dict]):
    from plugin.sync.ingress import _Item

    items = [_Item(r) for r in rows]
    writer._write(items)  # what the writer thread does with the deliveries it found waiting
    return [item.future for item in items]


def test_a_row_that_cannot_be_stored_fails_alone(app, db, queue, sandbox):
    writer = InboxWriter(app.extensions["storecare.db"], queue)
    futures = writer_batch(writer, [row(sandbox.shop_id, "ok-1"), row(987654, "no-such-shop"),
                                    row(sandbox.shop_id, "ok-2")])
    writer.stop()
    assert futures[0].result(0) and futures[2].result(0)
    with pytest.raises(IntegrityError):  # no such shop: the foreign key refuses the row
        futures[1].result(0)
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id.in_(("ok-1", "ok-2"))) == 2
    assert count(db, WebhookDelivery, WebhookDelivery.delivery_id == "no-such-shop") == 0


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
        jobs = [j.args["delivery_id"] for j in s.scalars(select(JobRun).where(JobRun.name == "sync.process_delivery"))]
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
