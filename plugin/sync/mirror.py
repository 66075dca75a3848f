"""The mirror: neutral DTOs from any adapter upserted into our tables, idempotently.

Rules:
- a row is keyed by (shop, platform id); a write applies only when its ``updated_at`` is newer than
  what we hold, so duplicate and out-of-order deliveries are harmless;
- an applied order replaces its line items and refunds, refreshes its customer's aggregates and
  records the domain events its state implies (recording is itself idempotent);
- a deleted order (deleted or trashed on the platform) keeps its row, marked with ``deleted_at``: when
  it was deleted, never earlier than the version we hold. The deletion is the order's newest version:
  a version of the order clears it only if its ``updated_at`` is later than ``deleted_at``. Platforms
  save an order they restore (WooCommerce's untrash moves ``date_modified`` to the restore), so a real
  restore, or a re-sync listing the restored order, clears it; an update made before the deletion but
  delivered after it does not.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, case, delete, func, literal, select, update

from adapters import base as dto
from plugin.db import UTCDateTime, utcnow
from plugin.shops.models import Shop
from plugin.sync import events, payloads, revenue
from plugin.sync.models import Customer, LineItem, Order, Refund
from plugin.upsert import insert_for, insert_ignore

CHUNK = 400  # rows per statement: far below both databases' bound-parameter limits


@dataclass(frozen=True)
class UpsertResult:
    applied: int  # rows inserted or updated (newer data)
    skipped: int  # rows we already held in this or a newer version
    events: int  # domain events recorded (written as the transaction commits, those already held left out)


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _limits(table) -> dict[str, int]:
    return {c.name: c.type.length for c in table.columns if isinstance(c.type, String) and c.type.length}


_LIMITS = {table.name: _limits(table) for table in (Customer.__table__, Order.__table__, LineItem.__table__,
                                                    Refund.__table__)}


def _fitted(table, row: dict) -> dict:
    """``row`` with every text cut to its column: platforms store what shoppers type (a 5,000-character
    name), and PostgreSQL refuses a row with a longer value, which would lose the whole order. An email
    too long for its column is no email (RFC 5321 allows 254 characters): dropped, not stored half."""
    for name, limit in _LIMITS[table.name].items():
        value = row.get(name)
        if isinstance(value, str) and len(value) > limit:
            row[name] = None if name == "email" else value[:limit]
    return row


def _customer_row(shop_id: int, c: dto.Customer) -> dict:
    return _fitted(Customer.__table__, {
        "shop_id": shop_id, "platform_id": c.platform_id, "email": (c.email or None) and c.email.lower(),
        "first_name": c.first_name, "last_name": c.last_name, "birthday": c.birthday,
        "accepts_marketing": c.accepts_marketing, "locale": c.locale, "platform_created_at": c.created_at,
        "platform_updated_at": c.updated_at, "synced_at": utcnow(),
    })


def upsert_customers(session, shop_id: int, customers: Sequence[dto.Customer], source: str) -> UpsertResult:
    """Full customer records (from customer webhooks or the customer backfill): newer wins."""
    applied = new_events = 0
    unique = list({c.platform_id: c for c in customers}.values())
    for chunk in _chunks(unique):
        existing = set(session.scalars(select(Customer.platform_id).where(
            Customer.shop_id == shop_id, Customer.platform_id.in_([c.platform_id for c in chunk]))))
        stmt = insert_for(session, Customer.__table__)
        cols = ("email", "first_name", "last_name", "birthday", "accepts_marketing", "locale",
                "platform_created_at", "platform_updated_at", "synced_at")
        table = Customer.__table__
        stmt = stmt.on_conflict_do_update(
            index_elements=["shop_id", "platform_id"],
            set_={col: stmt.excluded[col] for col in cols},
            where=(table.c.platform_updated_at.is_(None))
            | (table.c.platform_updated_at < stmt.excluded.platform_updated_at),
        ).returning(table.c.platform_id, table.c.id)
        done = dict(session.execute(stmt, [_customer_row(shop_id, c) for c in chunk]).all())
        applied += len(done)
        created = [c for c in chunk if c.platform_id not in existing and c.platform_id in done]
        new_events += _record_created(session, shop_id, [(c, done[c.platform_id]) for c in created], source)
    return UpsertResult(applied, len(unique) - applied, new_events)


def _installed_at(session, shop_id: int) -> datetime | None:
    """When the shop's current installation began: facts from before it are history (plugin/sync/payloads.py)."""
    return session.scalar(select(Shop.installed_at).where(Shop.id == shop_id))


def _record_created(session, shop_id: int, created: list[tuple[dto.Customer, int]], source: str) -> int:
    if not created:
        return 0
    installed_at = _installed_at(session, shop_id)
    return events.record_facts(session, shop_id, [payloads.CustomerCreated(
        customer_id=customer_id, customer_platform_id=c.platform_id, source=source,
        historical=payloads.is_historical(c.created_at, installed_at, source),
        occurred_at=c.created_at.isoformat() if c.created_at else None) for c, customer_id in created])


def _ensure_customers(session, shop_id: int, orders: Sequence[dto.Order], source: str) -> tuple[dict[str, int], int]:
    """Customers named by orders: created when unknown (a full record arrives with its own sync)."""
    wanted = {o.customer.platform_id: o.customer for o in orders if o.customer is not None}
    if not wanted:
        return {}, 0
    ids = _customer_ids(session, shop_id, list(wanted))
    missing = [c for platform_id, c in wanted.items() if platform_id not in ids]
    if not missing:  # the usual case: the customers' own sync (or an earlier order) brought them
        return ids, 0
    rows = [{**_customer_row(shop_id, c), "platform_updated_at": None} for c in missing]
    created = dict(insert_ignore(session, Customer.__table__, rows, ["shop_id", "platform_id"],
                                 returning=[Customer.__table__.c.platform_id, Customer.__table__.c.id]))
    new_events = _record_created(session, shop_id, [(c, created[c.platform_id]) for c in missing
                                                    if c.platform_id in created], source)
    ids.update(_customer_ids(session, shop_id, [c.platform_id for c in missing]))
    return ids, new_events


def _customer_ids(session, shop_id: int, platform_ids: list[str]) -> dict[str, int]:
    return dict(session.execute(select(Customer.platform_id, Customer.id).where(
        Customer.shop_id == shop_id, Customer.platform_id.in_(platform_ids))).all())


def _customers_by_email(session, shop_id: int, orders: Sequence[dto.Order]) -> dict[str, int]:
    """Guest orders (no customer, an email) belong to the shop's customer with that email: WooCommerce
    guests, or a shopper who checked out without signing in. The lowest id wins if emails repeat."""
    emails = sorted({o.email.strip().lower() for o in orders if o.customer is None and o.email})
    found: dict[str, int] = {}
    for chunk in _chunks(emails):
        rows = session.execute(select(Customer.email, func.min(Customer.id)).where(
            Customer.shop_id == shop_id, Customer.email.in_(chunk), Customer.deleted_at.is_(None))
            .group_by(Customer.email)).all()
        found.update({email: cid for email, cid in rows})
    return found


def _order_customer_id(o: dto.Order, customer_ids: dict[str, int], by_email: dict[str, int]) -> int | None:
    if o.customer is not None:
        return customer_ids.get(o.customer.platform_id)
    return by_email.get(o.email.strip().lower()) if o.email else None


def _order_row(shop_id: int, o: dto.Order, customer_id: int | None) -> dict:
    return _fitted(Order.__table__, {
        "shop_id": shop_id, "platform_id": o.platform_id, "number": o.number, "customer_id": customer_id,
        "email": (o.email or (o.customer.email if o.customer else None) or None),
        "currency": o.currency, "subtotal": o.subtotal, "total": o.total, "total_discounts": o.total_discounts,
        "total_tax": o.total_tax, "total_refunded": o.total_refunded, "financial_status": str(o.financial_status),
        "fulfillment_status": str(o.fulfillment_status), "discount_codes": list(o.discount_codes),
        "cancel_reason": o.cancel_reason, "created_at": o.created_at, "paid_at": o.paid_at,
        "cancelled_at": o.cancelled_at, "closed_at": o.closed_at, "fulfilled_at": o.fulfilled_at,
        "platform_updated_at": o.updated_at, "synced_at": utcnow(),
    })


def upsert_orders(session, shop_id: int, orders: Sequence[dto.Order], source: str) -> UpsertResult:
    """Orders with their children; newer ``updated_at`` wins. The caller commits."""
    unique: dict[str, dto.Order] = {}
    for o in orders:  # within one batch too, the newest version of an order wins
        if o.platform_id not in unique or unique[o.platform_id].updated_at < o.updated_at:
            unique[o.platform_id] = o
    customer_ids, new_events = _ensure_customers(session, shop_id, list(unique.values()), source)
    by_email = _customers_by_email(session, shop_id, list(unique.values()))
    table = Order.__table__
    applied: dict[str, int] = {}
    for chunk in _chunks(list(unique.values())):
        rows = [_order_row(shop_id, o, _order_customer_id(o, customer_ids, by_email)) for o in chunk]
        stmt = insert_for(session, table)
        newer = stmt.excluded.platform_updated_at
        stmt = stmt.on_conflict_do_update(
            index_elements=["shop_id", "platform_id"],
            set_={**{col: stmt.excluded[col] for col in rows[0] if col not in ("shop_id", "platform_id")},
                  "deleted_at": None},
            where=(table.c.platform_updated_at < newer)
            & (table.c.deleted_at.is_(None) | (table.c.deleted_at < newer)),
        ).returning(table.c.platform_id, table.c.id)
        applied.update(dict(session.execute(stmt, rows).all()))
    if applied:
        _replace_children(session, shop_id, [unique[p] for p in applied], applied)
        owners = {p: _order_customer_id(unique[p], customer_ids, by_email) for p in applied}
        refresh_customer_aggregates(session, shop_id, set(owners.values()) - {None})
        installed_at = _installed_at(session, shop_id)
        new_events += events.record_facts(session, shop_id, [
            fact for p, order_id in applied.items()
            for fact in payloads.order_facts(unique[p], order_id=order_id, customer_id=owners[p], source=source,
                                             installed_at=installed_at)])
    return UpsertResult(len(applied), len(unique) - len(applied), new_events)


def _replace_children(session, shop_id: int, orders: Sequence[dto.Order], ids: dict[str, int]) -> None:
    order_ids = list(ids.values())
    for chunk in _chunks(order_ids):
        session.execute(delete(LineItem).where(LineItem.order_id.in_(chunk)))
        session.execute(delete(Refund).where(Refund.order_id.in_(chunk)))
    items = [_fitted(LineItem.__table__, {
        "shop_id": shop_id, "order_id": ids[o.platform_id], "platform_id": li.platform_id,
        "product_id": li.product_id, "sku": li.sku, "title": li.title, "quantity": li.quantity,
        "unit_price": li.unit_price, "total": li.line_total}) for o in orders for li in o.line_items]
    refunds = [_fitted(Refund.__table__, {
        "shop_id": shop_id, "order_id": ids[o.platform_id], "platform_id": r.platform_id, "amount": r.amount,
        "reason": r.reason, "created_at": r.created_at}) for o in orders for r in o.refunds]
    for chunk in _chunks(items):
        session.execute(LineItem.__table__.insert(), chunk)
    for chunk in _chunks(refunds):
        session.execute(Refund.__table__.insert(), chunk)


def refresh_customer_aggregates(session, shop_id: int, customer_ids) -> None:
    """orders_count, total_spent, first and last order of each customer, from the mirror itself and
    from paid orders only (``plugin.sync.revenue``): what the customer actually bought, net of refunds.
    Call it again after an order of theirs changes outside ``upsert_orders`` (deleted on the platform)."""
    ids = sorted(customer_ids)
    # shop_id first: the subqueries then use ix_orders_shop_customer instead of scanning every order
    paid = (Order.shop_id == shop_id) & (Order.customer_id == Customer.id) & revenue.paid_order()
    for chunk in _chunks(ids):
        session.execute(
            update(Customer).where(Customer.shop_id == shop_id, Customer.id.in_(chunk)).values(
                orders_count=select(func.count(Order.id)).where(paid).scalar_subquery(),
                total_spent=select(revenue.paid_net_revenue()).where(paid).scalar_subquery(),
                first_order_at=select(func.min(Order.created_at)).where(paid).scalar_subquery(),
                last_order_at=select(func.max(Order.created_at)).where(paid).scalar_subquery(),
            ).execution_options(synchronize_session=False)
        )


def mark_order_deleted(session, shop_id: int, platform_id: str, at: datetime, source: str) -> bool:
    """An order the platform no longer has (deleted, or in WooCommerce's trash), deleted at ``at``:
    marked, not removed, so what other features hold about it keeps its reference. ``deleted_at`` is
    ``at``, or the held version's ``updated_at`` if that is later (see the module's rules). An order
    already marked, or one we never held, is left as it is. Records OrderDeleted (once per order) and
    refreshes the customer's aggregates; True when the order was marked. The caller commits."""
    o = Order.__table__
    at_ = literal(at, UTCDateTime())
    row = session.execute(
        update(o).where(o.c.shop_id == shop_id, o.c.platform_id == platform_id, o.c.deleted_at.is_(None))
        .values(deleted_at=case((o.c.platform_updated_at > at_, o.c.platform_updated_at), else_=at_))
        .returning(o.c.id, o.c.number, o.c.customer_id, o.c.currency, o.c.total, o.c.deleted_at)).first()
    if row is None:
        return False
    owner = session.scalar(select(Customer.platform_id).where(Customer.id == row.customer_id)) \
        if row.customer_id is not None else None
    deleted_at = row.deleted_at.isoformat()
    events.record_facts(session, shop_id, [payloads.OrderDeleted(
        order_id=row.id, order_platform_id=platform_id, order_number=row.number, customer_id=row.customer_id,
        customer_platform_id=owner, currency=row.currency, total=payloads.money_text(row.total), source=source,
        historical=payloads.is_historical(row.deleted_at, _installed_at(session, shop_id), source),
        occurred_at=deleted_at, deleted_at=deleted_at)])
    if row.customer_id is not None:
        refresh_customer_aggregates(session, shop_id, {row.customer_id})
    return True


def mark_customer_deleted(session, shop_id: int, platform_id: str) -> bool:
    result = session.execute(update(Customer).where(Customer.shop_id == shop_id, Customer.platform_id == platform_id,
                                                    Customer.deleted_at.is_(None)).values(deleted_at=utcnow()))
    return bool(result.rowcount)
