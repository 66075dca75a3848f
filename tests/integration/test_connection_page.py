"""/admin/connection: the signed-in shop's link to its platform, sync progress, lag, errors and privacy requests."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from plugin.admin.auth import login_url
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.privacy.models import PrivacyAudit
from plugin.shops.models import Shop
from plugin.shops.service import store_credentials
from plugin.sync.models import SyncState
from plugin.sync.reconcile import request_reconcile
from plugin.sync.reconcile_models import ReconcileReport
from tests.contract.woocommerce_kit import NOW, build_store, install_shop, woo_simulator  # noqa: F401 (fixture)
from tests.factories import make_delivery, make_failed_job, make_shop

XSS = "<script>alert(1)</script>"


def sign_in(client, shop_id: int) -> str:
    assert client.get(login_url(shop_id)).status_code == 302
    with client.session_transaction() as sess:
        sess["csrf"] = "test-csrf-token"
    return "test-csrf-token"


def cell(html: str, attribute: str, name: str) -> str:
    """The text of the element (or table row) marked data-<attribute>="<name>"."""
    match = re.search(rf'data-{attribute}="{re.escape(name)}"[^>]*>(.*?)</(?:dd|tr|p)>', html, re.S)
    assert match, f"no data-{attribute}={name} on the page"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


@pytest.fixture
def store(db):
    now = utcnow()
    with db.uow() as s:
        shop = make_shop(s, name="Ceramika Anny", scopes=["read_orders", "read_customers"])
        s.add_all([
            SyncState(shop_id=shop.id, resource="orders", status="running", processed=120, cursor="page-3"),
            SyncState(shop_id=shop.id, resource="customers", status="done", processed=40, finished_at=now),
            SyncState(shop_id=shop.id, resource="reconcile", status="done", processed=2,
                      finished_at=now - timedelta(minutes=5)),
            ReconcileReport(shop_id=shop.id, remote_orders=300, local_orders=120, applied_orders=2,
                            subscriptions_created=["orders/create"], deleted_orders=1,
                            webhooks=[{"topic": "orders/create", "found": "missing", "action": "created"},
                                      {"topic": "orders/paid", "found": "active", "action": "none"}]),
            PrivacyAudit(platform="sandbox", shop_domain=shop.domain, shop_id=shop.id, topic="customers/redact",
                         request_key="delivery:r1", subject={"customer_id": "4242", "order_ids": []},
                         counts={"customers": 1, "orders": 3}, requested_at=now),
        ])
        make_delivery(s, shop, topic="orders/paid", status="processed", received_at=now - timedelta(minutes=2),
                      triggered_at=now - timedelta(minutes=3))
        make_delivery(s, shop, topic="orders/updated", status="failed", received_at=now - timedelta(hours=2),
                      last_error=f"KeyError: {XSS}")
        make_failed_job(s, shop, name="sync.backfill", error="RateLimited: slow down")
        neighbour = make_shop(s, domain="other.sandbox.test", name="Neighbour")
        make_delivery(s, neighbour, topic="customers/update", status="failed", received_at=now,
                      last_error="NEIGHBOUR-ERROR")
        make_failed_job(s, neighbour, name="sync.dispatch_events", error="NEIGHBOUR-JOB")
        s.add(PrivacyAudit(platform="sandbox", shop_domain=neighbour.domain, shop_id=neighbour.id,
                           topic="customers/data_request", request_key="request:9", subject={"customer_id": "777"},
                           counts={}, requested_at=now))
        s.commit()
        return {"shop": shop.id, "neighbour": neighbour.id}


def test_the_page_shows_the_connection_progress_lag_and_errors(client, store):
    sign_in(client, store["shop"])

    response = client.get("/admin/connection")

    assert response.status_code == 200
    html = response.text
    assert cell(html, "fact", "platform") == "sandbox" and cell(html, "fact", "domain") == "demo.sandbox.test"
    assert cell(html, "fact", "status").startswith("Installed")
    assert cell(html, "fact", "token") == "Working"
    assert cell(html, "fact", "scopes") == "read_orders read_customers"
    assert "120 of 300" in cell(html, "progress", "orders") and "Resumes where it stopped" in html
    assert "40 of an unknown total" in cell(html, "progress", "customers")
    assert cell(html, "fact", "last-webhook").startswith("orders/paid")
    assert cell(html, "fact", "lag") == "3 minutes"
    assert cell(html, "fact", "reconcile") == "Done · 5 minutes ago"
    assert (cell(html, "fact", "remote-orders"), cell(html, "fact", "local-orders")) == ("300", "120")
    assert cell(html, "fact", "reconcile-deleted") == "1"
    assert cell(html, "webhook", "orders/create") == "orders/create Missing Created again"
    assert cell(html, "webhook", "orders/paid") == "orders/paid Active Nothing needed"
    assert 'data-note="woocommerce-webhooks"' not in html  # a sandbox shop
    assert "RateLimited: slow down" in unescape(html) and "sync.backfill" in html
    assert cell(html, "fact", "failed-deliveries") == "1 failed webhook in all"
    assert "customers/redact" not in html and "Customer erasure" in html and "4242" in html
    assert re.search(r'href="/admin/connection"[^>]*aria-current="page"', html)


def test_shopper_text_is_escaped(client, store):
    sign_in(client, store["shop"])

    html = client.get("/admin/connection").text

    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_another_shops_connection_never_shows(client, store):
    sign_in(client, store["shop"])

    html = client.get("/admin/connection").text

    assert "NEIGHBOUR-ERROR" not in html and "NEIGHBOUR-JOB" not in html
    assert "customers/update" not in html and "777" not in html and "Customer data request" not in html


def test_reconcile_now_queues_a_reconcile_of_the_shop(client, db, store):
    token = sign_in(client, store["shop"])

    forged = client.post("/admin/connection/reconcile", data={"next": "/admin/connection"})
    response = client.post("/admin/connection/reconcile", data={"csrf_token": token, "next": "/admin/connection"})
    again = client.post("/admin/connection/reconcile", data={"csrf_token": token, "next": "/admin/connection"})

    assert forged.status_code == 400
    assert response.status_code == 302 and response.headers["Location"] == "/admin/connection"
    assert again.status_code == 302
    with db.uow() as s:
        runs = s.execute(select(JobRun.shop_id, JobRun.status).where(JobRun.name == "sync.reconcile")).all()
    assert runs == [(store["shop"], "queued")]
    assert "A reconciliation is queued" in client.get("/admin/connection").text


def test_resync_from_the_page_comes_back_to_it(client, db, store):
    token = sign_in(client, store["shop"])

    response = client.post("/admin/sync", data={"csrf_token": token, "next": "/admin/connection"})

    assert response.headers["Location"] == "/admin/connection"
    with db.uow() as s:
        assert s.scalars(select(JobRun.name).where(JobRun.shop_id == store["shop"], JobRun.status == "queued")
                         ).all() == ["sync.backfill"]


def test_a_shop_that_needs_reauthorisation_is_told_to_reconnect(app, client, db):
    with db.uow() as s:
        shop = make_shop(s, domain="anna.myshopify.com", platform="shopify", needs_reauth=True)
        s.commit()
        shop_id = shop.id
    sign_in(client, shop_id)

    html = client.get("/admin/connection").text

    assert cell(html, "fact", "token") == "Needs re-authorisation" and 'role="alert"' in html
    install = [r for r in app.url_map.iter_rules() if r.rule == "/auth/shopify/install"]
    link = 'href="/auth/shopify/install?shop=anna.myshopify.com"'
    assert (link in html) == bool(install)


def test_a_woocommerce_shop_reconnects_with_the_address_it_connected_with(app, client, db):
    with db.uow() as s:
        shop = make_shop(s, domain="ceramika.example", platform="woocommerce")
        store_credentials(shop, {"store_url": "http://ceramika.example/sklep", "consumer_key": "ck_x",
                                 "consumer_secret": "cs_x", "webhook_secret": "w"})
        s.commit()
        shop_id = shop.id
    sign_in(client, shop_id)

    html = client.get("/admin/connection").text

    connect = [r for r in app.url_map.iter_rules() if r.rule == "/connect/woocommerce"]
    link = 'href="/connect/woocommerce?store_url=http://ceramika.example/sklep"'
    assert (link in unescape(html).replace("%3A", ":").replace("%2F", "/")) == bool(connect)
    assert "cs_x" not in html and "ck_x" not in html


def test_no_reconnect_link_where_the_platform_has_no_connect_page(client, store):
    sign_in(client, store["shop"])

    assert 'data-action="reconnect"' not in client.get("/admin/connection").text


def test_the_page_speaks_polish(client, db, store):
    with db.uow() as s:
        s.get(Shop, store["shop"]).locale = "pl"
        s.commit()
    sign_in(client, store["shop"])

    html = client.get("/admin/connection").text

    assert '<html lang="pl">' in html and "Połączenie" in html and "Uzgodnij teraz" in html
    assert "120 z 300" in cell(html, "progress", "orders")
    assert "40 z nieznanej liczby" in cell(html, "progress", "customers")
    assert cell(html, "fact", "lag") == "3 minuty"
    assert cell(html, "fact", "token") == "Działa"
    assert "Usunięcie danych klienta" in html and "Prośby dotyczące prywatności" in html


def test_the_page_needs_a_signed_in_shop(client, store):
    assert client.get("/admin/connection").status_code == 401
    assert client.post("/admin/connection/reconcile").status_code in (400, 401)
    assert client.get("/admin/privacy/exports/1").status_code == 401


def test_the_overview_keeps_to_the_backfill_and_leaves_the_reconcile_here(client, store):
    sign_in(client, store["shop"])

    html = client.get("/admin/").text

    assert 'data-sync="orders"' in html and 'data-sync="customers"' in html
    assert 'data-sync="reconcile"' not in html


def test_each_webhooks_state_and_what_the_reconcile_did_show_for_a_woocommerce_store(client, db, queue,
                                                                                   woo_simulator):
    store = woo_simulator.add(build_store("https://ceramika.example", seed=4, orders=5, customers=3))
    shop_id = install_shop(db, store)
    with db.uow() as s:
        request_reconcile(s, shop_id)  # the first run creates every webhook
        s.commit()
    queue.drain()
    hooks = {h["topic"]: h for h in store.webhooks.values()}
    hooks["order.created"]["status"] = "paused"  # by the merchant, in WooCommerce > Settings > Advanced
    del store.webhooks[hooks["customer.created"]["id"]]
    failures = 0
    while hooks["order.updated"]["status"] == "active":  # our endpoint down: WooCommerce gives up
        store.update_order(next(iter(store.orders)), NOW)
        store.flush(lambda url, headers, body: 503, at=NOW)
        failures += 1
    assert failures == 7 and hooks["order.updated"]["status"] == "disabled"
    with db.uow() as s:
        request_reconcile(s, shop_id)
        s.commit()
    queue.drain()
    sign_in(client, shop_id)

    html = client.get("/admin/connection").text

    assert cell(html, "webhook", "order.created") == "order.created Paused Turned back on"
    assert cell(html, "webhook", "order.updated") == "order.updated Disabled Turned back on"
    assert cell(html, "webhook", "customer.created") == "customer.created Missing Created again"
    assert cell(html, "webhook", "order.deleted") == "order.deleted Active Nothing needed"
    assert "after 5 failed deliveries" in cell(html, "note", "woocommerce-webhooks")
    assert {h["status"] for h in store.webhooks.values()} == {"active"} and len(store.webhooks) == 7
    with db.uow() as s:
        s.get(Shop, shop_id).locale = "pl"
        s.commit()
    polish = client.get("/admin/connection").text
    assert cell(polish, "webhook", "order.updated") == "order.updated Wyłączony Włączony ponownie"
    assert "po 5 nieudanych dostawach" in cell(polish, "note", "woocommerce-webhooks")
