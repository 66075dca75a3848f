"""The WooCommerce API keys a reconnect leaves behind.

Every approval on /wc-auth creates a new read_write key; a reconnect stores the new one and the old
one would stay active in WooCommerce. WooCommerce's REST API cannot delete keys (no such endpoint in
v3), so our WordPress plugin offers one, authenticated with a key like its other ``wc-storecare/v1``
routes: ``POST keys/revoke {"key_id": N}`` deletes a key WooCommerce created for Storecare, of the
calling key's user or of a user that user may edit (WooCommerce's own rule for its Revoke link).
It answers ``{"key_id": N, "status": "revoked" | "absent" | "refused" | "failed"}``.

When the plugin is not there, or refuses, the replaced key is remembered in the shop's credentials
(``replaced_keys``: its id and the consumer key's last 7 characters, as WooCommerce lists keys; never
the secret) and the Connection page lists it with where to delete it. The plugin check of
woocommerce_upkeep tries again, and the merchant can take it off the list once deleted.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from adapters.errors import AdapterError
from plugin.shops.models import Shop
from plugin.shops.service import credentials, store_credentials

log = logging.getLogger(__name__)
GONE = ("revoked", "absent")


@dataclass(frozen=True)
class ReplacedKey:
    key_id: str
    ending: str  # the consumer key's last 7 characters
    replaced_at: str  # ISO 8601, UTC

    @property
    def replaced_on(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.replaced_at)
        except ValueError:
            return None


def revoke(adapter, key_id: str) -> bool:
    """Delete the key through our plugin with ``adapter``'s keys; whether it is gone now."""
    try:
        status = adapter.revoke_key(key_id)
    except AdapterError as exc:  # no plugin (404), an older plugin, the store down: the merchant does it
        log.info("woocommerce key %s not revoked through the plugin: %s", key_id, exc.message)
        return False
    if status not in GONE:
        log.info("the Storecare plugin refused to revoke woocommerce key %s (%s)", key_id, status)
    return status in GONE


def retire(db, shop_id: int, adapter, replaced: ReplacedKey) -> None:
    """After a reconnect: revoke the key it replaced, else remember it for the Connection page."""
    if revoke(adapter, replaced.key_id):
        log.info("woocommerce shop %s: replaced key %s revoked", shop_id, replaced.key_id)
        return
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        values = credentials(shop)
        kept = [k for k in values.get("replaced_keys", []) if k.get("key_id") != replaced.key_id]
        values["replaced_keys"] = kept + [asdict(replaced)]
        store_credentials(shop, values)
        session.commit()


def replaced_keys(shop: Shop) -> list[ReplacedKey]:
    """The replaced keys still to be deleted in WooCommerce, oldest first."""
    if shop.platform != "woocommerce" or not shop.credentials_encrypted:
        return []
    return [ReplacedKey(str(k.get("key_id", "")), str(k.get("ending", "")), str(k.get("replaced_at", "")))
            for k in credentials(shop).get("replaced_keys", []) if isinstance(k, dict)]


def forget(shop: Shop, key_ids: set[str]) -> bool:
    """Take keys off the list (deleted by the merchant, or revoked now); whether any was. Commits not."""
    values = credentials(shop)
    listed = values.get("replaced_keys", [])
    kept = [k for k in listed if str(k.get("key_id")) not in key_ids]
    if len(kept) == len(listed):
        return False
    values["replaced_keys"] = kept
    store_credentials(shop, values)
    return True


def revoke_listed(db, shop_id: int, adapter) -> list[str]:
    """Try the plugin again for every listed key (the plugin may be installed now); the ids now gone."""
    with db.uow() as session:
        listed = replaced_keys(session.get(Shop, shop_id))
    gone = {key.key_id for key in listed if revoke(adapter, key.key_id)}
    if gone:
        with db.uow() as session:
            forget(session.get(Shop, shop_id), gone)
            session.commit()
    return sorted(gone)


def dismiss(session, shop: Shop, key_id: str) -> bool:
    """The merchant says the listed key is deleted in WooCommerce: take it off the list; commits."""
    changed = forget(shop, {str(key_id)})
    session.commit()
    return changed
