"""Which Storecare shop a WooCommerce store is, and when a connection may land in one.

A store is its **store key**, ``host[:port][/path]`` of its base URL (``adapters.woocommerce.auth.
store_key``): ``Shop.domain`` of a WooCommerce shop. Two WordPress sites on one host are two shops.
Everything that names a store (a webhook's ``X-WC-Webhook-Source``, the store's ``home_url``, the
WordPress plugin's signed links and shopper tokens, the connect flow) goes through that one function.

**Shops connected before keys had paths.** They were keyed by the host alone (``example.com`` for
``https://example.com/sklep``). A migration cannot fix them: the address is inside the encrypted
credentials. So ``rekey_legacy`` gives such a shop its full key when the app meets it (a connection to
that host, the plugin's hello, the hourly upkeep), and until then ``legacy_webhook_row`` lets its
webhooks (which name the full key) find it, and ``signing_candidates`` lets what an older plugin signs
with the bare host find it. Neither fallback trusts anything unsigned: a webhook still verifies against
that shop's own secret, a link or token against each candidate's storefront secret.

**Proof of sameness.** A connection whose key names a shop that is installed, or that holds data,
lands there only when it shows it comes from the same store (``proof``), else it changes nothing:

1. ``signed-in``: the browser that started the connection was signed in to that shop's admin (the
   Reconnect button): the merchant of that shop chose to connect this store to it;
2. ``plugin-secret``: our WordPress plugin, read with the new keys, holds the storefront secret we
   hold for that shop (compared in constant time): only that store's plugin can know it;
3. ``previous-keys``: the keys we hold for that shop still work at the store's address, and the store
   still reports that key. Against WooCommerce this shows the store's database holds the key it gave
   us; the keys go only where the shop's routine sync sends them every quarter hour.

Not a proof: "webhooks we created exist at the store". WooCommerce never shows a webhook's secret back,
so what a listing shows (ids, topics, our address) is what any server can answer. Proof 3 has the same
limit against a server that answers anything (someone who took over the store's very address), which
1 and 2 have not; it stays because a store without our plugin, whose merchant's session has ended, has
no other way back in (connecting again is how such a merchant signs in).

An uninstalled shop without data is simply reused, with fresh secrets. An uninstalled shop that still
holds data (uninstalled, not yet erased) needs the same proof: without it, the new store would see the
old store's customers. It is refused, not erased: erasing someone's data because a stranger asked is
not ours to decide; the owner proves it (the plugin keeps its secret across an uninstall of the app),
or the operator erases it (shop/redact), which frees the key.
"""
from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from adapters.base import Platform
from adapters.woocommerce.auth import key_host, store_key
from plugin.shops.models import Shop
from plugin.shops.service import credentials, find_shop
from plugin.sync.models import Customer, Order

log = logging.getLogger(__name__)
PLATFORM = str(Platform.WOOCOMMERCE)

SIGNED_IN, PLUGIN_SECRET, PREVIOUS_KEYS = "signed-in", "plugin-secret", "previous-keys"


def shop_key(shop: Shop) -> str:
    """The store key the shop's own address gives ('' without one: an uninstalled shop keeps none)."""
    url = credentials(shop).get("store_url") if shop.credentials_encrypted else None
    return store_key(url) if isinstance(url, str) and url else ""


# -- shops connected before store keys had paths -----------------------------------------------------

def rekey_legacy(session, host: str) -> Shop | None:
    """Give the shop keyed by the bare ``host``, if its address has a path, its full store key; return
    it when it changed. Refused (logged) when another shop already holds that key. The caller commits."""
    shop = find_shop(session, PLATFORM, host)
    if shop is None or "/" in shop.domain:
        return None
    key = shop_key(shop)
    if not key or key == shop.domain or key_host(key) != shop.domain:
        return None
    if find_shop(session, PLATFORM, key) is not None:
        log.warning("woocommerce shop %s keeps the key %s: %s is taken", shop.id, shop.domain, key)
        return None
    log.info("woocommerce shop %s re-keyed from %s to %s", shop.id, shop.domain, key)
    shop.domain = key
    session.flush()
    return shop


def rekey_every_legacy_shop(session) -> int:
    """``rekey_legacy`` for every WooCommerce shop keyed by a bare host; how many changed. Commits not."""
    hosts = session.scalars(select(Shop.domain).where(Shop.platform == PLATFORM,
                                                      Shop.domain.not_like("%/%"))).all()
    return sum(rekey_legacy(session, host) is not None for host in hosts)


def find_store(session, key: str) -> Shop | None:
    """The WooCommerce shop a store key names, any status (a legacy shop of that host re-keyed first).
    The caller commits (the re-key is a write)."""
    rekey_legacy(session, key_host(key))
    return find_shop(session, PLATFORM, key)


def legacy_webhook_row(conn, platform: str, key: str):
    """For the webhook inbox's shop lookup when no shop has ``key``: the (id, credentials_encrypted) row
    of a shop still keyed by the bare host whose own address has exactly this key, else None. Reads
    only; the delivery must still verify with that shop's secret."""
    if platform != PLATFORM or "/" not in key:
        return None
    row = conn.execute(select(Shop.id, Shop.credentials_encrypted).where(
        Shop.platform == PLATFORM, Shop.domain == key_host(key))).first()
    if row is None or not row.credentials_encrypted:
        return None
    url = current_app.extensions["storecare.vault"].decrypt(row.credentials_encrypted).get("store_url")
    return row if isinstance(url, str) and store_key(url) == key else None


def signing_candidates(session, key: str) -> list[Shop]:
    """Installed WooCommerce shops that may have signed something naming ``key``, beyond the shop with
    that exact key: one still keyed by the bare host whose address has this key, and, when ``key`` is a
    bare host, the shops in sub-folders of it (plugins older than store keys sign with the host). The
    caller tries each one's own storefront secret, so a store can only ever sign for itself."""
    installed = (Shop.platform == PLATFORM) & (Shop.status == "installed")
    if "/" in key:
        shop = session.scalars(select(Shop).where(installed, Shop.domain == key_host(key))).first()
        return [shop] if shop is not None and shop_key(shop) == key else []
    return list(session.scalars(select(Shop).where(installed, Shop.domain.startswith(key + "/", autoescape=True))
                                .order_by(Shop.id)))


# -- proof of sameness -----------------------------------------------------------------------------------

def needs_proof(session, shop: Shop) -> bool:
    """A connection may land in ``shop`` only with a proof when it is installed or holds data."""
    if shop.status == "installed":
        return True
    return any(session.scalar(select(model.id).where(model.shop_id == shop.id).limit(1)) is not None
               for model in (Order, Customer))


@dataclass(frozen=True)
class Held:
    """What we hold for the shop a connection would land in, read before any call to the store."""

    shop_id: int
    storefront_secret: str | None
    store_url: str | None
    consumer_key: str | None
    consumer_secret: str | None

    @classmethod
    def of(cls, shop: Shop) -> Held:
        values = credentials(shop) if shop.credentials_encrypted else {}
        return cls(shop.id, values.get("storefront_secret"), values.get("store_url"),
                   values.get("consumer_key"), values.get("consumer_secret"))


def proof(held: Held, *, intended_shop_id: int | None, plugin_secret: str | None,
          previous_keys_work: Callable[[Held], bool]) -> str | None:
    """The first proof that holds (see the module doc), cheapest first; None when none does.
    ``previous_keys_work`` is called last, outside any transaction: it asks the store."""
    if intended_shop_id is not None and intended_shop_id == held.shop_id:
        return SIGNED_IN
    if plugin_secret and held.storefront_secret and hmac.compare_digest(
            plugin_secret.encode("utf-8"), held.storefront_secret.encode("utf-8")):
        return PLUGIN_SECRET
    if held.consumer_key and held.consumer_secret and previous_keys_work(held):
        return PREVIOUS_KEYS
    return None


@dataclass(frozen=True)
class Target:
    """Where a verified connection may land: ``shop_id`` (None: a new shop), reached with ``proof``
    (None: no proof was needed), or ``refusal``: the message of a connection that may land nowhere."""

    shop_id: int | None = None
    proof: str | None = None
    refusal: str | None = None


def landing_target(db, key: str, intended_shop_id: int | None, plugin_secret: str | None,
                   messages: tuple[str, str], *, previous_keys_work: Callable[[Held], bool]) -> Target:
    """Where a connection whose keys were verified at the store ``key`` names may land (see the module
    doc). ``messages``: the refusal for an installed shop, and for an uninstalled one holding data;
    ``previous_keys_work``: proof 3, asked of the store only when the others do not hold."""
    with db.uow() as session:
        shop = find_store(session, key)
        session.commit()  # a shop connected before store keys had paths may just have been re-keyed
        if shop is None:
            return Target()
        held, installed = Held.of(shop), shop.status == "installed"
        if not needs_proof(session, shop):  # uninstalled and empty: it may be taken over, and keeps
            # its secrets only when a proof that asks nothing of the store says it is the same one
            return Target(shop.id, proof=proof(held, intended_shop_id=intended_shop_id,
                                               plugin_secret=plugin_secret, previous_keys_work=lambda h: False))
    found = proof(held, intended_shop_id=intended_shop_id, plugin_secret=plugin_secret,
                  previous_keys_work=previous_keys_work)
    if found is None:
        log.warning("woocommerce connection to %s refused: no proof it is shop %s's store", key, held.shop_id)
        return Target(held.shop_id, refusal=messages[0] if installed else messages[1])
    return Target(held.shop_id, proof=found)
