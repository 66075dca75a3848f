"""The webhook inbox: verify -> store -> commit -> enqueue by id. The worker does everything else.

``receive`` runs inside the HTTP request and makes no platform call; ``process_delivery`` runs in a
worker, maps the payload through the shop's adapter, and updates the mirror.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from adapters import UnknownPlatform, get_adapter_class
from adapters.errors import AdapterError, Deleted, InvalidPayload, NotFound, WebhookPing
from plugin.db import utcnow
from plugin.jobs.queue import PermanentJobError
from plugin.privacy import service as privacy
from plugin.security import InvalidSignature, verify_base64_hmac
from plugin.shops import service as shops
from plugin.shops import shopify as shopify_shops
from plugin.shops.models import Shop
from plugin.shops.woocommerce_identity import legacy_webhook_row
from plugin.sync import backfill, mirror
from plugin.sync.ingress import InboxWriter, ShopKey, ShopKeys
from plugin.sync.models import WebhookDelivery

log = logging.getLogger(__name__)
DELIVERY_JOB = "sync.process_delivery"


class InboxError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Unauthenticated(InboxError):
    status = 401


class Malformed(InboxError):
    status = 400


class UnknownTopic(InboxError):
    status = 404


@dataclass(frozen=True)
class Receipt:
    delivery_id: int | None  # our inbox row id; None when nothing was stored
    duplicate: bool = False
    note: str | None = None  # "ping", "unknown shop": answered 200, nothing stored


def receive(platform: str, headers: Mapping[str, str], body: bytes) -> Receipt:
    try:
        adapter_cls = get_adapter_class(platform)
    except UnknownPlatform:
        raise UnknownTopic(f"no webhooks are received for platform {platform!r}") from None
    try:
        meta = adapter_cls.read_webhook_headers(headers)
    except WebhookPing:
        return Receipt(None, note="ping")
    except InvalidPayload as exc:
        raise Unauthenticated(f"the webhook cannot be verified: {exc.message}") from None
    keys, writer = _ingress()
    domain = meta.shop_domain.lower()
    key, cached = keys.get(platform, domain)
    signed = _signed(key, body, meta.signature)
    if cached and not signed:  # the secret may have changed: ask the database
        key, cached = keys.get(platform, domain, fresh=True)
        signed = _signed(key, body, meta.signature)
    if not key.secret:
        raise Unauthenticated("the webhook cannot be verified: unknown shop")
    if not signed:
        raise Unauthenticated("the webhook signature is invalid: it does not match the body")
    if key.shop_id is None:  # signed by the app's own secret (Shopify), for a shop we hold nothing of
        return Receipt(None, note="unknown shop")
    try:
        envelope = adapter_cls.read_webhook(headers, body, meta)
    except InvalidPayload as exc:
        raise Malformed(f"the webhook body cannot be read: {exc.message}") from None
    row = {"platform": platform, "shop_id": key.shop_id, "topic": envelope.topic,
           "delivery_id": envelope.delivery_id, "received_at": utcnow(), "triggered_at": envelope.triggered_at,
           "payload": body.decode("utf-8")}  # as it came: read above as a JSON object in UTF-8
    try:
        delivery_id = writer.store(row)
    except Exception:
        if not cached:
            raise
        keys.forget(platform, domain)  # the shop we remembered may be gone (redacted, re-installed)
        return receive(platform, headers, body)
    if delivery_id is None:
        return Receipt(None, duplicate=True)
    return Receipt(delivery_id, duplicate=False)


ORDER_TOPICS = {"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
                "orders/partially_fulfilled", "refunds/create"}
CUSTOMER_TOPICS = {"customers/create", "customers/update"}
ORDER_DELETE = "orders/delete"


def _signed(key: ShopKey, body: bytes, signature: str) -> bool:
    if not key.secret:
        return False
    try:
        verify_base64_hmac(key.secret, body, signature)
    except InvalidSignature:
        return False
    return True


def _ingress() -> tuple[ShopKeys, InboxWriter]:
    """The app's shop-key cache and inbox writer (one of each per process, made on first use)."""
    extensions = current_app.extensions
    found = extensions.get("storecare.ingress")
    if found is None:
        # the object itself, kept by the writer and the key cache for the life of the process
        real_db = extensions["storecare.db"]
        writer = InboxWriter(real_db, extensions["storecare.queue"])
        found = extensions.setdefault("storecare.ingress", (ShopKeys(real_db, shops.webhook_secret_from,
                                                                    fallback=legacy_webhook_row), writer))
        if found[1] is writer:
            real_db.on_dispose(writer.stop)
    return found


def process_deliveries(db, shop_id: int, delivery_ids: list[int]) -> None:
    """Apply deliveries stored together (one job per shop and inbox batch), in their order. A run of
    deliveries that are orders as a whole (a burst of orders/create, orders/paid, ...) is applied in one
    transaction, as the backfill applies a page (``_apply_together``); any other delivery, or a run that
    failed together, one delivery per transaction. A delivery that fails alone is handed to a job of its
    own (``sync.process_delivery``), which retries it with backoff and, if it keeps failing, shows it
    failed to the merchant; the others go on. Safe to run again: a delivery already applied is
    skipped."""
    queue = current_app.extensions["storecare.queue"]
    for ids, orders in _runs(db, shop_id, delivery_ids):
        if orders and _apply_together(db, shop_id, ids, orders):
            continue
        for delivery_id in ids:
            try:
                process_delivery(db, delivery_id)
            except Exception as exc:  # noqa: BLE001 - the delivery's own job retries it and records the error
                log.warning("webhook delivery %s failed in its batch (%s): it gets a job of its own", delivery_id,
                            exc)
                with db.uow() as session:
                    queue.enqueue(session, DELIVERY_JOB, {"delivery_id": delivery_id}, shop_id=shop_id)
                    session.commit()


def _runs(db, shop_id: int, delivery_ids: list[int]) -> list[tuple[list[int], list]]:
    """``delivery_ids`` cut, in their order, into (ids, orders): a run of two or more deliveries that are
    whole orders (an order topic whose body is the order, of an installed shop, not applied yet, each
    of another order) with the orders read from them; every other delivery alone, without orders."""
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        stored = {d.id: d for d in session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.shop_id == shop_id))} \
            if shop is not None and shop.status == "installed" else {}
        runs: list[tuple[list[int], list]] = []
        ids, orders, seen = [], [], set()

        def cut() -> None:
            if len(ids) > 1:
                runs.append((list(ids), list(orders)))
            else:
                runs.extend(([i], []) for i in ids)
            ids.clear()
            orders.clear()
            seen.clear()

        for delivery_id in delivery_ids:
            order = _whole_order(stored.get(delivery_id))
            if order is not None and order.platform_id in seen:
                cut()  # two versions of one order: applied one after the other, as they came
            if order is None:
                cut()
                runs.append(([delivery_id], []))
            else:
                ids.append(delivery_id)
                orders.append(order)
                seen.add(order.platform_id)
        cut()
    return runs


def _whole_order(delivery: WebhookDelivery | None):
    """The order a delivery's body is, or None (not an order topic, applied already, a part of an order
    read from the platform, or a body that does not read: its own transaction records why)."""
    if delivery is None or delivery.status in ("processed", "ignored") or delivery.topic not in ORDER_TOPICS:
        return None
    try:
        adapter_cls = get_adapter_class(delivery.platform)
        referenced = getattr(adapter_cls, "referenced_order_id", None)
        if referenced is not None and referenced(delivery.topic, delivery.payload) is not None:
            return None
        return adapter_cls.order_from_payload(delivery.payload)
    except Exception:  # noqa: BLE001 - applied alone, where the failure is recorded
        return None


def _apply_together(db, shop_id: int, delivery_ids: list[int], orders: list) -> bool:
    """A run's orders upserted together and its deliveries marked processed, in one transaction;
    False when that failed (rolled back: the run is applied again one by one, which records the
    failure of the one at fault and lets the others through)."""
    with db.uow() as session:
        try:
            mirror.upsert_orders(session, shop_id, orders, source="webhook")
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids)).values(
                attempts=WebhookDelivery.attempts + 1, status="processed", processed_at=utcnow(), last_error=None)
                .execution_options(synchronize_session=False))
            session.commit()  # with the events recorded, numbered, and their dispatch asked for (events.py)
        except Exception as exc:  # noqa: BLE001 - applied again one by one, where a failure is recorded
            session.rollback()
            log.info("shop %s: %s order deliveries failed together (%s): applying them one by one",
                     shop_id, len(delivery_ids), exc)
            return False
    return True


def process_delivery(db, delivery_id: int) -> str:
    """Apply one stored delivery to the mirror. Safe to run again: the upsert is idempotent."""
    with db.uow() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            raise PermanentJobError(f"webhook delivery {delivery_id} does not exist")
        if delivery.status in ("processed", "ignored"):
            return delivery.status
        shop = session.get(Shop, delivery.shop_id)
        try:
            # _apply may call the platform first; a token refresh there is a unit of work of its own.
            status = _apply(session, shop, delivery)
        except AdapterError as exc:
            session.rollback()
            _record_failure(db, delivery_id, exc, final=not exc.transient)
            if exc.transient:
                raise
            raise PermanentJobError(exc.message) from exc
        delivery.attempts += 1
        delivery.status, delivery.processed_at, delivery.last_error = status, utcnow(), None
        session.commit()  # with the events it recorded, numbered, and their dispatch asked for (events.py)
        return status


def _apply(session, shop: Shop, delivery: WebhookDelivery) -> str:
    """Route one delivery by its neutral topic; returns "processed" or "ignored".

    Privacy requests and the uninstall are honoured whatever the shop's state. Anything else about
    an uninstalled shop is ignored: its data stays as it was at uninstall until shop/redact erases it.
    """
    topic, payload = delivery.topic, delivery.payload
    if topic == privacy.DATA_REQUEST:
        privacy.export_customer_data(session, shop, delivery)
        return "processed"
    if topic == privacy.CUSTOMER_REDACT:
        privacy.redact_customer(session, shop, delivery)
        return "processed"
    if topic == privacy.SHOP_REDACT:
        privacy.request_shop_redaction(session, shop, delivery)
        return "processed"
    if topic == "app/uninstalled":
        shops.mark_uninstalled(session, shop, at=delivery.triggered_at)
        return "processed"
    if shop.status != "installed":
        log.info("ignoring %s for uninstalled shop %s", topic, shop.id)
        return "ignored"
    if topic == "app/scopes_update":
        shopify_shops.apply_scopes_update(shop, payload)
        return "processed"
    adapter_cls = get_adapter_class(delivery.platform)
    referenced = getattr(adapter_cls, "referenced_order_id", None)
    order_id = referenced(topic, payload) if referenced else None
    if order_id is not None:  # the payload is a part of an order (a Shopify refund, a fulfilment)
        order = shops.adapter_for(shop).get_order(order_id)
        mirror.upsert_orders(session, shop.id, [order], source="webhook")
        return "processed"
    if topic == "bulk_operations/finish":
        run = backfill.nudge_bulk_backfill(session, shop.id, adapter_cls.bulk_operation_id(payload))
        return "processed" if run is not None else "ignored"
    if topic == ORDER_DELETE:
        _delete_order(session, shop, delivery)
        return "processed"
    if topic in ORDER_TOPICS:
        mirror.upsert_orders(session, shop.id, [adapter_cls.order_from_payload(payload)], source="webhook")
        return "processed"
    if topic in CUSTOMER_TOPICS:
        is_customer = getattr(adapter_cls, "is_customer", None)
        if is_customer is not None and not is_customer(payload):  # a WooCommerce staff member's profile
            return "ignored"
        mirror.upsert_customers(session, shop.id, [adapter_cls.customer_from_payload(payload)], source="webhook")
        return "processed"
    if topic == "customers/delete":
        mirror.mark_customer_deleted(session, shop.id, str(payload.get("id", "")))
        return "processed"
    log.info("ignoring webhook topic %s for shop %s", topic, shop.id)
    return "ignored"


def _delete_order(session, shop: Shop, delivery: WebhookDelivery) -> None:
    """orders/delete (Shopify's, the sandbox's, WooCommerce's ``order.deleted``, sent when an order is
    trashed): the body is the order's id. The platform is asked first: a WooCommerce order can be
    restored from the trash, and WooCommerce delivers in the background, often minutes later, so by now
    the order may be back (then it is applied as it is now). Otherwise the order is marked deleted as of
    when the platform deleted it: the trash time WooCommerce keeps, or the event time Shopify and the
    sandbox send, else our receipt (an order WooCommerce deleted for good can never come back)."""
    order_id = delivery.payload.get("id") if isinstance(delivery.payload, Mapping) else None
    if isinstance(order_id, bool) or not isinstance(order_id, (int, str)) or not str(order_id).strip():
        raise InvalidPayload("the orders/delete body has no order id")
    order_id = str(order_id).strip()
    try:
        order = shops.adapter_for(shop).get_order(order_id)
    except Deleted as gone:
        mirror.mark_order_deleted(session, shop.id, order_id, gone.deleted_at, source="webhook")
    except NotFound:
        mirror.mark_order_deleted(session, shop.id, order_id, delivery.triggered_at or delivery.received_at,
                                  source="webhook")
    else:
        mirror.upsert_orders(session, shop.id, [order], source="webhook")


def _record_failure(db, delivery_id: int, exc: Exception, final: bool) -> None:
    with db.uow() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        delivery.attempts += 1
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if final:
            delivery.status = "failed"
        session.commit()
