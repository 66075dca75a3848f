"""``flask sync reconcile --shop D``: the reconcile run now, in the command's process, reported as one JSON
object whose keys are a contract for scripts (see plugin/sync/cli.py reconcile_report)."""
from __future__ import annotations

import json

import pytest

from adapters.sandbox import Delivery, operations
from tests import sandbox_support

KEYS = {"shop", "platform", "status", "remote_orders", "local_orders", "pulled_orders", "applied_orders",
        "deleted_orders", "pulled_since", "unresolved_difference", "webhooks", "error"}
LOST = Delivery(send=lambda url, body, headers: 500, retry_delays=())


@pytest.fixture
def sandbox(app, db, queue, settings):
    installed = sandbox_support.install(app, db, customers=6, orders=30, address=settings.app_url)
    queue.drain()  # the install's backfill
    return installed


def reconcile(app, *args: str):
    result = app.test_cli_runner().invoke(args=["sync", "reconcile", *args])
    return result.exit_code, json.loads(result.stdout)  # the whole of stdout is one JSON object


def test_reconcile_runs_now_and_prints_what_it_found_and_did(app, sandbox):
    operations.create_order(sandbox.store, sandbox.domain, delivery=LOST)  # its webhooks are lost
    doomed = sandbox.store.recent_orders(sandbox.domain, 3)[-1]
    operations.delete_order(sandbox.store, sandbox.domain, doomed.number, delivery=LOST)
    with sandbox.store.writing() as conn:  # a subscription the platform lost
        conn.execute("DELETE FROM webhook_subscriptions WHERE shop = ? AND topic = 'orders/paid'", (sandbox.domain,))

    status, report = reconcile(app, "--shop", sandbox.domain.upper())

    assert status == 0 and set(report) == KEYS
    assert (report["shop"], report["platform"], report["status"], report["error"]) == (
        sandbox.domain, "sandbox", "done", None)
    assert report["remote_orders"] == report["local_orders"] == 30
    assert (report["applied_orders"], report["deleted_orders"], report["unresolved_difference"]) == (1, 1, None)
    assert report["pulled_orders"] >= 1 and report["pulled_since"].endswith("+00:00")
    assert {"topic": "orders/paid", "found": "missing", "action": "created"} in report["webhooks"]
    assert {"topic": "orders/create", "found": "active", "action": "none"} in report["webhooks"]
    assert all(set(hook) == {"topic", "found", "action"} for hook in report["webhooks"])


def test_an_unknown_shop_is_a_clear_error_with_exit_status_2(app, sandbox):
    status, report = reconcile(app, "--shop", "nowhere.sandbox.test")

    assert status == 2 and set(report) == KEYS
    assert (report["status"], report["platform"], report["webhooks"]) == ("failed", None, None)
    assert report["error"] == "no shop 'nowhere.sandbox.test' is installed"


def test_a_failed_reconcile_prints_its_error_and_exits_1(app, sandbox):
    sandbox.store.inject_failures(sandbox.domain, 1)

    status, report = reconcile(app, "--shop", sandbox.domain)

    assert status == 1 and set(report) == KEYS
    assert (report["status"], report["remote_orders"]) == ("failed", None)
    assert report["error"] == "Transient: sandbox: injected transient failure"
