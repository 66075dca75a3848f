"""A shop's adapter that keeps its platform access working, or says for good that it stopped.

``service.adapter_for`` returns every shop's adapter wrapped in a ``ShopAdapter``. When a platform call
raises ``AuthRevoked`` (401/403):

- Shopify: access tokens expire and refresh (plugin/shops/shopify.py). Jobs hold an adapter longer
  than a token lives (an hour), so a 401 refreshes the token once and the call is tried again; a second
  401 marks the shop ``needs_reauth`` and the error goes on (the job fails for good). An iterator's
  later items pass through untouched (a bulk export's file is a signed URL, not ours).
- WooCommerce: keys neither expire nor refresh; they stop working when the merchant deletes them (or
  the WordPress user they belong to). A refusal, of a call or of a page of an iteration, is checked
  once more with ``GET system_status``: a refusal of one route (a security plugin, a WAF) is not a
  revoked key, and the job fails alone; when the store refuses that too, the shop is marked
  ``needs_reauth`` and the job fails for good.
- The sandbox: the error goes on.

A call Shopify refuses for want of an access scope (``PermissionMissing``, ACCESS_DENIED) removes the
scopes it names from the shop's record, so the admin's banner asks the merchant to approve them and
features that check ``permissions.missing_scopes`` say so before calling again; the error goes on.

Every refresh and every mark is a unit of work of its own: the caller's session is neither used nor
committed (a use case holding a lock keeps it, and its work stays its own to commit or roll back).
Later jobs stop in ``service.adapter_for`` without calling the platform, every admin page asks the
merchant to reconnect, and a reconnect (or a new Shopify grant) clears the mark.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import update

from adapters.base import Platform, PlatformAdapter
from adapters.errors import AdapterError, AuthRevoked, PermissionMissing
from plugin.shops.models import Shop

log = logging.getLogger(__name__)


def mark_needs_reauth(shop_id: int, reason: str) -> None:
    """Mark the shop in a unit of work of its own (commits it, touches no caller's session)."""
    with current_app.extensions["storecare.db"].uow() as session:
        session.execute(update(Shop).where(Shop.id == shop_id).values(needs_reauth=True))
        session.commit()
    log.warning("shop %s needs the merchant to reconnect: %s", shop_id, reason)


def forget_scopes(shop_id: int, refused: tuple[str, ...]) -> None:
    """The platform refused for want of ``refused``: the shop's record no longer claims them (nor a
    ``write_x`` whose ``read_x`` was refused). A unit of work of its own."""
    if not refused:
        return
    gone = set(refused) | {"write_" + s.removeprefix("read_") for s in refused if s.startswith("read_")}
    with current_app.extensions["storecare.db"].uow() as session:
        shop = session.get(Shop, shop_id)
        if shop is not None and gone & set(shop.scopes or []):
            shop.scopes = [scope for scope in shop.scopes if scope not in gone]
            session.commit()
            log.warning("shop %s lacks access scopes %s: the merchant is asked to approve them", shop_id,
                        ", ".join(sorted(refused)))


class ShopAdapter:
    """A shop's platform adapter with the refusal handling above. Attributes that are not methods pass
    through; a method's iterator result is guarded item by item."""

    def __init__(self, shop: Shop, adapter: PlatformAdapter):
        self._shop_id, self._platform, self._domain = shop.id, shop.platform, shop.domain
        self._adapter = adapter

    def __repr__(self) -> str:
        return f"<ShopAdapter {self._adapter!r}>"

    def __getattr__(self, name: str):
        value = getattr(self._adapter, name)
        if name.startswith("_") or not callable(value):
            return value

        def call(*args, **kwargs):
            try:
                result = value(*args, **kwargs)
            except PermissionMissing as exc:
                forget_scopes(self._shop_id, exc.scopes)
                raise
            except AuthRevoked as exc:
                if not self._renewed(exc):
                    raise
                try:  # once more, with the renewed credentials
                    result = getattr(self._adapter, name)(*args, **kwargs)
                except AuthRevoked:
                    mark_needs_reauth(self._shop_id, "the platform refused freshly renewed credentials")
                    raise
            return self._guarded(result) if isinstance(result, Iterator) else result

        return call

    def _guarded(self, items: Iterator):
        try:
            yield from items
        except AuthRevoked as exc:
            if self._platform == Platform.WOOCOMMERCE:
                self._confirm(exc)
            raise

    def _renewed(self, refused: AuthRevoked) -> bool:
        """After a refused call: whether the credentials were renewed and the call is worth one more try."""
        if self._platform == Platform.SHOPIFY:
            self._refresh()
            return True
        if self._platform == Platform.WOOCOMMERCE:
            self._confirm(refused)
        return False

    def _refresh(self) -> None:
        """Refresh the Shopify token the platform refused, unless another worker already did."""
        from plugin.shops import service
        from plugin.shops.shopify import refresh_after_401

        refused = self._adapter.connection.credentials.get("access_token")
        with current_app.extensions["storecare.db"].uow() as session:
            values = refresh_after_401(session, session.get(Shop, self._shop_id), refused)
        self._adapter = service.platform_adapter(self._platform, self._domain, values)

    def _confirm(self, refused: AuthRevoked) -> None:
        """Mark the shop only if the store refuses our keys on a plain read too."""
        try:
            self._adapter.store_info()
        except AuthRevoked as exc:
            mark_needs_reauth(self._shop_id, exc.message)
        except AdapterError as exc:  # cannot tell now: this job fails, the next one asks again
            log.info("shop %s: %s; the store could not be asked again (%s)", self._shop_id, refused.message,
                     exc.message)
        else:
            log.warning("shop %s: %s, but its keys still work: not marked", self._shop_id, refused.message)
