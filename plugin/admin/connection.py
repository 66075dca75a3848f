"""What the Connection page shows: how one shop is connected and how its data is keeping up.

Read-only, every query filtered by the shop: the platform link (status, scopes, whether the token
still works), backfill progress against the platform's count from the last reconcile, the last
webhook and the sync lag, the last reconcile, recent failures, and the shop's privacy requests.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_timedelta
from flask import current_app, url_for
from flask_babel import get_locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.privacy import service as privacy
from plugin.privacy.models import DataExport, PrivacyAudit
from plugin.shops.models import Shop
from plugin.shops.service import credentials
from plugin.shops.woocommerce_keys import ReplacedKey, replaced_keys
from plugin.sync.models import SyncState, WebhookDelivery
from plugin.sync.reconcile import RESOURCE as RECONCILE
from plugin.sync.reconcile_models import ReconcileReport

RECENT_ERRORS = 5
BACKFILL_RESOURCES = ("customers", "orders")
# Where each platform's merchant starts a connection again, and the query parameter naming the shop.
RECONNECT = {"shopify": ("/auth/shopify/install", "shop"),
             "woocommerce": ("/connect/woocommerce", "store_url")}


@dataclass(frozen=True)
class Progress:
    resource: str
    status: str
    processed: int
    total: int | None  # the platform's count, when we have one
    finished_at: datetime | None
    last_error: str | None
    resumable: bool


@dataclass(frozen=True)
class ShopConnection:
    shop: Shop
    token_state: str  # "active" | "needs_reauth" | "revoked"
    progress: Sequence[Progress]
    last_delivery: WebhookDelivery | None
    lag: timedelta | None  # now - when the newest applied webhook was sent
    reconcile: SyncState | None
    since_reconcile: timedelta | None
    report: ReconcileReport | None
    failed_deliveries: Sequence[WebhookDelivery]
    failed_deliveries_total: int
    failed_jobs: Sequence[JobRun]
    failed_jobs_total: int
    reconnect_url: str | None
    exports: Sequence[DataExport]
    audits: Sequence[PrivacyAudit]
    replaced_keys: Sequence[ReplacedKey]  # WooCommerce keys a reconnect replaced, still to be deleted there


def token_state(shop: Shop) -> str:
    if shop.status != "installed":
        return "revoked"
    return "needs_reauth" if shop.needs_reauth else "active"


def reconnect_url(shop: Shop) -> str | None:
    """The page that connects this shop again, if this app serves one (looked up in the URL map)."""
    path, param = RECONNECT.get(shop.platform, (None, None))
    if path is None:
        return None
    for rule in current_app.url_map.iter_rules():
        if rule.rule == path and "GET" in (rule.methods or ()):
            value = shop.domain
            if param == "store_url":  # the address the store was connected with (http or https)
                value = credentials(shop).get("store_url") or f"https://{shop.domain}"
            return url_for(rule.endpoint, **{param: value})
    return None


def reauth_url(shop: Shop) -> str | None:
    """Where a merchant gives Storecare access again: WooCommerce, the connect page with the store's
    address; Shopify, the app in the shop's own admin (opening it there exchanges a new token)."""
    if shop.platform == "shopify":
        api_key = current_app.config["STORECARE_SETTINGS"].shopify_api_key
        return f"https://{shop.domain}/admin/apps/{api_key}" if api_key else None
    return reconnect_url(shop)


def connection(session: Session, shop: Shop, now: datetime | None = None) -> ShopConnection:
    now = now or utcnow()
    states = {s.resource: s for s in session.scalars(select(SyncState).where(SyncState.shop_id == shop.id))}
    report = session.scalar(select(ReconcileReport).where(ReconcileReport.shop_id == shop.id))
    totals = {"orders": report.remote_orders} if report is not None else {}
    progress = [Progress(resource=r, status=s.status, processed=s.processed, total=totals.get(r),
                         finished_at=s.finished_at, last_error=s.last_error, resumable=bool(s.cursor))
                for r, s in ((r, states.get(r)) for r in BACKFILL_RESOURCES) if s is not None]
    in_shop = WebhookDelivery.shop_id == shop.id
    last = session.scalars(select(WebhookDelivery).where(in_shop).order_by(
        WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc()).limit(1)).first()
    newest_applied = session.scalar(select(func.max(func.coalesce(WebhookDelivery.triggered_at,
                                                                  WebhookDelivery.received_at)))
                                    .where(in_shop, WebhookDelivery.status == "processed"))
    failed = select(WebhookDelivery).where(in_shop, WebhookDelivery.status == "failed")
    failed_jobs = select(JobRun).where(JobRun.shop_id == shop.id, JobRun.status == "failed")
    jobs_newest_first = (func.coalesce(JobRun.finished_at, JobRun.enqueued_at).desc(), JobRun.id.desc())
    reconcile = states.get(RECONCILE)
    return ShopConnection(
        shop=shop,
        token_state=token_state(shop),
        progress=progress,
        last_delivery=last,
        lag=_since(now, newest_applied),
        reconcile=reconcile,
        since_reconcile=_since(now, reconcile.finished_at if reconcile else None),
        report=report,
        failed_deliveries=session.scalars(failed.order_by(WebhookDelivery.received_at.desc(),
                                                          WebhookDelivery.id.desc()).limit(RECENT_ERRORS)).all(),
        failed_deliveries_total=_count(session, failed),
        failed_jobs=session.scalars(failed_jobs.order_by(*jobs_newest_first).limit(RECENT_ERRORS)).all(),
        failed_jobs_total=_count(session, failed_jobs),
        reconnect_url=reconnect_url(shop),
        exports=privacy.list_exports(session, shop.id, limit=20),
        audits=privacy.list_audits(session, shop.platform, shop.domain, limit=20),
        replaced_keys=replaced_keys(shop),
    )


def _count(session: Session, stmt) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def _since(now: datetime, moment: datetime | None) -> timedelta | None:
    return max(timedelta(0), now - moment) if moment is not None else None


def duration(delta: timedelta | None) -> str:
    """A span in the viewer's language, rounded the way people say it: "5 minutes", "5 minut"."""
    if delta is None:
        return "—"
    return format_timedelta(delta, threshold=1.5, locale=get_locale())
