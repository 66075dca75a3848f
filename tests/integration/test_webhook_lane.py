"""The webhook lane (plugin/sync/lane.py) serves webhooks in front of Flask, past every app-wide hook;
``STORECARE_WEBHOOK_LANE=0`` turns it off, and webhooks then pass through Flask with the same answers."""
from __future__ import annotations

from dataclasses import replace

import pytest
from flask import request

from adapters.sandbox import mapping
from adapters.sandbox import webhooks as sandbox_webhooks
from plugin.shops.service import webhook_secret
from tests import sandbox_support


@pytest.fixture(params=[True, False], ids=["lane on", "lane off"])
def settings(settings, request):
    return replace(settings, webhook_lane=request.param)


def test_a_webhook_passes_the_apps_own_hooks_only_when_the_lane_is_off(app, db, queue, client, settings):
    seen = []
    app.before_request(lambda: seen.append(("before", request.path)))  # as a feature would add one
    app.after_request(lambda response: seen.append(("after", request.path)) or response)
    sandbox = sandbox_support.install(app, db, customers=1, orders=1)
    queue.drain()
    seen.clear()
    body = sandbox_webhooks.encode_body(mapping.order_payload(sandbox.store.recent_orders(sandbox.domain, 1)[0]))
    headers = sandbox_webhooks.webhook_request(sandbox.domain, "orders/updated", body,
                                               webhook_secret("sandbox", sandbox_support.shop(db, sandbox.shop_id)),
                                               "lane-1", sandbox_support.SEEDED_AT)

    response = client.post("/webhooks/sandbox", data=body, headers=headers)

    assert response.status_code == 200 and response.json == {"status": "accepted"}
    assert response.headers["X-Request-Id"]
    path = "/webhooks/sandbox"
    assert seen == ([] if settings.webhook_lane else [("before", path), ("after", path)])
    assert client.post(path, data=body, headers=headers).json == {"status": "duplicate"}
