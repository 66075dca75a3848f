"""What the Shopify simulator does for loyalty: customer tags, metafields (compare-and-set), store credit,
the app's granted scopes, and ACCESS_DENIED for a field whose scope the shop has not granted.

The resolvers work on the records of tests/contract/shopify_store.py; ``shopify_simulator.py`` adds
them to every request's root. What Shopify documents and the simulator follows:

- ``metafieldsSet`` with ``compareDigest``: a digest that is not the stored value's refuses the write
  (STALE_OBJECT); an explicit null refuses when the metafield exists; leaving it out writes anyway.
- ``storeCreditAccountCredit`` on a customer id creates the account in that currency on the first
  credit; the simulator's shops take their own currency only (UNSUPPORTED_CURRENCY otherwise).
- a field needs its access scope (``write_x`` covers ``read_x``): without it the answer is an
  ACCESS_DENIED error naming the scope, as Shopify words it.
"""
from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime
from decimal import Decimal

from graphql import DocumentNode, FieldNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode

from tests.contract.shopify_store import SimShop, app_namespace, gid

# The scope each field needs (Shopify's documentation of each field and mutation).
FIELD_SCOPES = {
    "storeCreditAccountCredit": "write_store_credit_account_transactions",
    "storeCreditAccounts": "read_store_credit_accounts",
    "transactions": "read_store_credit_account_transactions",
    "discountCodeBasicCreate": "write_discounts",
    "discountCodeFreeShippingCreate": "write_discounts",
    "tagsAdd": "write_customers",
    "tagsRemove": "write_customers",
    "metafieldsSet": "write_customers",
    "metafieldsDelete": "write_customers",
}
_ids = itertools.count(70_000)


def access_denied(document: DocumentNode, operation: str | None, granted: set[str]) -> list[dict]:
    """Shopify's ACCESS_DENIED errors for the fields of ``document``'s ``operation`` that the shop's grant
    does not cover."""
    covered = set(granted) | {"read_" + s.removeprefix("write_") for s in granted if s.startswith("write_")}
    fragments = {d.name.value: d for d in document.definitions if getattr(d, "kind", "") == "fragment_definition"}
    names: set[str] = set()

    def walk(selection_set) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                walk(fragments[selection.name.value].selection_set)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)

    for definition in document.definitions:
        if getattr(definition, "kind", "") == "operation_definition" and (
                operation is None or (definition.name and definition.name.value == operation)):
            walk(definition.selection_set)
    return [{"message": f"Access denied for {name} field. Required access: `{FIELD_SCOPES[name]}` access scope.",
             "extensions": {"code": "ACCESS_DENIED", "requiredAccess": FIELD_SCOPES[name]}}
            for name in sorted(names) if name in FIELD_SCOPES and FIELD_SCOPES[name] not in covered]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def resolvers(shop: SimShop, now=lambda: datetime.now(UTC)) -> dict:
    def customer_of(owner: str):
        prefix = "gid://shopify/Customer/"
        tail = owner[len(prefix):] if owner.startswith(prefix) else ""
        return shop.customers.get(int(tail)) if tail.isdigit() else None

    def tags_add(info, id, tags):
        customer = customer_of(id)
        if customer is None:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Resource not found"}]}
        customer.tags += [tag for tag in tags if tag not in customer.tags]
        return {"node": None, "userErrors": []}

    def tags_remove(info, id, tags):
        customer = customer_of(id)
        if customer is None:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Resource not found"}]}
        customer.tags = [tag for tag in customer.tags if tag not in tags]
        return {"node": None, "userErrors": []}

    def metafields_set(info, metafields):
        errors, staged = [], []
        for index, field in enumerate(metafields):
            customer = customer_of(field["ownerId"])
            if customer is None:
                errors.append({"field": ["metafields", str(index), "ownerId"], "code": "INVALID",
                               "elementIndex": index, "message": "Owner does not exist"})
                continue
            key = (app_namespace(field.get("namespace")), field["key"])
            held = customer.metafields.get(key)
            if "compareDigest" in field and (held["compareDigest"] if held else None) != field["compareDigest"]:
                errors.append({"field": ["metafields", str(index), "compareDigest"], "code": "STALE_OBJECT",
                               "elementIndex": index, "message": "The resource has been updated since it was loaded"})
                continue
            staged.append((customer, key, field))
        if errors:  # atomic: nothing is written
            return {"metafields": None, "userErrors": errors}
        written = []
        for customer, key, field in staged:
            value = {"namespace": key[0], "key": key[1], "type": field.get("type"), "value": field["value"],
                     "compareDigest": digest(field["value"])}
            customer.metafields[key] = value
            written.append(value)
        return {"metafields": written, "userErrors": []}

    def metafields_delete(info, metafields):
        deleted = []
        for field in metafields:
            customer = customer_of(field["ownerId"])
            key = (app_namespace(field.get("namespace")), field["key"])
            found = customer.metafields.pop(key, None) if customer else None
            deleted.append({"ownerId": field["ownerId"], "namespace": key[0], "key": key[1]} if found else None)
        return {"deletedMetafields": deleted, "userErrors": []}

    def credit(info, id, creditInput):
        customer = customer_of(id)
        money = creditInput["creditAmount"]
        amount, currency = Decimal(str(money["amount"])), money["currencyCode"]
        refusal = None
        if customer is None:
            refusal = ("OWNER_NOT_FOUND", "Owner does not exist")
        elif currency != shop.currency:
            refusal = ("UNSUPPORTED_CURRENCY", "The currency provided is not supported.")
        elif amount <= 0:
            refusal = ("NEGATIVE_OR_ZERO_AMOUNT", "A positive amount must be used to credit a store credit account.")
        if refusal:
            return {"storeCreditAccountTransaction": None,
                    "userErrors": [{"field": ["creditInput"], "code": refusal[0], "message": refusal[1]}]}
        credits = customer.store_credit.setdefault(currency, [])
        balance = Decimal(credits[-1]["balanceAfterTransaction"]["amount"]) if credits else Decimal(0)
        transaction = {"__typename": "StoreCreditAccountCreditTransaction",
                       "id": gid("StoreCreditAccountCreditTransaction", next(_ids)),
                       "createdAt": now().strftime("%Y-%m-%dT%H:%M:%SZ"), "expiresAt": creditInput.get("expiresAt"),
                       "amount": {"amount": str(amount), "currencyCode": currency},
                       "balanceAfterTransaction": {"amount": str(balance + amount), "currencyCode": currency}}
        credits.append(transaction)
        return {"storeCreditAccountTransaction": transaction, "userErrors": []}

    def installation(info):
        return {"accessScopes": [{"handle": scope} for scope in sorted(shop.granted_scopes)]}

    return {"tagsAdd": tags_add, "tagsRemove": tags_remove, "metafieldsSet": metafields_set,
            "metafieldsDelete": metafields_delete, "storeCreditAccountCredit": credit,
            "currentAppInstallation": installation}


def discount_refusal(shop: SimShop, spec: dict, argument: str) -> dict | None:
    """Shopify's userError for a code whose customer, products or collections the shop does not have."""
    def missing(ids, kind, known) -> bool:
        return any(not i.startswith(f"gid://shopify/{kind}/") or int(i.rsplit("/", 1)[1]) not in known
                   for i in ids)

    customers = ((spec.get("context") or {}).get("customers") or {}).get("add") or []
    if missing(customers, "Customer", shop.customers):
        return {"field": [argument, "context", "customers", "add"], "code": "INVALID",
                "message": "Customer selection customers are invalid"}
    items = (spec.get("customerGets") or {}).get("items") or {}
    products = (items.get("products") or {}).get("productsToAdd") or []
    if missing(products, "Product", shop.products):
        return {"field": [argument, "customerGets", "items", "products", "productsToAdd"], "code": "INVALID",
                "message": "Product does not exist"}
    collections = (items.get("collections") or {}).get("add") or []
    if missing(collections, "Collection", shop.collections):
        return {"field": [argument, "customerGets", "items", "collections", "add"], "code": "INVALID",
                "message": "Collection does not exist"}
    return None


__all__ = ["FIELD_SCOPES", "GraphQLError", "access_denied", "digest", "discount_refusal", "resolvers"]
