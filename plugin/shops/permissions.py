"""What a shop's platform has not yet let Storecare do, and asking the merchant to allow it.

Shopify grants an app access scopes: the required ones (app.yaml ``shopify.scopes``) at install, the
optional ones (``shopify.optional_scopes``) when the merchant approves them later. A shop installed
before a scope was added lacks it, and so does a shop whose merchant has not approved an optional
scope yet. WooCommerce keys (read_write) and the sandbox carry every permission, so nothing is ever
missing there; what their platform cannot do at all is ``adapter.supports`` (Unsupported), not this.

- ``missing_scopes(shop, needs)``: the scopes still to grant for ``needs`` (capabilities) and for the
  app's required scopes; a feature asks before it acts, and says so instead of failing;
- ``require_permissions``: the same as an error (``PermissionsNeeded``) with words for the merchant
  and for the shopper;
- ``pending_permissions(session, shop)``: what every installed feature needs now
  (``Feature.platform_needs``) and the shop lacks: the admin's banner "Storecare needs new
  permissions" (admin/layout.html) shows it with the way to approve;
- ``refresh_granted_scopes``: after the merchant approved in App Bridge, ask Shopify what is granted
  (app/scopes_update says the same later, by webhook).

Scopes are compared as Shopify does: ``write_x`` covers ``read_x`` (``shopify.scopes_cover``).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext
from sqlalchemy.orm import Session

from adapters import get_adapter_class
from adapters.base import Capability, Platform
from plugin.features import FEATURES_KEY, load
from plugin.shops import service
from plugin.shops.models import Shop

log = logging.getLogger(__name__)

# What each capability is for, in the merchant's words (the banner lists what the approval is for).
CAPABILITY_LABELS = {
    Capability.STORE_CREDIT: lazy_gettext("store credit"),
    Capability.FREE_SHIPPING_CAP: lazy_gettext("free shipping up to a price"),
    Capability.COLLECTION_RESTRICTIONS: lazy_gettext("rewards for collections"),
}


class PermissionsNeeded(service.ShopError):
    """The shop's platform has not granted what this needs. ``message`` is for the merchant, and
    ``shopper_message`` for a shopper who asked for it (a store-credit reward, say); ``scopes`` are the
    platform's names of what is missing."""

    def __init__(self, scopes: tuple[str, ...], needs: tuple[Capability, ...] = ()):
        self.scopes, self.needs = scopes, needs
        self.message = lazy_gettext("Storecare needs new permissions from your store to do this: approve them "
                                    "in Storecare's admin.")
        self.shopper_message = lazy_gettext("This is not available in the store yet. Please try again later.")
        super().__init__(f"missing access scopes: {', '.join(scopes)}")


@dataclass(frozen=True)
class PendingPermissions:
    """What a shop still has to grant: every scope, split into the app's required ones (Shopify asks for
    those itself when the merchant opens the app) and the optional ones features need now (the admin
    asks for those with App Bridge), and the needs they serve."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    needs: tuple[Capability, ...]

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def labels(self) -> list[str]:
        return [str(CAPABILITY_LABELS[need]) for need in self.needs if need in CAPABILITY_LABELS]


def _shopify_manifest() -> dict:
    return current_app.config["STORECARE_MANIFEST"]["shopify"]


def capability_scopes(platform: str, needs: Iterable[Capability | str]) -> tuple[str, ...]:
    """The platform's access scopes for ``needs`` (the adapter's SCOPES; none where it has none)."""
    table = getattr(get_adapter_class(platform), "SCOPES", {})
    return tuple(dict.fromkeys(scope for need in needs for scope in table.get(Capability(need), ())))


def _lacking(granted: Iterable[str], wanted: Iterable[str]) -> tuple[str, ...]:
    from plugin.shops.shopify import scopes_cover

    granted = list(granted)
    return tuple(scope for scope in dict.fromkeys(wanted) if not scopes_cover(granted, [scope]))


def missing_scopes(shop: Shop, feature_needs: Iterable[Capability | str] = ()) -> tuple[str, ...]:
    """The access scopes ``shop`` has not granted that ``feature_needs`` (capabilities) and the app's
    required scopes call for; empty for platforms whose access is all or nothing."""
    pending = _pending(shop, tuple(Capability(need) for need in feature_needs))
    return pending.scopes if pending is not None else ()


def require_permissions(shop: Shop, feature_needs: Iterable[Capability | str]) -> None:
    """Raise PermissionsNeeded when ``shop`` lacks a scope ``feature_needs`` call for."""
    needs = tuple(Capability(need) for need in feature_needs)
    missing = missing_scopes(shop, needs)
    if missing:
        raise PermissionsNeeded(missing, needs)


def pending_permissions(session: Session, shop: Shop | None) -> PendingPermissions | None:
    """What the shop lacks for the app and for what its installed features need now; None when
    nothing is missing (or the platform grants all or nothing)."""
    if shop is None or shop.platform != Platform.SHOPIFY or shop.status != "installed":
        return None
    installed = current_app.extensions[FEATURES_KEY].features.values()
    needs: dict[Capability, None] = {}
    for feature in installed:
        if feature.platform_needs is not None:
            needs.update((Capability(need), None) for need in load(feature.platform_needs)(session, shop))
    return _pending(shop, tuple(needs))


def _pending(shop: Shop, needs: tuple[Capability, ...]) -> PendingPermissions | None:
    if shop.platform != Platform.SHOPIFY:
        return None
    granted = shop.scopes or []
    required = _lacking(granted, _shopify_manifest()["scopes"])
    optional = tuple(s for s in _lacking(granted, capability_scopes(shop.platform, needs)) if s not in required)
    if not required and not optional:
        return None
    return PendingPermissions(required=required, optional=optional,
                              needs=tuple(n for n in needs if _lacking(granted, capability_scopes(shop.platform, [n]))))


def refresh_granted_scopes(db, shop_id: int) -> tuple[str, ...]:
    """Ask Shopify which scopes the shop has granted now and keep them (and in the stored token's
    ``scope``); the grant as stored after the commit."""
    from plugin.shops.shopify import apply_scopes_update

    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or shop.platform != Platform.SHOPIFY:
            return ()
        adapter = service.adapter_for(shop)
    granted = adapter.granted_scopes()
    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        apply_scopes_update(shop, {"current": granted})
        session.commit()
        log.info("shopify shop %s: granted scopes refreshed", shop_id)
        return tuple(shop.scopes)
