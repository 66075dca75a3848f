"""Store credit on Shopify, once per key: storeCreditAccountCredit has no idempotency key (2026-10).

Shopify credits a customer's store-credit account in a currency (creating the account on the first
credit). A credit is money, so a retried request must not credit twice; the record of what was
credited lives with the customer, in an app-owned metafield (``$app:loyalty.store_credit_grants``,
JSON: key -> amount, currency, when it was asked, and the transaction once done), written by
compare-and-set (``compareDigest``), so two writers never lose each other's keys:

1. read the record and the account's latest credits;
2. a key already done: return that credit (nothing is written);
3. a key pending (an earlier attempt wrote it, then its credit's answer was lost: a network error, a
   5xx, a crash): a credit of the same amount made since it was asked, and claimed by no other key, is
   that attempt's; adopt it. None: the earlier credit did not happen, credit now;
4. a new key: write it pending, then credit (never resent on a network error or a 5xx: the client's
   ``retry_unavailable=False``; the Transient goes up, and the caller's retry lands in step 3);
5. record the transaction as done.

The record keeps the newest KEEP keys. The one gap: the same key sent twice at the very same moment
(two workers running one redemption); the redemption holds its balance's lock, so it does not.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.base import StoreCredit, StoreCreditSpec
from adapters.errors import AdapterError, InvalidPayload, StoreCreditRefused, Transient
from adapters.shopify import documents, mapping
from adapters.shopify.client import AdminClient

NAMESPACE, GRANTS = "$app:loyalty", "store_credit_grants"
KEEP = 100  # keys kept in the record, newest last
ADOPT_WINDOW = timedelta(minutes=10)  # clocks differ: a lost credit may be stamped a little before "asked at"
WRITE_ATTEMPTS = 4  # compare-and-set rounds before giving up (another writer kept changing the record)
_REFUSALS = {"OWNER_NOT_FOUND": StoreCreditRefused.CUSTOMER_NOT_FOUND,
             "ACCOUNT_NOT_FOUND": StoreCreditRefused.CUSTOMER_NOT_FOUND,
             "MISMATCHING_CURRENCY": StoreCreditRefused.CURRENCY,
             "UNSUPPORTED_CURRENCY": StoreCreditRefused.CURRENCY,
             "CREDIT_LIMIT_EXCEEDED": StoreCreditRefused.LIMIT}
_STALE = frozenset({"STALE_OBJECT", "INVALID_COMPARE_DIGEST"})


class _Stale(Exception):
    """Another writer changed the record since we read it: read again."""


def issue(client: AdminClient, spec: StoreCreditSpec, now: datetime) -> StoreCredit:
    try:
        customer = mapping.gid("Customer", spec.customer_platform_id)
    except ValueError:
        raise StoreCreditRefused.because(StoreCreditRefused.CUSTOMER_NOT_FOUND,
                                         f"{spec.customer_platform_id!r} is not a Shopify customer id") from None
    for _ in range(WRITE_ATTEMPTS):
        grants, digest, credits = _state(client, customer, spec)
        grant = grants.get(spec.key)
        if grant is not None:
            _check_same(grant, spec)
            if grant.get("credit") is not None:
                return mapping.credit_from_node(grant["credit"], spec.key, spec.customer_platform_id)
            adopted = _adoptable(grant, grants, credits, spec)
            if adopted is not None:
                return _done(client, customer, spec, adopted, grants, digest)
        else:
            grants = {**grants, spec.key: _pending(spec, now)}
            try:
                digest = _write(client, customer, grants, digest)
            except _Stale:
                continue
        return _done(client, customer, spec, _credit(client, customer, spec), grants, digest)
    raise Transient("the customer's store-credit record kept changing under us; try again")


def _state(client: AdminClient, customer: str, spec: StoreCreditSpec) -> tuple[dict, str | None, list[dict]]:
    """(the record's grants, its digest or None when there is no record, the account's latest credits)."""
    data = client.execute(documents.load("store_credit"), "StoreCreditState",
                          {"id": customer, "accounts": f"currency_code:{spec.currency}"})
    node = data.get("customer")
    if not node:
        raise StoreCreditRefused.because(StoreCreditRefused.CUSTOMER_NOT_FOUND, f"no customer {customer}")
    record = node.get("grants")
    grants: dict = {}
    if record:
        try:
            grants = json.loads(record["value"]).get("grants", {})
        except (ValueError, AttributeError, TypeError):
            raise InvalidPayload(f"{customer}: the store-credit record is not ours to read") from None
    accounts = mapping.connection_nodes(node.get("storeCreditAccounts"), "store credit accounts")
    credits = [c for a in accounts for c in mapping.connection_nodes(a.get("transactions"), "credits") if c]
    return grants, record.get("compareDigest") if record else None, credits


def _pending(spec: StoreCreditSpec, now: datetime) -> dict[str, Any]:
    return {"amount": str(spec.amount), "currency": spec.currency, "asked_at": now.isoformat(),
            "expires_at": spec.expires_at.isoformat() if spec.expires_at else None, "credit": None}


def _check_same(grant: dict, spec: StoreCreditSpec) -> None:
    expires = spec.expires_at.isoformat() if spec.expires_at else None
    if (Decimal(grant.get("amount", "NaN")), grant.get("currency"), grant.get("expires_at")) != (
            spec.amount, spec.currency, expires):
        raise StoreCreditRefused.because(StoreCreditRefused.INVALID,
                                         f"store credit key {spec.key} was used for another credit")


def _adoptable(grant: dict, grants: dict, credits: list[dict], spec: StoreCreditSpec) -> dict | None:
    """The credit an earlier attempt of this key made, if its answer was lost (see the module doc)."""
    asked = datetime.fromisoformat(grant["asked_at"]) - ADOPT_WINDOW
    claimed = {g["credit"]["id"] for g in grants.values() if g.get("credit")}
    candidates = [c for c in credits if c.get("id") not in claimed and mapping.credit_created_at(c) >= asked
                  and mapping.credit_from_node(c, spec.key, spec.customer_platform_id).amount == spec.amount]
    return min(candidates, key=mapping.credit_created_at) if candidates else None


def _credit(client: AdminClient, customer: str, spec: StoreCreditSpec) -> dict:
    credit = {"creditAmount": {"amount": str(spec.amount), "currencyCode": spec.currency},
              "expiresAt": mapping.iso(spec.expires_at) if spec.expires_at else None}
    data = client.execute(documents.load("store_credit"), "StoreCreditAccountCredit",
                          {"id": customer, "credit": credit}, retry_unavailable=False)
    payload = data.get("storeCreditAccountCredit") or {}
    errors = payload.get("userErrors") or []
    if errors:
        reason = next((_REFUSALS[e.get("code")] for e in errors if e.get("code") in _REFUSALS),
                      StoreCreditRefused.INVALID)
        raise StoreCreditRefused.because(reason, "; ".join(str(e.get("message")) for e in errors))
    if not payload.get("storeCreditAccountTransaction"):
        raise AdapterError("Shopify made no store credit and gave no reason")
    return payload["storeCreditAccountTransaction"]


def _done(client: AdminClient, customer: str, spec: StoreCreditSpec, credit: dict, grants: dict,
          digest: str | None) -> StoreCredit:
    """Record ``credit`` as the key's in the record as last read (``grants``, ``digest``); when another
    writer changed it meanwhile, read it again and merge."""
    for _ in range(WRITE_ATTEMPTS):
        grant = grants.get(spec.key) or _pending(spec, mapping.credit_created_at(credit))
        try:
            _write(client, customer, {**grants, spec.key: {**grant, "credit": credit}}, digest)
        except _Stale:
            grants, digest, _credits = _state(client, customer, spec)
            continue
        return mapping.credit_from_node(credit, spec.key, spec.customer_platform_id)
    raise Transient("the customer's store-credit record kept changing under us; the credit was made and "
                    "the next try with the same key will record it")


def _write(client: AdminClient, customer: str, grants: dict, digest: str | None) -> str | None:
    """Write the record if it is still the one read (``digest``; None: there was none)."""
    kept = dict(list(grants.items())[-KEEP:])
    field = {"ownerId": customer, "namespace": NAMESPACE, "key": GRANTS, "type": "json",
             "value": json.dumps({"grants": kept}, separators=(",", ":")), "compareDigest": digest}
    data = client.execute(documents.load("store_credit"), "StoreCreditGrantsSet", {"metafields": [field]})
    payload = data.get("metafieldsSet") or {}
    errors = payload.get("userErrors") or []
    if any(e.get("code") in _STALE for e in errors):
        raise _Stale()
    if errors:
        raise AdapterError("Shopify refused the store-credit record: "
                           + "; ".join(str(e.get("message")) for e in errors))
    written = payload.get("metafields") or [{}]
    return written[0].get("compareDigest")
