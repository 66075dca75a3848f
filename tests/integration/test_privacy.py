"""The mandatory privacy webhooks, end to end: signed POST -> 200 -> the worker's job -> export, erasure, audit.

They go through the sandbox platform's webhook path (same inbox, same worker routing as Shopify's), with
Shopify's compliance payload shapes from shared/contracts/shopify/examples.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from adapters.sandbox import operations
from adapters.sandbox import webhooks as sandbox_webhooks
from plugin.admin.auth import login_url
from plugin.jobs.models import JobRun
from plugin.privacy.models import DataExport, PrivacyAudit
from plugin.shops.models import Shop
from plugin.shops.service import webhook_secret
from plugin.storefront.models import IdempotentRequest
from plugin.sync.models import Customer, DomainEvent, LineItem, Order, WebhookDelivery
from tests import sandbox_support
from tests.factories import make_delivery, make_failed_job, make_order

OTHER_DOMAIN = "neighbour.sandbox.test"


@pytest.fixture
def shops(app, db, queue, settings):
    """Two installed, backfilled sandbox shops: ours and a neighbour."""
    ours = sandbox_support.install(app, db, customers=12, orders=60, address=settings.app_url)
    neighbour = sandbox_support.install(app, db, customers=6, orders=20, domain=OTHER_DOMAIN,
                                        address=settings.app_url)
    queue.drain()
    return ours, neighbour


def post(client, db, installed, topic: str, payload: dict, webhook_id: str, secret: str | None = None):
    body = sandbox_webhooks.encode_body(payload)
    secret = secret or webhook_secret("sandbox", sandbox_support.shop(db, installed.shop_id))
    headers = sandbox_webhooks.webhook_request(installed.domain, topic, body, secret, webhook_id,
                                               sandbox_support.SEEDED_AT)
    return client.post("/webhooks/sandbox", data=body, headers=headers)


def loyal_customers(db, shop_id: int, count: int = 2) -> list[dict]:
    """The shop's customers with the most orders: platform id, email, and their order ids."""
    with db.uow() as s:
        rows = s.execute(select(Customer.id, Customer.platform_id, Customer.email).where(Customer.shop_id == shop_id)
                         .order_by(Customer.orders_count.desc(), Customer.id).limit(count)).all()
        return [{"id": cid, "platform_id": pid, "email": email,
                 "orders": sorted(s.scalars(select(Order.platform_id).where(Order.customer_id == cid)))}
                for cid, pid, email in rows]


def request_payload(installed, customer: dict, orders_key: str, orders: list[str], **extra) -> dict:
    return {"shop_id": 954889, "shop_domain": installed.domain, orders_key: [int(o) for o in orders],
            "customer": {"id": int(customer["platform_id"]), "email": customer["email"], "phone": "555-625-1199"},
            **extra}


def sign_in(client, shop_id: int) -> None:
    assert client.get(login_url(shop_id)).status_code == 302


def dump(db, table: str) -> str:
    with db.uow() as s:
        return json.dumps(sorted(list(map(str, row)) for row in s.execute(text(f"SELECT * FROM {table}")).all()))


def test_a_data_request_exports_the_customers_data_for_the_merchant_to_download(app, db, queue, client, shops):
    ours, neighbour = shops
    anna, other = loyal_customers(db, ours.shop_id)
    stranger = loyal_customers(db, neighbour.shop_id, 1)[0]
    operations.create_order(ours.store, ours.domain, customer_email=anna["email"], delivery=ours.delivery)
    queue.drain()
    anna = loyal_customers(db, ours.shop_id)[0]  # now with the order that came by webhook
    with db.uow() as s:  # the neighbour's customer with the same platform id and a guest order in anna's email
        twin = Customer(shop_id=neighbour.shop_id, platform_id=anna["platform_id"], email="twin@neighbour.test")
        s.add(twin)
        s.flush()
        make_order(s, s.get(Shop, neighbour.shop_id), twin, total="12.34")
        guest = make_order(s, s.get(Shop, neighbour.shop_id), None, total="56.78")
        guest.email = anna["email"]
        s.commit()
        guest_id = guest.platform_id

    response = post(client, db, ours, "customers/data_request",
                    request_payload(ours, anna, "orders_requested", anna["orders"][:1],
                                    data_request={"id": 9999}), "dr-1")
    assert response.status_code == 200
    queue.drain()

    with db.uow() as s:
        export = s.scalars(select(DataExport)).one()
        assert (export.shop_id, export.customer_platform_id, export.status) == (ours.shop_id, anna["platform_id"],
                                                                               "ready")
        assert export.orders_count == len(anna["orders"]) and export.completed_at is not None
        assert anna["email"] not in export.document_encrypted  # encrypted at rest
        export_id = export.id
    sign_in(client, ours.shop_id)
    download = client.get(f"/admin/privacy/exports/{export_id}")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    document = download.get_json()
    assert [c["email"] for c in document["customers"]] == [anna["email"]]
    assert sorted(o["platform_id"] for o in document["orders"]) == anna["orders"]
    assert all(o["line_items"] for o in document["orders"])
    assert {d["topic"] for d in document["webhook_deliveries"]} >= {"orders/create", "orders/paid",
                                                                    "customers/data_request"}
    assert any(e["name"] == "OrderPaid" for e in document["domain_events"])
    body = download.get_data(as_text=True)
    assert other["email"] not in body and stranger["email"] not in body and "twin@neighbour.test" not in body
    assert guest_id not in {o["platform_id"] for o in document["orders"]} and "56.78" not in body
    assert not set(other["orders"]) & {o["platform_id"] for o in document["orders"]}
    page = client.get("/admin/connection").text
    assert f'href="/admin/privacy/exports/{export_id}"' in page

    client.get(login_url(neighbour.shop_id))
    assert client.get(f"/admin/privacy/exports/{export_id}").status_code == 404
    assert f"/admin/privacy/exports/{export_id}" not in client.get("/admin/connection").text


def test_a_customer_redact_anonymises_them_and_keeps_the_totals(db, queue, client, shops):
    ours, _ = shops
    anna = loyal_customers(db, ours.shop_id, 1)[0]
    operations.create_order(ours.store, ours.domain, customer_email=anna["email"], delivery=ours.delivery)
    queue.drain()
    anna = loyal_customers(db, ours.shop_id, 1)[0]
    with db.uow() as s:
        before = s.scalars(select(Customer).where(Customer.id == anna["id"])).one()
        totals = (before.orders_count, before.total_spent)
        order_totals = dict(s.execute(select(Order.platform_id, Order.total).where(Order.customer_id == anna["id"])).all())
        items = s.scalar(select(func.count(LineItem.id)).where(LineItem.shop_id == ours.shop_id))
        shop_revenue = s.scalar(select(func.sum(Order.total)).where(Order.shop_id == ours.shop_id))
        s.add(DomainEvent(shop_id=ours.shop_id, name="OrderPaid", key="care-1",
                          payload={"customer_platform_id": anna["platform_id"], "to": anna["email"], "n": 1}))
        s.commit()
    assert post(client, db, ours, "customers/data_request",
                request_payload(ours, anna, "orders_requested", [], data_request={"id": 1}), "dr-a").status_code == 200
    queue.drain()

    response = post(client, db, ours, "customers/redact",
                    request_payload(ours, anna, "orders_to_redact", anna["orders"]), "redact-1")
    assert response.status_code == 200
    queue.drain()

    with db.uow() as s:
        erased = s.scalars(select(Customer).where(Customer.id == anna["id"])).one()
        assert (erased.email, erased.first_name, erased.last_name, erased.birthday, erased.locale) == (None,) * 5
        assert (erased.orders_count, erased.total_spent) == totals and erased.deleted_at is not None
        orders = s.scalars(select(Order).where(Order.customer_id == anna["id"])).all()
        assert {o.platform_id: o.total for o in orders} == order_totals and all(o.email is None for o in orders)
        assert s.scalar(select(func.count(LineItem.id)).where(LineItem.shop_id == ours.shop_id)) == items
        assert Decimal(str(s.scalar(select(func.sum(Order.total)).where(Order.shop_id == ours.shop_id)))) == \
            Decimal(str(shop_revenue))
        assert s.scalars(select(DataExport)).one().status == "purged"
        assert s.scalars(select(DomainEvent.payload).where(DomainEvent.key == "care-1")).one() == {
            "customer_platform_id": anna["platform_id"], "to": "redacted", "n": 1}
        audit = s.scalars(select(PrivacyAudit).where(PrivacyAudit.topic == "customers/redact")).one()
        assert audit.subject == {"customer_id": anna["platform_id"], "order_ids": anna["orders"]}
        assert audit.counts["customers"] == 1 and audit.counts["orders"] == len(anna["orders"])
        assert audit.counts["webhook_deliveries"] >= 4  # orders/create, orders/paid, the request, the redact
    for table in ("customers", "orders", "webhook_deliveries", "domain_events", "data_exports", "privacy_audits"):
        assert anna["email"] not in dump(db, table), table
    assert "555-625-1199" not in dump(db, "webhook_deliveries")


def test_a_repeated_redact_changes_nothing_more(db, queue, client, shops):
    ours, _ = shops
    anna = loyal_customers(db, ours.shop_id, 1)[0]
    payload = request_payload(ours, anna, "orders_to_redact", anna["orders"])
    assert post(client, db, ours, "customers/redact", payload, "redact-1").status_code == 200
    queue.drain()
    snapshot = [dump(db, t) for t in ("customers", "orders", "line_items", "domain_events")]

    assert post(client, db, ours, "customers/redact", payload, "redact-1").get_json()["status"] == "duplicate"
    assert post(client, db, ours, "customers/redact", payload, "redact-2").status_code == 200
    queue.drain()

    assert [dump(db, t) for t in ("customers", "orders", "line_items", "domain_events")] == snapshot
    with db.uow() as s:
        assert s.scalar(select(func.count(PrivacyAudit.id))) == 2  # one per request the platform sent


def test_a_shop_redact_leaves_no_row_of_the_shop_and_an_audit(app, db, queue, client, shops):
    from plugin.models import metadata

    ours, neighbour = shops
    anna = loyal_customers(db, ours.shop_id, 1)[0]
    post(client, db, ours, "customers/data_request",
         request_payload(ours, anna, "orders_requested", [], data_request={"id": 5}), "dr-1")
    queue.drain()
    with db.uow() as s:  # an address only this shop holds, to look for in the files afterwards
        s.get(Customer, anna["id"]).email = "only-in-this-shop@example.com"
        s.commit()
    with db.uow() as s:
        orders_before = s.scalar(select(func.count(Order.id)).where(Order.shop_id == ours.shop_id))
        neighbour_rows = s.scalar(select(func.count(Order.id)).where(Order.shop_id == neighbour.shop_id))

    response = post(client, db, ours, "shop/redact", {"shop_id": 954889, "shop_domain": ours.domain}, "shop-redact")
    assert response.status_code == 200
    queue.drain()

    with db.uow() as s:
        assert s.get(Shop, ours.shop_id) is None
        for table in metadata.sorted_tables:
            if "shop_id" in table.c and table.name != "privacy_audits":
                left = s.scalar(select(func.count()).select_from(table).where(table.c.shop_id == ours.shop_id))
                assert left == 0, f"{table.name} still holds {left} row(s) of the redacted shop"
        assert s.scalar(select(func.count(Order.id)).where(Order.shop_id == neighbour.shop_id)) == neighbour_rows
        audit = s.scalars(select(PrivacyAudit).where(PrivacyAudit.topic == "shop/redact")).one()
        assert (audit.platform, audit.shop_domain, audit.subject) == ("sandbox", ours.domain, {"shop_id": "954889"})
        assert audit.counts["orders"] == orders_before and audit.counts["shops"] == 1
        assert audit.counts["data_exports"] == 1 and audit.counts["webhook_deliveries"] >= 2
        job = s.scalars(select(JobRun).where(JobRun.name == "privacy.redact_shop")).one()
        assert (job.status, job.shop_id) == ("succeeded", None)
    assert anna["email"] not in dump(db, "privacy_audits")
    assert every_table_mentioning(db, "only-in-this-shop@example.com") == []
    assert database_file_copies(db, b"only-in-this-shop@example.com") == {}


def test_every_table_of_a_shop_goes_with_it():
    """shop/redact deletes the shops row and relies on the database for the rest."""
    from plugin.models import metadata

    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "shops":
                assert fk.ondelete == "CASCADE", f"{table.name}.{fk.parent.name} does not cascade from shops"
    assert not [fk for fk in metadata.tables["privacy_audits"].foreign_keys]


def test_a_bad_signature_gets_401_and_stores_nothing(db, queue, client, shops):
    ours, _ = shops
    anna = loyal_customers(db, ours.shop_id, 1)[0]
    for topic, key in (("customers/data_request", "orders_requested"), ("customers/redact", "orders_to_redact"),
                       ("shop/redact", "orders")):
        response = post(client, db, ours, topic, request_payload(ours, anna, key, anna["orders"]), f"forged-{topic}",
                        secret="not-the-secret")
        assert response.status_code == 401
    queue.drain()
    with db.uow() as s:
        assert s.scalar(select(func.count(WebhookDelivery.id)).where(
            WebhookDelivery.topic.in_(("customers/data_request", "customers/redact", "shop/redact")))) == 0
        assert s.scalar(select(func.count(DataExport.id))) == 0
        assert s.scalar(select(func.count(PrivacyAudit.id))) == 0
        assert s.scalars(select(Customer).where(Customer.id == anna["id"])).one().email == anna["email"]


def test_a_repeated_data_request_is_processed_once(db, queue, client, shops):
    ours, _ = shops
    anna = loyal_customers(db, ours.shop_id, 1)[0]
    payload = request_payload(ours, anna, "orders_requested", anna["orders"], data_request={"id": 77})
    assert post(client, db, ours, "customers/data_request", payload, "dr-77").get_json()["status"] == "accepted"
    assert post(client, db, ours, "customers/data_request", payload, "dr-77").get_json()["status"] == "duplicate"
    queue.drain()
    assert post(client, db, ours, "customers/data_request", payload, "dr-77-again").status_code == 200
    queue.drain()
    with db.uow() as s:
        assert s.scalar(select(func.count(DataExport.id))) == 1
        assert s.scalar(select(func.count(PrivacyAudit.id))) == 1
        assert s.scalar(select(func.count(WebhookDelivery.id)).where(
            WebhookDelivery.topic == "customers/data_request", WebhookDelivery.status == "processed")) == 2


def test_a_request_naming_no_customer_fails_visibly(db, queue, client, shops):
    ours, _ = shops
    response = post(client, db, ours, "customers/redact", {"shop_domain": ours.domain, "orders_to_redact": []},
                    "redact-nobody")
    assert response.status_code == 200
    queue.drain()
    with db.uow() as s:
        delivery = s.scalars(select(WebhookDelivery).where(WebhookDelivery.topic == "customers/redact")).one()
        assert delivery.status == "failed" and "names no customer" in delivery.last_error
        assert s.scalar(select(func.count(PrivacyAudit.id))) == 0


def test_operators_list_the_audit_without_personal_data(app, db, queue, client, shops):
    ours, _ = shops
    anna = loyal_customers(db, ours.shop_id, 1)[0]
    post(client, db, ours, "customers/redact", request_payload(ours, anna, "orders_to_redact", anna["orders"]), "r-1")
    queue.drain()

    result = app.test_cli_runner().invoke(args=["privacy", "audit", "--shop", ours.domain])

    assert result.exit_code == 0, result.output
    assert "customers/redact" in result.output and f'"customer_id": "{anna["platform_id"]}"' in result.output
    assert anna["email"] not in result.output
    assert "no privacy requests recorded" in app.test_cli_runner().invoke(
        args=["privacy", "audit", "--shop", OTHER_DOMAIN]).output


def every_table_mentioning(db, needle: str) -> list[str]:
    """The tables with a row whose text holds ``needle`` (any column, case-insensitively)."""
    from plugin.models import metadata

    found = []
    with db.uow() as s:
        for table in metadata.sorted_tables:
            if s.get_bind().dialect.name == "postgresql":
                hits = s.scalar(text(f'SELECT count(*) FROM "{table.name}" t WHERE t::text ILIKE :p'),
                                {"p": f"%{needle}%"})
            else:
                hits = sum(needle.lower() in " ".join(map(str, row)).lower()
                           for row in s.execute(select(table)).all())
            if hits:
                found.append(table.name)
    return found


def quote_her_in_error_texts(db, ours, anna: dict, other: dict) -> dict:
    """Error texts of her shop that quote her (a failed job, a failed delivery), one tied to a delivery
    about her, and one quoting another customer."""
    with db.uow() as s:
        shop = s.get(Shop, ours.shop_id)
        their_delivery = s.scalars(select(WebhookDelivery).where(
            WebhookDelivery.shop_id == ours.shop_id, WebhookDelivery.topic == "orders/create")
            .order_by(WebhookDelivery.id.desc())).first()
        their_delivery.last_error = "Transient: the store timed out"
        tied = make_failed_job(s, shop, error="Transient: the store timed out")
        tied.args = {"delivery_id": their_delivery.id}
        quoting = make_failed_job(s, shop, name="sync.backfill",
                                  error=f"InvalidPayload: customer {anna['email'].upper()} (555-625-1199) is odd")
        unrelated = make_failed_job(s, shop, name="sync.backfill",
                                    error=f"InvalidPayload: customer {other['email']} is odd")
        failed = make_delivery(s, shop, topic="orders/updated", status="failed", payload={"id": 1},
                               last_error=f"InvalidPayload: order 1: email {anna['email']!r} is not valid")
        s.commit()
        return {"tied": tied.id, "quoting": quoting.id, "unrelated": unrelated.id, "delivery": failed.id,
                "their_delivery": their_delivery.id}


def test_a_customer_redact_clears_or_scrubs_the_error_texts_of_her_shop(db, queue, client, shops):
    ours, neighbour = shops
    anna, other = loyal_customers(db, ours.shop_id)
    operations.create_order(ours.store, ours.domain, customer_email=anna["email"], delivery=ours.delivery)
    queue.drain()
    ids = quote_her_in_error_texts(db, ours, anna, other)
    with db.uow() as s:  # another shop's customer with her email is someone else: left alone
        ids["neighbours"] = make_failed_job(s, s.get(Shop, neighbour.shop_id),
                                            error=f"InvalidPayload: customer {anna['email']} is odd").id
        s.commit()

    assert post(client, db, ours, "customers/redact",
                request_payload(ours, anna, "orders_to_redact", anna["orders"]), "redact-1").status_code == 200
    queue.drain()

    with db.uow() as s:
        assert s.get(JobRun, ids["tied"]).last_error is None  # the job of a delivery about her: cleared
        assert s.get(WebhookDelivery, ids["their_delivery"]).last_error is None
        assert s.get(JobRun, ids["quoting"]).last_error == \
            "InvalidPayload: customer [redacted] ([redacted]) is odd"  # the rest stays readable
        assert s.get(WebhookDelivery, ids["delivery"]).last_error == \
            "InvalidPayload: order 1: email '[redacted]' is not valid"
        assert s.get(JobRun, ids["unrelated"]).last_error == f"InvalidPayload: customer {other['email']} is odd"
        assert s.get(JobRun, ids["neighbours"]).last_error == f"InvalidPayload: customer {anna['email']} is odd"
        audit = s.scalars(select(PrivacyAudit).where(PrivacyAudit.topic == "customers/redact")).one()
        assert audit.counts["error_texts"] == 3  # the tied job, the quoting job, the failed delivery


def test_a_customer_redact_leaves_no_copy_in_any_table_nor_in_the_database_files(db, queue, client, shops):
    ours, _ = shops
    anna, other = loyal_customers(db, ours.shop_id)
    placed = operations.create_order(ours.store, ours.domain, customer_email=anna["email"], delivery=ours.delivery)
    operations.create_refund(ours.store, ours.domain, int(placed.subject.number), amount=Decimal("1.00"),
                             delivery=ours.delivery)  # her order rewritten once more: more old copies
    queue.drain()
    quote_her_in_error_texts(db, ours, anna, other)
    with db.uow() as s:  # the storefront's stored answer to one of her POSTs (an Idempotency-Key)
        s.add(IdempotentRequest(shop_id=ours.shop_id, shopper=anna["platform_id"], key="k" * 16, fingerprint="0" * 64,
                                status=201, content_type="application/json", body=json.dumps({"to": anna["email"]})))
        s.commit()
    assert every_table_mentioning(db, anna["email"])  # she is everywhere before

    assert post(client, db, ours, "customers/redact",
                request_payload(ours, anna, "orders_to_redact", anna["orders"]), "redact-1").status_code == 200
    queue.drain()

    assert every_table_mentioning(db, anna["email"]) == []
    assert every_table_mentioning(db, "555-625-1199") == []
    # nor any page of the database file or of its write-ahead log (SQLite; PostgreSQL: see the README)
    assert database_file_copies(db, anna["email"].encode()) == {}
    assert database_file_copies(db, b"555-625-1199") == {}


def database_file_copies(db, needle: bytes) -> dict[str, int]:
    """On SQLite, how many times the database file and its write-ahead log hold ``needle`` (any case),
    read as raw bytes, by file; {} when neither does. On PostgreSQL there are no such files to read: {}."""
    if db.engine.dialect.name != "sqlite":
        return {}
    path = Path(db.engine.url.database)
    found = {}
    for name in (path, Path(f"{path}-wal")):
        count = name.read_bytes().lower().count(needle.lower()) if name.exists() else 0
        if count:
            found[name.name] = count
    return found



def test_a_customers_messages_in_the_outbox_are_exported_then_cancelled_and_stripped_by_a_redact(
        app, db, queue, client, shops):
    from plugin.outbox import service as outbox
    from plugin.outbox.kinds import MessageKind, register_message_kind
    from plugin.outbox.models import OutboxMessage

    ours, _ = shops
    anna, other = loyal_customers(db, ours.shop_id)
    register_message_kind(app, MessageKind("care.thank_you", "Thank-you note"))
    with db.uow() as s:
        to_anna = outbox.enqueue_message(s, ours.shop_id, kind="care.thank_you", source_key="a", customer_id=anna["id"],
                                         reason="Order %(number)s", reason_params={"number": "1", "to": anna["email"]})
        sent = outbox.enqueue_message(s, ours.shop_id, kind="care.thank_you", source_key="b", email=anna["email"],
                                      reason="Order %(number)s", reason_params={"number": "2"})
        outbox.mark_sent(s, ours.shop_id, sent.id)
        to_other = outbox.enqueue_message(s, ours.shop_id, kind="care.thank_you", source_key="c",
                                          customer_id=other["id"], reason="Order %(number)s")
        s.commit()
        ids = (to_anna.id, sent.id, to_other.id)
    assert post(client, db, ours, "customers/data_request",
                request_payload(ours, anna, "orders_requested", [], data_request={"id": 7}), "dr-o").status_code == 200
    queue.drain()
    sign_in(client, ours.shop_id)
    with db.uow() as s:
        export_id = s.scalars(select(DataExport.id)).one()
    document = client.get(f"/admin/privacy/exports/{export_id}").get_json()
    assert sorted(m["id"] for m in document["outbox_messages"]) == [ids[0], ids[1]]

    assert post(client, db, ours, "customers/redact", request_payload(ours, anna, "orders_to_redact", []),
                "redact-o").status_code == 200
    queue.drain()

    with db.uow() as s:
        rows = {m.id: (m.status, m.email, m.reason_params) for m in s.scalars(select(OutboxMessage))}
        audit = s.scalars(select(PrivacyAudit).where(PrivacyAudit.topic == "customers/redact")).one()
    assert rows[ids[0]] == ("cancelled", None, {"number": "1", "to": "redacted"})
    assert rows[ids[1]] == ("sent", None, {"number": "2"})  # sent stays sent, without the address
    assert rows[ids[2]][0] == "waiting"  # another customer's message is untouched
    assert audit.counts["outbox_messages"] == 2
    assert anna["email"] not in dump(db, "outbox_messages")
