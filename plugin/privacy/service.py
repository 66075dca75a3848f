"""The mandatory privacy requests: export a customer's data, erase a customer, erase a shop.

They arrive as webhooks (customers/data_request, customers/redact, shop/redact): the inbox verifies,
stores and answers 200; the worker routes them here (``plugin.sync.inbox._apply``). The two customer
requests run inside the delivery's own transaction, so the work and the delivery's "processed" mark
commit together and a redelivery finds nothing to do. shop/redact cannot: deleting the shop deletes
that delivery row too. It queues ``privacy.redact_shop`` with everything the job needs copied into
its arguments (a JobRun without a shop, so it survives), and the job deletes the shop and writes the
audit in one transaction.

Every request leaves a ``PrivacyAudit`` row: platform ids and row counts, never an email or a name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from adapters.errors import InvalidPayload
from plugin.db import checkpoint_wal_after_commit, utcnow
from plugin.jobs.models import JobRun
from plugin.outbox import service as outbox
from plugin.privacy.models import DataExport, PrivacyAudit
from plugin.privacy.records import (
    Holdings,
    deliveries_mentioning,
    events_mentioning,
    find_holdings,
    jsonable,
    row_dict,
    scrub_error_texts,
)
from plugin.privacy.subject import PrivacyRequest, PrivacyRequestError
from plugin.shops.models import Shop
from plugin.storefront.models import IdempotentRequest
from plugin.sync.models import Customer, LineItem, Order, Refund, WebhookDelivery
from plugin.upsert import insert_ignore

DATA_REQUEST, CUSTOMER_REDACT, SHOP_REDACT = "customers/data_request", "customers/redact", "shop/redact"
TOPICS = (DATA_REQUEST, CUSTOMER_REDACT, SHOP_REDACT)
EXPORT_FORMAT = "storecare.customer-data/1"
REDACT_SHOP_JOB = "privacy.redact_shop"


class PrivacyError(Exception):
    """Root of the privacy service's errors; messages are safe to show."""


class ExportNotFound(PrivacyError):
    def __init__(self) -> None:
        super().__init__("no such export for this shop")


# -- the requests

def _request(delivery: WebhookDelivery) -> PrivacyRequest:
    try:
        return PrivacyRequest.from_payload(delivery.payload or {})
    except PrivacyRequestError as exc:
        raise InvalidPayload(f"{delivery.topic}: {exc}") from None


def _requested_at(delivery: WebhookDelivery) -> datetime:
    return delivery.triggered_at or delivery.received_at or utcnow()


def _subject_ids(request: PrivacyRequest) -> dict:
    return {"customer_id": request.customer_id, "order_ids": list(request.order_ids)}


def export_customer_data(session: Session, shop: Shop, delivery: WebhookDelivery) -> DataExport:
    """customers/data_request: everything we hold on the customer, encrypted, for the merchant to download."""
    request = _request(delivery)
    key = f"request:{request.request_id}" if request.request_id else f"delivery:{delivery.delivery_id}"
    held = find_holdings(session, shop.id, request)
    document = _export_document(session, shop, request, held, _requested_at(delivery))
    vault = current_app.extensions["storecare.vault"]
    insert_ignore(session, DataExport.__table__, [{
        "shop_id": shop.id, "request_key": key, "customer_platform_id": request.customer_id,
        "status": "ready",
        "orders_count": len(held.orders), "document_encrypted": vault.encrypt(document),
        "created_at": _requested_at(delivery), "completed_at": utcnow(),
    }], ["shop_id", "request_key"])
    counts = {"customers": len(held.customers), "orders": len(held.orders),
              "domain_events": len(document["domain_events"]),
              "webhook_deliveries": len(document["webhook_deliveries"])}
    _audit(session, shop.platform, shop.domain, shop.id, DATA_REQUEST, key, _subject_ids(request), counts,
           _requested_at(delivery))
    return session.scalars(select(DataExport).where(DataExport.shop_id == shop.id,
                                                    DataExport.request_key == key)).one()


def _export_document(session: Session, shop: Shop, request: PrivacyRequest, held: Holdings,
                     requested_at: datetime) -> dict:
    order_ids = [o.id for o in held.orders]
    items = session.scalars(select(LineItem).where(LineItem.shop_id == shop.id,
                                                   LineItem.order_id.in_(order_ids))
                            .order_by(LineItem.id)).all() if order_ids else []
    refunds = session.scalars(select(Refund).where(Refund.shop_id == shop.id, Refund.order_id.in_(order_ids))
                              .order_by(Refund.created_at, Refund.id)).all() if order_ids else []
    orders = []
    for order in held.orders:
        row = row_dict(order)
        row["line_items"] = [row_dict(i) for i in items if i.order_id == order.id]
        row["refunds"] = [row_dict(r) for r in refunds if r.order_id == order.id]
        orders.append(row)
    return {
        "format": EXPORT_FORMAT,
        "shop": {"platform": shop.platform, "domain": shop.domain},
        "request": {"customer_id": request.customer_id, "email": request.email, "phone": request.phone,
                    "orders_requested": list(request.order_ids), "data_request_id": request.request_id,
                    "requested_at": requested_at.isoformat()},
        "generated_at": utcnow().isoformat(),
        "customers": [row_dict(c) for c in held.customers],
        "orders": orders,
        "domain_events": [{"name": e.name, "key": e.key, "occurred_at": jsonable(e.occurred_at),
                           "payload": e.payload} for e in events_mentioning(session, shop.id, held.subject)],
        "webhook_deliveries": [{"topic": d.topic, "delivery_id": d.delivery_id,
                                "received_at": jsonable(d.received_at), "payload": d.payload}
                               for d in deliveries_mentioning(session, shop.id, held.subject)],
        "outbox_messages": [row_dict(m) for m in outbox.messages_of(
            session, shop.id, [c.id for c in held.customers], held.subject.emails)],
    }


def redact_customer(session: Session, shop: Shop, delivery: WebhookDelivery) -> dict:
    """customers/redact: anonymise the customer and their orders; keep totals, counts and line items.

    Stored webhook payloads that mention them become a redaction marker (one not yet applied is then
    ignored: it would bring the data back) and lose their error; domain events lose their email, phone
    and name values; messages to them in the outbox are cancelled if still waiting and lose their
    address and what their parameters said about them; exports made for them are emptied; the storefront's
    stored answers to their POSTs are deleted; the shop's error texts lose them too
    (``scrub_error_texts``). On SQLite, once the caller commits, the write-ahead log is checkpointed
    and truncated, and ``secure_delete`` has zeroed what the updates replaced: no copy stays in either
    file. Running it again changes nothing more.
    """
    request = _request(delivery)
    held = find_holdings(session, shop.id, request)
    now = utcnow()
    customer_ids = [c.id for c in held.customers]
    order_ids = [o.id for o in held.orders]
    counts = {"customers": 0, "orders": 0, "webhook_deliveries": 0, "domain_events": 0, "data_exports": 0,
              "error_texts": 0, "outbox_messages": 0, "idempotent_requests": 0}
    if customer_ids:
        counts["customers"] = session.execute(
            update(Customer).where(Customer.shop_id == shop.id, Customer.id.in_(customer_ids)).values(
                email=None, first_name=None, last_name=None, birthday=None, locale=None,
                accepts_marketing=False, deleted_at=func.coalesce(Customer.deleted_at, now))
            .execution_options(synchronize_session=False)
        ).rowcount
    if order_ids:
        counts["orders"] = session.execute(
            update(Order).where(Order.shop_id == shop.id, Order.id.in_(order_ids))
            .values(email=None).execution_options(synchronize_session=False)).rowcount
        session.execute(update(Refund).where(Refund.shop_id == shop.id, Refund.order_id.in_(order_ids))
                        .values(reason=None).execution_options(synchronize_session=False))
    marker = {"redacted": True, "by": CUSTOMER_REDACT, "at": now.isoformat()}
    tied: set[int] = set()
    for stored in list(deliveries_mentioning(session, shop.id, held.subject)):
        stored.payload, stored.last_error = marker, None  # an error about a payload that is gone
        if stored.status in ("received", "failed") and stored.id != delivery.id:
            stored.status, stored.last_error = "ignored", "redacted before it was applied"
        tied.add(stored.id)
        counts["webhook_deliveries"] += 1
    counts["error_texts"] = scrub_error_texts(session, shop.id, held.subject, tied)
    for event in list(events_mentioning(session, shop.id, held.subject)):
        scrubbed = held.subject.scrubbed(event.payload)
        if scrubbed != event.payload:
            event.payload = scrubbed
            counts["domain_events"] += 1
    counts["outbox_messages"] = outbox.forget_shopper(session, shop.id, customer_ids, held.subject.emails,
                                                      held.subject.scrubbed)
    counts["data_exports"] = session.execute(
        update(DataExport).where(DataExport.shop_id == shop.id,
                                 DataExport.customer_platform_id.in_(sorted(held.subject.customer_ids)),
                                 DataExport.status != "purged")
        .values(status="purged", document_encrypted=None)
        .execution_options(synchronize_session=False)).rowcount
    counts["idempotent_requests"] = session.execute(  # the storefront's stored answers to her POSTs
        delete(IdempotentRequest).where(IdempotentRequest.shop_id == shop.id,
                                        IdempotentRequest.shopper.in_(sorted(held.subject.customer_ids)))
        .execution_options(synchronize_session=False)).rowcount
    _audit(session, shop.platform, shop.domain, shop.id, CUSTOMER_REDACT, f"delivery:{delivery.delivery_id}",
           _subject_ids(request), counts, _requested_at(delivery))
    checkpoint_wal_after_commit(session)  # the caller commits: then SQLite's log loses the old pages too
    return counts


def request_shop_redaction(session: Session, shop: Shop, delivery: WebhookDelivery) -> JobRun:
    """shop/redact: queue the job that deletes the shop. The run has no shop, so it outlives it."""
    payload = delivery.payload or {}
    args = {"shop_id": shop.id, "platform": shop.platform, "shop_domain": shop.domain,
            "request_key": f"delivery:{delivery.delivery_id}",
            "requested_at": _requested_at(delivery).isoformat(),
            "platform_shop_id": None if payload.get("shop_id") is None else str(payload["shop_id"])}
    return current_app.extensions["storecare.queue"].enqueue(session, REDACT_SHOP_JOB, args, shop_id=None)


def redact_shop(db, shop_id: int, platform: str, shop_domain: str, request_key: str, requested_at: str,
                platform_shop_id: str | None = None) -> dict:
    """Delete the shop and, by ON DELETE CASCADE, every row that belongs to it; then write the audit.

    One transaction: the audit exists if and only if the data is gone. A second run (the shop already
    deleted) writes nothing new. The shop row is matched by platform and domain too, so an id reused by
    a later install is never deleted by an old request.
    """
    from plugin.models import metadata  # every table, for the counts

    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        counts: dict[str, int] = {}
        if shop is not None and (shop.platform, shop.domain) == (platform, shop_domain):
            for table in metadata.sorted_tables:
                if "shop_id" in table.c and table.name != PrivacyAudit.__tablename__:
                    found = session.scalar(select(func.count()).select_from(table)
                                           .where(table.c.shop_id == shop_id)) or 0
                    if found:
                        counts[table.name] = found
            counts["shops"] = session.execute(delete(Shop).where(Shop.id == shop_id)).rowcount
        subject = {"shop_id": platform_shop_id} if platform_shop_id else {}
        _audit(session, platform, shop_domain, shop_id, SHOP_REDACT, request_key, subject, counts,
               datetime.fromisoformat(requested_at))
        checkpoint_wal_after_commit(session)
        session.commit()
    return counts


def _audit(session: Session, platform: str, domain: str, shop_id: int | None, topic: str, request_key: str,
           subject: dict, counts: dict, requested_at: datetime) -> None:
    insert_ignore(session, PrivacyAudit.__table__, [{
        "platform": platform, "shop_domain": domain, "shop_id": shop_id, "topic": topic,
        "request_key": request_key, "subject": subject, "counts": counts, "requested_at": requested_at,
        "completed_at": utcnow(),
    }], ["platform", "shop_domain", "topic", "request_key"])


# -- what the merchant and the operator read

@dataclass(frozen=True)
class Download:
    filename: str
    body: bytes


def list_exports(session: Session, shop_id: int, limit: int = 50) -> list[DataExport]:
    return list(session.scalars(select(DataExport).where(DataExport.shop_id == shop_id)
                                .order_by(DataExport.created_at.desc(), DataExport.id.desc()).limit(limit)))


def export_download(session: Session, shop_id: int, export_id: int) -> Download:
    """The export as a JSON file, only for the shop it was made for (another shop's id is not found)."""
    export = session.scalar(select(DataExport).where(DataExport.id == export_id,
                                                     DataExport.shop_id == shop_id))
    if export is None or export.document_encrypted is None:
        raise ExportNotFound()
    document = current_app.extensions["storecare.vault"].decrypt(export.document_encrypted)
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    safe_id = "".join(ch for ch in export.customer_platform_id if ch.isalnum())[:40] or "customer"
    return Download(filename=f"customer-{safe_id}-data-{export.id}.json", body=body)


def list_audits(session: Session, platform: str | None = None, shop_domain: str | None = None,
                limit: int = 50) -> list[PrivacyAudit]:
    """Audits, newest first; merchants pass their shop, operators may list everyone's."""
    stmt = select(PrivacyAudit)
    if platform is not None:
        stmt = stmt.where(PrivacyAudit.platform == platform)
    if shop_domain is not None:
        stmt = stmt.where(PrivacyAudit.shop_domain == shop_domain)
    return list(session.scalars(stmt.order_by(PrivacyAudit.requested_at.desc(), PrivacyAudit.id.desc())
                                .limit(limit)))
