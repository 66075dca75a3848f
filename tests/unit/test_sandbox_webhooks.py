"""Sandbox webhooks: the headers the app reads, and signed delivery with retries that are all logged."""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from adapters.base import Connection, lowered_headers
from adapters.errors import InvalidPayload
from adapters.sandbox import Delivery, SandboxAdapter, SandboxError, SandboxStore, operations, seed_shop
from adapters.sandbox.webhooks import (
    HMAC_HEADER,
    REQUIRED_HEADERS,
    SHOP_HEADER,
    TOPIC_HEADER,
    TRIGGERED_AT_HEADER,
    WEBHOOK_ID_HEADER,
    sign,
    webhook_request,
)
from plugin.security import InvalidSignature, verify_base64_hmac

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOP = "hooks.sandbox.test"
SECRET = "app-webhook-secret"
ADDRESS = "http://storecare.test/webhooks/sandbox"
NO_WAIT = (0.0, 0.0)


@pytest.fixture
def store(tmp_path) -> SandboxStore:
    store = SandboxStore(tmp_path / "sandbox.db")
    seed_shop(store, SHOP, customers=5, orders=10, now=NOW)
    return store


@pytest.fixture
def adapter(store) -> SandboxAdapter:
    return SandboxAdapter(Connection(shop_domain=SHOP), str(store.path))


class Receiver:
    """A stand-in for the app's webhook endpoint: verifies like the app does and keeps what it accepted."""

    def __init__(self, secret: str):
        self.accepted: list = []
        self.app = Flask("receiver")
        self.app.add_url_rule("/webhooks/sandbox", "hooks", self.receive, methods=["POST"])
        self.secret = secret

    def receive(self):
        body = request.get_data()
        headers = SandboxAdapter.read_webhook_headers(request.headers)
        try:
            verify_base64_hmac(self.secret, body, headers.signature)
        except InvalidSignature:
            return "", 401
        self.accepted.append(SandboxAdapter.read_webhook(request.headers, body))
        return "", 200

    def send(self, url: str, body: bytes, headers) -> int:
        return self.app.test_client().post(urlsplit(url).path, data=body, headers=dict(headers)).status_code


class Script:
    """A ``send`` that answers from a script: a status code, or an exception to raise."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[tuple[str, bytes, dict]] = []

    def __call__(self, url: str, body: bytes, headers) -> int:
        self.calls.append((url, body, dict(headers)))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def headers_for(body: bytes = b"{}") -> dict[str, str]:
    return webhook_request(SHOP, "orders/create", body, SECRET, "5f1c2a9e-7d40-4c1b-8a55-0e2b6c3d4f10", NOW)


# -- reading headers
def test_headers_are_read_whatever_their_case():
    sent = headers_for()
    for variant in ({k.lower(): v for k, v in sent.items()}, {k.upper(): v for k, v in sent.items()}):
        read = SandboxAdapter.read_webhook_headers(variant)
        assert (read.shop_domain, read.topic, read.signature) == (SHOP, "orders/create", sent[HMAC_HEADER])
        assert read.delivery_id == sent[WEBHOOK_ID_HEADER] and read.triggered_at == NOW


def test_headers_lowered_once_are_read_without_another_copy():
    lowered = lowered_headers({name: f"  {value} " for name, value in headers_for().items()})
    assert lowered_headers(lowered) is lowered  # lowered by the web layer, read as they are by each reader
    read = SandboxAdapter.read_webhook_headers(lowered)
    assert (read.shop_domain, read.topic, read.triggered_at) == (SHOP, "orders/create", NOW)


@pytest.mark.parametrize("missing", REQUIRED_HEADERS)
def test_a_missing_required_header_is_invalid(missing):
    headers = {k: v for k, v in headers_for().items() if k != missing}

    with pytest.raises(InvalidPayload) as raised:
        SandboxAdapter.read_webhook_headers(headers)

    assert missing in raised.value.message


def test_triggered_at_is_optional_but_must_be_a_zoned_time_when_sent():
    headers = headers_for()
    del headers[TRIGGERED_AT_HEADER]
    assert SandboxAdapter.read_webhook_headers(headers).triggered_at is None

    for bad in ("soon", "2026-01-15T12:00:00"):
        with pytest.raises(InvalidPayload):
            SandboxAdapter.read_webhook_headers({**headers, TRIGGERED_AT_HEADER: bad})


def test_the_sandbox_signature_verifies_with_the_apps_security_module():
    body = '{"id":1,"name":"Łucja"}'.encode()

    verify_base64_hmac(SECRET, body, sign(SECRET, body))
    with pytest.raises(InvalidSignature):
        verify_base64_hmac(SECRET, body + b" ", sign(SECRET, body))
    with pytest.raises(InvalidSignature):
        verify_base64_hmac("another-secret", body, sign(SECRET, body))


# -- delivering
def test_a_paid_order_is_delivered_signed_to_the_app_as_orders_create_then_orders_paid(store, adapter):
    receiver = Receiver(SECRET)
    adapter.subscribe_webhooks(ADDRESS, ["orders/create", "orders/paid", "orders/updated"], SECRET)

    outcome = operations.create_order(store, SHOP, guest_email="guest@example.net", items=2,
                                      delivery=Delivery(send=receiver.send, retry_delays=NO_WAIT))

    assert [e.topic for e in receiver.accepted] == ["orders/create", "orders/paid"]
    assert len({e.delivery_id for e in receiver.accepted}) == 2
    assert all(e.shop_domain == SHOP for e in receiver.accepted)
    fetched = adapter.get_order(outcome.subject.platform_id)
    assert all(SandboxAdapter.order_from_payload(e.payload) == fetched for e in receiver.accepted)
    assert [(d.topic, d.status_code, d.attempt) for d in outcome.deliveries] == [
        ("orders/create", 200, 1), ("orders/paid", 200, 1)]


def test_a_webhook_signed_with_an_old_secret_is_refused_and_not_retried(store, adapter):
    receiver = Receiver("the-apps-new-secret")
    adapter.subscribe_webhooks(ADDRESS, ["orders/create"], SECRET)

    outcome = operations.create_order(store, SHOP, items=1, delivery=Delivery(receiver.send, NO_WAIT))

    assert receiver.accepted == []
    assert [(d.status_code, d.succeeded) for d in outcome.deliveries] == [(401, False)]


def test_resubscribing_with_a_new_secret_signs_with_the_new_secret(store, adapter):
    receiver = Receiver("the-apps-new-secret")
    adapter.subscribe_webhooks(ADDRESS, ["orders/create"], SECRET)

    assert adapter.subscribe_webhooks(ADDRESS, ["orders/create"], "the-apps-new-secret") == []
    operations.create_order(store, SHOP, items=1, delivery=Delivery(receiver.send, NO_WAIT))

    assert [e.topic for e in receiver.accepted] == ["orders/create"]


def test_a_failed_delivery_is_retried_with_the_same_webhook_id_and_every_attempt_is_logged(store, adapter):
    adapter.subscribe_webhooks(ADDRESS, ["customers/create"], SECRET)
    send = Script(503, 200)

    outcome = operations.create_customer(store, SHOP, email="New.Buyer@Example.com",
                                         delivery=Delivery(send, NO_WAIT))

    first, second = (call[2] for call in send.calls)
    assert first[WEBHOOK_ID_HEADER] == second[WEBHOOK_ID_HEADER]
    assert first[HMAC_HEADER] == second[HMAC_HEADER]
    assert [(d.attempt, d.status_code) for d in outcome.deliveries] == [(1, 503), (2, 200)]
    assert [(d.attempt, d.status_code) for d in store.deliveries(SHOP)] == [(2, 200), (1, 503)]


def test_network_errors_are_retried_three_times_then_left_failed_in_the_log(store, adapter):
    adapter.subscribe_webhooks(ADDRESS, ["customers/create"], SECRET)
    send = Script(*(requests.ConnectionError("connection refused") for _ in range(3)))

    outcome = operations.create_customer(store, SHOP, email="offline@example.com",
                                         delivery=Delivery(send, NO_WAIT))

    assert len(send.calls) == 3
    logged = store.deliveries(SHOP)
    assert [d.attempt for d in logged] == [3, 2, 1]
    assert all(d.status_code is None and "connection refused" in d.error and not d.succeeded for d in logged)
    assert outcome.deliveries[-1].attempt == 3


def test_only_subscriptions_to_the_topic_receive_it(store, adapter):
    adapter.subscribe_webhooks(ADDRESS, ["orders/cancelled"], SECRET)
    adapter.subscribe_webhooks("http://elsewhere.test/hooks", ["orders/create"], "other-secret")
    send = Script(200)

    operations.create_order(store, SHOP, items=1, delivery=Delivery(send, NO_WAIT))

    assert [(url, headers[TOPIC_HEADER], headers[SHOP_HEADER]) for url, _, headers in send.calls] == [
        ("http://elsewhere.test/hooks", "orders/create", SHOP)]
    verify_base64_hmac("other-secret", send.calls[0][1], send.calls[0][2][HMAC_HEADER])


def test_without_subscriptions_nothing_is_sent(store):
    outcome = operations.create_order(store, SHOP, items=1, delivery=Delivery(Script(), NO_WAIT))

    assert outcome.deliveries == () and store.deliveries(SHOP) == []


def test_the_default_sender_posts_over_real_http(store, adapter):
    receiver = Receiver(SECRET)
    server = make_server("127.0.0.1", 0, receiver.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"http://127.0.0.1:{server.server_port}/webhooks/sandbox"
        adapter.subscribe_webhooks(address, ["customers/create"], SECRET)
        outcome = operations.create_customer(store, SHOP, email="http@example.com")
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    assert [d.status_code for d in outcome.deliveries] == [200]
    assert SandboxAdapter.customer_from_payload(receiver.accepted[0].payload).email == "http@example.com"


@pytest.mark.parametrize(("address", "topics", "secret"), [
    (ADDRESS, ["orders/create"], None),
    (ADDRESS, ["orders/create"], ""),
    (ADDRESS, ["app/uninstalled"], SECRET),
    ("ftp://storecare.test/hooks", ["orders/create"], SECRET),
])
def test_a_subscription_needs_a_secret_a_known_topic_and_an_http_address(adapter, address, topics, secret):
    with pytest.raises(SandboxError):
        adapter.subscribe_webhooks(address, topics, secret)
