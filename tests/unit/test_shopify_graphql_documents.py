"""Every GraphQL document we send is valid against Shopify's published Admin API 2026-10 schema.

The schema (../shared/contracts/shopify/admin-2026-10.graphql) is parsed once per test process. Each
file in adapters/shopify/graphql/ must validate with graphql-core's standard rules plus "no deprecated
fields" (2026-10 deprecates e.g. Customer.email and currentBulkOperation): a field that does not exist,
a wrong argument or a deprecated field fails here, not in a merchant's sync.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from graphql import FieldNode, GraphQLError, graphql_sync, parse, validate
from graphql.validation import NoDeprecatedCustomRule, specified_rules

from adapters.shopify import documents, mapping
from tests.contract.shopify_simulator import admin_schema

RULES = [*specified_rules, NoDeprecatedCustomRule]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify"


def errors_of(text: str) -> list[GraphQLError]:
    return validate(admin_schema(), parse(text), RULES)


def test_the_folder_holds_the_documents_the_adapter_loads():
    assert {"orders", "customers", "webhooks", "discounts", "bulk", "bulk_orders"} <= set(documents.names())


@pytest.mark.parametrize("name", documents.names())
def test_every_document_is_valid_against_the_2026_10_schema(name):
    assert errors_of(documents.load(name).text) == []


def test_a_field_that_does_not_exist_fails_validation():
    # Order has displayFinancialStatus in 2026-10; financialStatus is gone.
    errors = errors_of("query { orders(first: 1) { nodes { id financialStatus } } }")

    expected = ("Cannot query field 'financialStatus' on type 'Order'."
                " Did you mean 'displayFinancialStatus'?")
    assert [e.message for e in errors] == [expected]


def test_a_deprecated_field_fails_validation():
    errors = errors_of("query { customers(first: 1) { nodes { id email } } }")

    assert len(errors) == 1 and "Customer.email is deprecated" in errors[0].message


def test_the_deprecated_callback_url_of_a_webhook_subscription_fails_validation():
    errors = errors_of('mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: '
                       '{callbackUrl: "https://x.test/w"}) { userErrors { message } } }')

    assert len(errors) == 1 and "callbackUrl" in errors[0].message


def _paths(selection_set, fragments, prefix=()) -> set[tuple[str, ...]]:
    """Every selected field path, fragments expanded, connection wrappers (edges/node/nodes) dropped."""
    paths = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            here = prefix if name in ("edges", "node", "nodes") else (*prefix, name)
            if name not in ("edges", "node", "nodes", "pageInfo"):
                paths.add(here)
            if selection.selection_set is not None and name != "pageInfo":
                paths |= _paths(selection.selection_set, fragments, here)
        else:  # a fragment spread
            paths |= _paths(fragments[selection.name.value].selection_set, fragments, prefix)
    return paths


def test_the_bulk_export_selects_exactly_what_a_page_of_orders_selects():
    """One mapping reads both, so the bulk query must not drift from OrderFields."""
    orders = documents.load("orders")
    bulk = documents.load("bulk_orders")

    paged = _paths(orders.operation("Orders").selection_set, orders.fragments())
    exported = _paths(bulk.operation(None).selection_set, bulk.fragments())

    assert exported == paged


def test_the_bulk_export_stays_within_shopifys_limits():
    """At most five connections, nested at most two deep."""
    def connections(selection_set, depth=0):
        found = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.selection_set is not None:
                inner = {s.name.value for s in selection.selection_set.selections if isinstance(s, FieldNode)}
                level = depth + 1 if "edges" in inner else depth
                if level > depth:
                    found.append(level)
                found += connections(selection.selection_set, level)
        return found

    levels = connections(documents.load("bulk_orders").operation(None).selection_set)
    assert levels and len(levels) <= 5 and max(levels) <= 2


def test_the_graphql_order_fixture_is_a_real_answer_to_the_order_document():
    """Executing the document against the schema over the fixture returns the fixture: its shape is
    exactly what the document asks for, with enum values the schema knows."""
    answer = json.loads((FIXTURES / "graphql" / "order.json").read_text())
    node = answer["data"]["order"]

    result = graphql_sync(admin_schema(), documents.load("orders").text,
                          root_value={"order": lambda info, id: node}, operation_name="Order",
                          variable_values={"id": node["id"], "lineItemsFirst": 100})

    assert result.errors is None
    assert result.data == answer["data"]
    assert mapping.order_from_graphql(result.data["order"]).platform_id == "6143519162681"


# sha256 of Shopify's published admin-2026-10.graphql (../shared/contracts/shopify), as we copied it
PUBLISHED_SDL_SHA256 = "6c6de4608e0477c12079e825fba15b19dcd2ea749d36d75c1b2225d689fc643f"


def test_our_copy_of_the_schema_is_shopifys_published_file():
    """A clone without ../shared validates against tests/fixtures' gzipped copy: it must be the published
    file, byte for byte; and where ../shared is beside the checkout, that file must still be the one we
    copied."""
    import gzip

    from tests.contract.shopify_simulator import SDL, SDL_COPY

    assert hashlib.sha256(gzip.decompress(SDL_COPY.read_bytes())).hexdigest() == PUBLISHED_SDL_SHA256
    if SDL.is_file():
        assert hashlib.sha256(SDL.read_bytes()).hexdigest() == PUBLISHED_SDL_SHA256
