"""A customer's loyalty shown on Shopify: the tier as a customer tag, tier and balance as app-owned
metafields (``$app:loyalty.tier``, single-line text; ``$app:loyalty.balance``, a decimal number).

Tags are how merchants segment customers and how Shopify Flow and themes branch on a tier; the
metafields carry the values themselves, written only by Storecare (the ``$app`` namespace) and
readable by merchants and by our theme app blocks. Each publish reads the customer first and writes
only what changed: every write makes Shopify send customers/update, and a tier that did not move
should not send a webhook to every app on the shop. Needs ``write_customers``.
"""
from __future__ import annotations

from adapters.base import TIER_TAG_PREFIX, CustomerLoyalty, tier_tag
from adapters.errors import AdapterError, NotFound
from adapters.shopify import documents, mapping
from adapters.shopify.client import AdminClient

NAMESPACE = "$app:loyalty"
TIER_TYPE, BALANCE_TYPE = "single_line_text_field", "number_decimal"


def read(client: AdminClient, customer: str) -> tuple[list[str], CustomerLoyalty]:
    data = client.execute(documents.load("customer_loyalty"), "CustomerLoyalty", {"id": customer})
    if not data.get("customer"):
        raise NotFound(f"no customer {customer}")
    return mapping.loyalty_from_node(data["customer"])


def publish(client: AdminClient, customer: str, wanted: CustomerLoyalty) -> CustomerLoyalty:
    tags, held = read(client, customer)
    tag = tier_tag(wanted.tier) if wanted.tier is not None else None
    stale = [t for t in tags if t.startswith(TIER_TAG_PREFIX) and t != tag]
    if stale:
        _mutate(client, "CustomerTagsRemove", "tagsRemove", {"id": customer, "tags": stale})
    if tag is not None and tag not in tags:
        _mutate(client, "CustomerTagsAdd", "tagsAdd", {"id": customer, "tags": [tag]})
    changes = []
    if wanted.tier is not None and wanted.tier != held.tier:
        changes.append({"ownerId": customer, "namespace": NAMESPACE, "key": "tier", "type": TIER_TYPE,
                        "value": wanted.tier})
    if wanted.balance is not None and wanted.balance != held.balance:
        changes.append({"ownerId": customer, "namespace": NAMESPACE, "key": "balance", "type": BALANCE_TYPE,
                        "value": format(wanted.balance, "f")})
    if changes:
        _mutate(client, "CustomerLoyaltySet", "metafieldsSet", {"metafields": changes})
    if wanted.tier is None and held.tier is not None:
        _mutate(client, "CustomerLoyaltyDelete", "metafieldsDelete",
                {"metafields": [{"ownerId": customer, "namespace": NAMESPACE, "key": "tier"}]})
    return CustomerLoyalty(tier=wanted.tier, balance=wanted.balance if wanted.balance is not None else held.balance)


def _mutate(client: AdminClient, operation: str, field: str, variables: dict) -> None:
    data = client.execute(documents.load("customer_loyalty"), operation, variables)
    errors = (data.get(field) or {}).get("userErrors") or []
    if errors:
        messages = "; ".join(str(e.get("message")) for e in errors)
        raise AdapterError(f"Shopify refused {operation} for {variables.get('id', 'the customer')}: {messages}")
