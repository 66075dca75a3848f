"""A platform that stops accepting our credentials: the shop waits for its merchant to reconnect.

Shopify's tokens expire and refresh (plugin/shops/shopify.py: a 401 refreshes once, a second one marks
the shop). WooCommerce keys neither expire nor refresh: they stop working when the merchant deletes
them (or the WordPress user they belong to). So a WooCommerce job's adapter is a ``RevocationGuard``:
when a platform call, or a page of an iteration, raises ``AuthRevoked`` (401/403), it asks the store
once more with ``GET system_status``. A refusal of one route (a security plugin, a WAF) is not a
revoked key, and the job fails alone; when the store refuses that too, the shop is marked
``needs_reauth`` in a unit of work of its own (the caller's session is neither used nor committed) and
the job fails for good. Later jobs stop in ``service.adapter_for`` without calling the store, every
admin page asks the merchant to reconnect, and a reconnect clears the mark.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import update

from adapters.errors import AdapterError, AuthRevoked
from plugin.shops.models import Shop

log = logging.getLogger(__name__)


def mark_needs_reauth(shop_id: int, reason: str) -> None:
    """Mark the shop in a unit of work of its own (commits it, touches no caller's session)."""
    with current_app.extensions["storecare.db"].uow() as session:
        session.execute(update(Shop).where(Shop.id == shop_id).values(needs_reauth=True))
        session.commit()
    log.warning("shop %s needs the merchant to reconnect: %s", shop_id, reason)


class RevocationGuard:
    """A WooCommerce shop's adapter for jobs (see the module doc). Attributes that are not methods pass
    through; a method's iterator result is guarded item by item (the backfill pages through one)."""

    def __init__(self, shop_id: int, adapter):
        self._shop_id, self._adapter = shop_id, adapter

    def __repr__(self) -> str:
        return f"<RevocationGuard {self._adapter!r}>"

    def __getattr__(self, name: str):
        value = getattr(self._adapter, name)
        if name.startswith("_") or not callable(value):
            return value

        def call(*args, **kwargs):
            try:
                result = value(*args, **kwargs)
            except AuthRevoked as exc:
                self._confirm(exc)
                raise
            return self._guarded(result) if isinstance(result, Iterator) else result

        return call

    def _guarded(self, items: Iterator):
        try:
            yield from items
        except AuthRevoked as exc:
            self._confirm(exc)
            raise

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
