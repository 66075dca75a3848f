"""app/uninstalled: the shop is marked, its tokens dropped, platform calls stop; data stays until shop/redact."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.sandbox import mapping, operations
from adapters.sandbox import webhooks as sandbox_webhooks
from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from plugin.shops.service import credentials, install_sandbox_shop, store_credentials, webhook_secret
from plugin.sync.backfill import request_backfill
from plugin.sync.models import Order, WebhookDelivery
from plugin.sync.reconcile import request_reconcile, request_reconcile_everywhere
from tests import sandbox_support


@pytest.fixture
def sandbox(app, db, queue, settings):
    installed = sandbox_support.install(app, db, customers=10, orders=40, address=settings.app_url)
    queue.drain()
    with db.uow() as s:  # what a real platform leaves: tokens beside our webhook secret
        shop = s.get(Shop, installed.shop_id)
        store_credentials(shop, {**credentials(shop), "access_token": "shpat_secret", "refresh_token": "shprt_x"})
        s.commit()
    return installed


def send(client, db, installed, topic: str, payload: dict, webhook_id: str, triggered_at: datetime | None = None):
    body = sandbox_webhooks.encode_body(payload)
    secret = webhook_secret("sandbox", sandbox_support.shop(db, installed.shop_id))
    headers = sandbox_webhooks.webhook_request(installed.domain, topic, body, secret, webhook_id,
                                               triggered_at or datetime.now(UTC))
    response = client.post("/webhooks/sandbox", data=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


def uninstall(client, db, installed, webhook_id="uninstall-1", triggered_at=None):
    return send(client, db, installed, "app/uninstalled", {"id": 954889, "domain": installed.domain}, webhook_id,
                triggered_at)


def platform_calls_left(installed, injected: int) -> int:
    """Injected failures not yet spent: every adapter call for the shop spends one."""
    with installed.store.reading() as conn:
        left = conn.execute("SELECT fail_next FROM shops WHERE domain = ?", (installed.domain,)).fetchone()[0]
    return injected - left


def orders(db, shop_id: int) -> int:
    with db.uow() as s:
        return s.scalar(select(func.count(Order.id)).where(Order.shop_id == shop_id))


def test_uninstall_marks_the_shop_and_drops_its_tokens_but_keeps_its_data(db, queue, client, sandbox):
    held = orders(db, sandbox.shop_id)

    uninstall(client, db, sandbox)
    queue.drain()

    with db.uow() as s:
        shop = s.get(Shop, sandbox.shop_id)
        assert shop.status == "uninstalled" and shop.uninstalled_at is not None
        assert set(credentials(shop)) == {"webhook_secret"}
        assert "shpat_secret" not in shop.credentials_encrypted
    assert orders(db, sandbox.shop_id) == held


def test_after_uninstall_jobs_fail_for_good_without_calling_the_platform(db, queue, client, sandbox):
    uninstall(client, db, sandbox)
    queue.drain()
    sandbox.store.inject_failures(sandbox.domain, 5)  # any platform call for the shop would spend one
    with db.uow() as s:
        ids = [request_backfill(s, sandbox.shop_id).id, request_reconcile(s, sandbox.shop_id).id]
        s.commit()

    queue.drain(include_scheduled=True)

    with db.uow() as s:
        runs = s.scalars(select(JobRun).where(JobRun.id.in_(ids)).order_by(JobRun.name)).all()
        assert [(r.name, r.status, r.attempts) for r in runs] == [("sync.backfill", "failed", 1),
                                                                  ("sync.reconcile", "failed", 1)]
        assert all("is uninstalled: no platform calls are made for it" in r.last_error for r in runs)
    assert platform_calls_left(sandbox, 5) == 0
    assert request_reconcile_everywhere(db) == 0  # the periodic reconcile passes it by


def test_webhooks_about_orders_of_an_uninstalled_shop_are_ignored(db, queue, client, sandbox):
    uninstall(client, db, sandbox)
    queue.drain()
    held = orders(db, sandbox.shop_id)

    outcome = operations.create_order(sandbox.store, sandbox.domain, customer_email=None, delivery=sandbox.delivery)
    queue.drain()

    assert sandbox.statuses == [200, 200] and orders(db, sandbox.shop_id) == held
    with db.uow() as s:
        statuses = s.scalars(select(WebhookDelivery.status).where(WebhookDelivery.topic.like("orders/%"))).all()
        assert statuses == ["ignored", "ignored"]
        assert s.scalar(select(func.count(Order.id)).where(Order.platform_id == outcome.subject.platform_id)) == 0


def test_a_late_uninstall_from_before_a_reinstall_changes_nothing(db, queue, client, sandbox):
    with db.uow() as s:
        installed_at = s.get(Shop, sandbox.shop_id).installed_at

    uninstall(client, db, sandbox, triggered_at=installed_at - timedelta(hours=1))
    queue.drain()

    with db.uow() as s:
        shop = s.get(Shop, sandbox.shop_id)
        assert shop.status == "installed" and credentials(shop)["access_token"] == "shpat_secret"


def test_a_repeated_uninstall_keeps_the_first_time(db, queue, client, sandbox):
    uninstall(client, db, sandbox, "uninstall-1")
    queue.drain()
    with db.uow() as s:
        first = s.get(Shop, sandbox.shop_id).uninstalled_at

    uninstall(client, db, sandbox, "uninstall-2")
    queue.drain()

    with db.uow() as s:
        assert s.get(Shop, sandbox.shop_id).uninstalled_at == first


def test_the_privacy_webhooks_after_uninstall_still_verify_and_erase_the_shop(db, queue, client, sandbox):
    uninstall(client, db, sandbox)
    queue.drain()

    send(client, db, sandbox, "shop/redact", {"shop_id": 954889, "shop_domain": sandbox.domain}, "redact-1")
    queue.drain()

    with db.uow() as s:
        assert s.get(Shop, sandbox.shop_id) is None
        assert s.scalar(select(func.count(Order.id))) == 0


def test_a_reinstall_after_uninstall_connects_again(app, db, queue, client, sandbox, settings):
    uninstall(client, db, sandbox)
    queue.drain()

    with db.uow() as s:
        install_sandbox_shop(s, sandbox.domain, name="Back again", webhook_address=settings.app_url)
        s.commit()
    order = sandbox.store.recent_orders(sandbox.domain, 1)[0]
    send(client, db, sandbox, "orders/updated", mapping.order_payload(order), "after-reinstall")
    queue.drain()

    with db.uow() as s:
        assert s.get(Shop, sandbox.shop_id).status == "installed"
        assert s.scalars(select(WebhookDelivery.status).where(
            WebhookDelivery.delivery_id == "after-reinstall")).one() == "processed"
