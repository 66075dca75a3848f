"""Keeping a WooCommerce connection whole after it was made: the plugin's confirmation, and an hourly upkeep.

Our WordPress plugin counts itself connected only when Storecare reads its key-authenticated
``connection`` route, which hands over the storefront secret. A store connected from our admin before
the plugin was installed never had that read, so the plugin said "Not connected yet" and the merchant
pressed Connect again, which minted another key. Now, when the plugin's settings page finds itself not
connected (or the plugin is activated), it says hello: an unauthenticated, idempotent POST of its
``home_url`` to ``/connect/woocommerce/hello``. Nothing the caller sends is trusted: Storecare finds the
installed shop of that store key and queues ``woocommerce.check_plugin``, which reads the plugin's route
at the address and with the keys Storecare holds, adopts the secret the plugin answers (the same read as
during a connection), and tries again to delete any replaced key the Connection page lists. The answer is
the same 202 whether or not the store is known; one check per shop runs at a time, at most once a minute.

Hourly (``upkeep``): shops keyed by their host before store keys had paths are re-keyed, and the check
is queued for installed shops whose plugin never confirmed or that still list replaced keys.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from adapters.woocommerce.addresses import AddressPolicy
from adapters.woocommerce.auth import parse_store_url
from plugin.db import utcnow
from plugin.jobs.models import JobRun
from plugin.shops import woocommerce_identity as identity
from plugin.shops import woocommerce_keys
from plugin.shops.models import Shop
from plugin.shops.service import adapter_for, credentials, store_credentials

log = logging.getLogger(__name__)
NAMING_ONLY = AddressPolicy(allow_private=True)  # a store key from an address no request goes to
CHECK_JOB = "woocommerce.check_plugin"
UPKEEP = "storecare.woocommerce_upkeep"
CHECK_AT_MOST_EVERY = timedelta(minutes=1)
PLATFORM = identity.PLATFORM


def _db():
    return current_app.extensions["storecare.db"]


def hello(db, store_url: str, now: datetime | None = None) -> None:
    """The WordPress plugin asks whether its store is connected; StoreUrlError for an unusable address.
    Nothing is fetched from the address given: it only names the store key. Commits."""
    key = parse_store_url(store_url, policy=NAMING_ONLY).domain  # no request goes there: no DNS check
    with db.uow() as session:
        shop = identity.find_store(session, key)
        if shop is not None and shop.status == "installed" and not shop.needs_reauth:
            request_plugin_check(session, shop.id, now)
        session.commit()


def request_plugin_check(session, shop_id: int, now: datetime | None = None) -> JobRun | None:
    """Queue the plugin check unless one is pending or one was queued within the last minute."""
    now = now or utcnow()
    recent = session.scalar(select(JobRun.id).where(
        JobRun.shop_id == shop_id, JobRun.name == CHECK_JOB,
        or_(JobRun.status.in_(("queued", "running", "retrying")), JobRun.enqueued_at > now - CHECK_AT_MOST_EVERY))
        .limit(1))
    if recent is not None:
        return None
    return current_app.extensions["storecare.queue"].enqueue(session, CHECK_JOB, {"shop_id": shop_id},
                                                             shop_id=shop_id)


def check_plugin(db, shop_id: int) -> str:
    """Read the plugin's ``connection`` route with the keys we hold (which marks the plugin connected),
    adopt its storefront secret, and retry deleting listed replaced keys. Returns "confirmed", "absent"
    (no plugin, or no usable secret) or "skipped" (the shop is not one to call)."""
    from plugin.shops.woocommerce import storefront_secret_of

    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or shop.platform != PLATFORM or shop.status != "installed" or shop.needs_reauth:
            return "skipped"
        adapter, key = adapter_for(shop), shop.domain  # a refused key marks the shop
    secret = storefront_secret_of(adapter.plugin_connection())
    if secret is None:
        return "absent"
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        values = credentials(shop)
        if values.get("storefront_secret") != secret:
            log.info("woocommerce shop %s (%s): the plugin's storefront secret adopted", shop_id, key)
        values.update(storefront_secret=secret, plugin_confirmed_at=utcnow().isoformat())
        store_credentials(shop, values)
        session.commit()
    woocommerce_keys.revoke_listed(db, shop_id, adapter)
    return "confirmed"


def upkeep(db) -> list[int]:
    """The hourly task: re-key shops keyed by a bare host, and queue the plugin check where it is due;
    returns the shops it was queued for."""
    with db.uow() as session:
        identity.rekey_every_legacy_shop(session)
        shops = session.scalars(select(Shop).where(Shop.platform == PLATFORM, Shop.status == "installed",
                                                   Shop.needs_reauth.is_(False)).order_by(Shop.id)).all()
        due = []
        for shop in shops:
            values = credentials(shop) if shop.credentials_encrypted else {}
            if (not values.get("plugin_confirmed_at") or values.get("replaced_keys")) and \
                    request_plugin_check(session, shop.id) is not None:
                due.append(shop.id)
        session.commit()
    return due


def check_plugin_job(shop_id: int) -> None:
    check_plugin(_db(), shop_id)


def upkeep_task() -> None:
    upkeep(_db())

