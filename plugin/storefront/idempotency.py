"""POSTs with an ``Idempotency-Key``: a retried request returns the first answer and never acts twice.

The shape follows the IETF draft "The Idempotency-Key HTTP Header Field" and Stripe's practice:

1. ``begin`` reserves (shop, shopper, key) with the request's fingerprint and commits, before the
   endpoint acts. The unique constraint decides between two requests carrying one key.
2. The endpoint runs. ``finish`` stores its answer (2xx and 3xx, and a 500 from an unexpected error,
   whose effects we cannot know); ``release`` deletes the reservation when the endpoint refused
   (a problem it raised or a 4xx it returned: services raise before they commit), so the shopper may
   try again with the same key.
3. Another request with the key gets the stored answer (``Idempotent-Replayed: true``); one with a
   different body gets 422; one while the first is still running gets 409.

Keys are kept for ``KEY_TTL``; older ones are forgotten (deleted by the next POST of the shop).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from plugin.db import utcnow
from plugin.storefront.identity import Shopper
from plugin.storefront.models import IdempotentRequest
from plugin.upsert import insert_ignore

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
KEY_PATTERN = r"^[\x21-\x7e]{8,255}$"  # visible ASCII: a UUID, a ULID, a random token
_KEY = re.compile(KEY_PATTERN)


class IdempotencyError(Exception):
    """The key cannot be used for this request; the message is safe to show."""


class KeyInvalid(IdempotencyError):
    """The Idempotency-Key header is missing, or not 8 to 255 visible ASCII characters."""


class KeyReused(IdempotencyError):
    """The key came with another request (a different endpoint or body) before."""


class KeyInProgress(IdempotencyError):
    """The first request with this key has not finished yet."""


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    content_type: str
    body: str


def check_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise KeyInvalid(f"Send an {HEADER} header with every POST (a new random value per action).")
    key = key.strip()
    if not _KEY.match(key):
        raise KeyInvalid(f"The {HEADER} header must be 8 to 255 visible ASCII characters.")
    return key


def fingerprint(endpoint: str, body: bytes) -> str:
    """What the key promises: this endpoint with this body. A JSON body counts by its content, not its
    spelling (key order, spaces); anything else by its bytes."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode("utf-8")
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(endpoint.encode("utf-8") + b"\n" + canonical).hexdigest()


def _shopper(shopper: Shopper) -> str:
    return shopper.platform_customer_id or ""


def _where(shopper: Shopper, key: str):
    return (IdempotentRequest.shop_id == shopper.shop_id, IdempotentRequest.shopper == _shopper(shopper),
            IdempotentRequest.key == key)


def begin(db, shopper: Shopper, key: str, print_: str, now: datetime | None = None) -> StoredAnswer | None:
    """Reserve ``key`` for this request (``None``: go ahead and act), or the stored answer of the
    request that reserved it. Raises KeyReused or KeyInProgress."""
    now = now or utcnow()
    with db.uow() as session:
        session.execute(delete(IdempotentRequest).where(IdempotentRequest.shop_id == shopper.shop_id,
                                                        IdempotentRequest.created_at < now - KEY_TTL))
        inserted = insert_ignore(session, IdempotentRequest.__table__, [{
            "shop_id": shopper.shop_id, "shopper": _shopper(shopper), "key": key, "fingerprint": print_,
            "created_at": now}], conflict=["shop_id", "shopper", "key"], returning=[IdempotentRequest.id])
        session.commit()
        if inserted:
            return None
        first = session.scalars(select(IdempotentRequest).where(*_where(shopper, key))).first()
    return _answer_of(first, print_)


def _answer_of(first: IdempotentRequest | None, print_: str) -> StoredAnswer:
    if first is None:  # released between our insert and our read: the shopper's other tab gave up
        raise KeyInProgress("A request with this Idempotency-Key was just cancelled; try again.")
    if first.fingerprint != print_:
        raise KeyReused("This Idempotency-Key was used with another request; use a new key for a new action.")
    if first.status is None:
        raise KeyInProgress("A request with this Idempotency-Key is still being processed.")
    return StoredAnswer(first.status, first.content_type or "application/json", first.body or "")


def finish(db, shopper: Shopper, key: str, status: int, content_type: str, body: str) -> None:
    with db.uow() as session:
        session.execute(update(IdempotentRequest).where(*_where(shopper, key)).values(
            status=status, content_type=content_type[:100], body=body, completed_at=utcnow()))
        session.commit()


def release(db, shopper: Shopper, key: str) -> None:
    with db.uow() as session:
        session.execute(delete(IdempotentRequest).where(*_where(shopper, key),
                                                        IdempotentRequest.status.is_(None)))
        session.commit()
