"""Finding one customer's rows in a shop's mirror, and writing rows out as plain JSON.

Every query here is scoped by the shop. Webhook deliveries and domain events are scanned in batches
(privacy requests are rare, and a payload's shape depends on its platform), each document tested
with ``Subject.mentioned_in``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from plugin.jobs.models import JobRun
from plugin.privacy.subject import PrivacyRequest, Subject, plain_id
from plugin.sync.models import Customer, DomainEvent, Order, SyncState, WebhookDelivery

SCAN_BATCH = 500


@dataclass(frozen=True)
class Holdings:
    """The customer rows and order rows a request is about, and the subject they make up."""

    customers: Sequence[Customer]
    orders: Sequence[Order]
    subject: Subject


def _id_matches(column, ids: Sequence[str]):
    """``column`` holds one of ``ids``, bare or as the last segment of a global id."""
    conditions = []
    for value in ids:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions += [column == value, column.like(f"%/{escaped}", escape="\\")]
    return or_(*conditions)


def find_holdings(session: Session, shop_id: int, request: PrivacyRequest) -> Holdings:
    """The customer (by platform id, else by email) and their orders: the ones the request lists, the
    ones linked to the customer, and guest orders placed with their email."""
    who = [_id_matches(Customer.platform_id, [request.customer_id])]
    if request.email:
        who.append(func.lower(Customer.email) == request.email)
    customers = session.scalars(select(Customer).where(Customer.shop_id == shop_id, or_(*who))
                                .order_by(Customer.id)).all()
    which = []
    if request.order_ids:
        which.append(_id_matches(Order.platform_id, request.order_ids))
    if customers:
        which.append(Order.customer_id.in_([c.id for c in customers]))
    if request.email:
        which.append(func.lower(Order.email) == request.email)
    orders = session.scalars(select(Order).where(Order.shop_id == shop_id, or_(*which))
                             .order_by(Order.created_at, Order.id)).all() if which else []
    emails = {request.email} | {c.email.lower() for c in customers if c.email} | {
        o.email.lower() for o in orders if o.email}
    names = set()
    for c in customers:
        parts = [p.strip() for p in (c.first_name, c.last_name) if p and len(p.strip()) > 1]
        names.update(parts)
        if len(parts) == 2:
            names.add(" ".join(parts))
    subject = Subject(
        customer_ids=frozenset({request.customer_id} | {plain_id(c.platform_id) for c in customers}),
        order_ids=frozenset(set(request.order_ids) | {plain_id(o.platform_id) for o in orders}),
        emails=frozenset(e for e in emails if e),
        phones=frozenset({request.phone} if request.phone else set()),
        names=frozenset(names),
    )
    return Holdings(customers=customers, orders=orders, subject=subject)


def deliveries_mentioning(session: Session, shop_id: int, subject: Subject) -> Iterator[WebhookDelivery]:
    last_id = 0
    while True:
        batch = session.scalars(select(WebhookDelivery).where(WebhookDelivery.shop_id == shop_id,
                                                              WebhookDelivery.id > last_id)
                                .order_by(WebhookDelivery.id).limit(SCAN_BATCH)).all()
        if not batch:
            return
        for delivery in batch:
            if subject.mentioned_in(delivery.payload, delivery.topic):
                yield delivery
        last_id = batch[-1].id


def events_mentioning(session: Session, shop_id: int, subject: Subject) -> Iterator[DomainEvent]:
    last_id = 0
    while True:
        batch = session.scalars(select(DomainEvent).where(DomainEvent.shop_id == shop_id,
                                                          DomainEvent.id > last_id)
                                .order_by(DomainEvent.id).limit(SCAN_BATCH)).all()
        if not batch:
            return
        for event in batch:
            if subject.mentioned_in(event.payload):
                yield event
        last_id = batch[-1].id


DELIVERY_JOBS = ("sync.process_delivery", "sync.process_deliveries")


def _delivery_ids_of(run: JobRun) -> set[int]:
    args = run.args if isinstance(run.args, dict) else {}
    ids = [args.get("delivery_id"), *(args.get("delivery_ids") or [])]
    return {i for i in ids if isinstance(i, int)}


def scrub_error_texts(session: Session, shop_id: int, subject: Subject, tied_deliveries: set[int]) -> int:
    """The error texts of the shop's deliveries, jobs and sync states, without the subject; returns how
    many rows changed.

    An error message may quote whatever its job read, so after a redaction:
    - the errors of jobs that processed a delivery about the customer (``tied_deliveries``, whose
      payloads became redaction markers; the caller has cleared those deliveries' own errors) are
      cleared whole: they are about a document that no longer exists;
    - every other error text of the shop loses the customer's emails, phones and names
      (``Subject.redacted_text``) and stays readable for the merchant, who may still need it.
    Every row with an error is read (in batches): only failed or retrying work keeps one, so they are
    few, and matching here rather than with SQL ``LIKE`` folds the case of any letter, not ASCII only.
    """
    def tied(row) -> bool:
        return isinstance(row, JobRun) and row.name in DELIVERY_JOBS and bool(_delivery_ids_of(row) & tied_deliveries)

    changed = 0
    for model in (WebhookDelivery, JobRun, SyncState):
        last_id = 0
        while True:
            batch = session.scalars(select(model).where(model.shop_id == shop_id, model.last_error.is_not(None),
                                                        model.id > last_id)
                                    .order_by(model.id).limit(SCAN_BATCH)).all()
            if not batch:
                break
            for row in batch:
                scrubbed = None if tied(row) else subject.redacted_text(row.last_error)
                if scrubbed != row.last_error:
                    row.last_error = scrubbed
                    changed += 1
            last_id = batch[-1].id
    return changed


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def row_dict(row, exclude: Sequence[str] = ()) -> dict:
    """Every column of an ORM row, as JSON-ready values."""
    return {column.key: jsonable(getattr(row, column.key))
            for column in row.__mapper__.column_attrs if column.key not in exclude}
