"""A small Shopify Admin GraphQL API for tests, behind ``responses``.

Each request is executed by graphql-core against the published 2026-10 schema, with resolvers over
the shops in tests/contract/shopify_store.py. So a document that selects a field Shopify does not
have fails here as it would in production, and every answer has exactly the shape its document asked
for. What the simulator decides itself: shop by host, access token (401 when it is not the shop's),
shops that always fail (503), search syntax (``updated_at:>='...'`` only), webhook subscriptions,
discount codes (TAKEN on a second use, whatever the case; INVALID for a customer or product the shop
does not have), what loyalty writes (tests/contract/shopify_rewards.py: tags, metafields, store credit,
granted scopes and ACCESS_DENIED), answers lost after the work was done (``lose_answers``), and bulk
operations (the bulk query is executed too, then
flattened into JSONL with ``__parentId``, served from a storage URL).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import responses
from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync, parse

from tests.contract import shopify_rewards as rewards
from tests.contract import shopify_store as store
from tests.contract.shopify_store import SimShop, connection, gid, gql_customer, gql_order

REPO = Path(__file__).resolve().parents[2]
# Shopify's published schema: ../shared/contracts when this checkout sits beside it, else our copy of it
# (gzipped; tests/unit/test_shopify_graphql_documents.py checks the copy is the published file).
SDL = REPO.parent / "shared" / "contracts" / "shopify" / "admin-2026-10.graphql"
SDL_COPY = REPO / "tests" / "fixtures" / "shopify" / "admin-2026-10.graphql.gz"
ENDPOINT = re.compile(r"https://([^/]+)/admin/api/2026-10/graphql\.json")
STORAGE = "https://storage.simulator.test/bulk/"
_SINCE = re.compile(r"^updated_at:>='([^']+)'$")
WEBHOOK_SECRET = "contract-webhook-secret"  # the app's client secret in these tests


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    """Shopify's Admin API 2026-10, parsed once per test process (it takes seconds).

    ``assume_valid``: graphql-core 3.3 applies a newer spec rule (deprecated implementations of
    non-deprecated interface fields) that Shopify's own schema breaks; documents are still validated.
    """
    return build_schema(admin_sdl(), assume_valid=True)


def admin_sdl() -> str:
    if SDL.is_file():
        return SDL.read_text(encoding="utf-8")
    if SDL_COPY.is_file():
        return gzip.decompress(SDL_COPY.read_bytes()).decode("utf-8")
    raise FileNotFoundError(f"the Shopify schema is missing at {SDL} and at {SDL_COPY}")


@dataclass
class BulkRun:
    id: str
    domain: str
    lines: list[bytes]
    polls_left: int
    status: str = "CREATED"

    @property
    def url(self) -> str:
        return STORAGE + self.id.rsplit("/", 1)[-1] + ".jsonl"


class ShopifySimulator:
    def __init__(self, schema: GraphQLSchema | None = None, bulk_polls: int = 1,
                 bulk_layout: str = "grouped"):
        self.schema = schema or admin_schema()
        self.shops: dict[str, SimShop] = {}
        self.failing: set[str] = set()
        self.requests: list[dict] = []  # operationName and variables of every call, for assertions
        self.bulk_runs: dict[str, BulkRun] = {}
        self.bulk_polls = bulk_polls  # polls answered RUNNING before COMPLETED
        self.bulk_layout = bulk_layout  # "grouped" (children below parent) or "parents_first"
        self.bulk_failure: str | None = None  # an errorCode: polled operations end FAILED with it
        self.corrupt_order: int | None = None  # downloads break the line of this order (0-based), once
        self.downloads = 0
        self.lose_answers: dict[str, int] = {}  # operationName -> answers to lose (502) after doing the work
        self._ids = itertools.count(1)

    def add_shop(self, shop: SimShop) -> SimShop:
        self.shops[shop.domain] = shop
        return shop

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, ENDPOINT, callback=self._graphql)
        mock.add_callback(responses.GET, re.compile(re.escape(STORAGE) + r".+"), callback=self._download)

    # -- HTTP
    def _graphql(self, request):
        domain = urlparse(request.url).hostname
        if domain in self.failing:
            return 503, {}, "Service Unavailable"
        shop = self.shops.get(domain)
        if shop is None or request.headers.get("X-Shopify-Access-Token") != shop.token:
            return 401, {}, json.dumps({"errors": "[API] Invalid API key or access token"
                                                  " (unrecognized login or wrong password)"})
        body = json.loads(request.body)
        operation = body.get("operationName")
        self.requests.append({"operationName": operation, "variables": body.get("variables")})
        status = {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}
        payload: dict = {"extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
                                                 "throttleStatus": status}}}
        denied = rewards.access_denied(parse(body["query"]), operation, shop.granted_scopes)
        if denied:
            payload["errors"] = denied
            return 200, {"Content-Type": "application/json"}, json.dumps(payload)
        result = graphql_sync(self.schema, body["query"], root_value=self._root(shop),
                              variable_values=body.get("variables"), operation_name=operation)
        if result.errors:
            payload["errors"] = [{"message": e.message, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
                                 for e in result.errors]
        if result.data is not None:
            payload["data"] = result.data
        if self.lose_answers.get(operation, 0) > 0:  # done, but the answer never reaches the caller
            self.lose_answers[operation] -= 1
            return 502, {}, "Bad Gateway"
        return 200, {"Content-Type": "application/json"}, json.dumps(payload)

    def _download(self, request):
        name = request.url.rsplit("/", 1)[-1].removesuffix(".jsonl")
        run = self.bulk_runs.get(gid("BulkOperation", int(name)))
        if run is None or run.status != "COMPLETED":
            return 403, {}, "AccessDenied"
        self.downloads += 1
        lines, broken = list(run.lines), self.corrupt_order
        if broken is not None:
            parents = [n for n, line in enumerate(lines) if b'"__parentId"' not in line]
            lines[parents[broken]] = b'{"id": "gid://shopify/Order/broken'
            self.corrupt_order = None
        return 200, {"Content-Type": "application/jsonl"}, b"".join(line + b"\n" for line in lines)

    # -- resolvers: one root per request, bound to the shop the token opened
    def _root(self, shop: SimShop) -> dict:
        currency = shop.currency

        def orders(info, first=None, after=None, query=None, **_):
            return connection(_matching(shop.orders, query), {"first": first, "after": after},
                              lambda o: gql_order(o, currency))

        def customers(info, first=None, after=None, query=None, **_):
            return connection(_matching(shop.customers, query), {"first": first, "after": after},
                              gql_customer)

        def order(info, id):
            found = shop.orders.get(_numeric(id, "Order"))
            return gql_order(found, currency) if found else None

        def customer(info, id):
            found = shop.customers.get(_numeric(id, "Customer"))
            return gql_customer(found) if found else None

        def orders_count(info, query=None, limit=10000):
            count = len(_matching(shop.orders, query))
            exact = limit is None or count <= limit
            return {"count": count if exact else limit, "precision": "EXACT" if exact else "AT_LEAST"}

        def subscriptions(info, first=None, after=None, uri=None, **_):
            found = [s for s in shop.subscriptions if uri is None or s["uri"] == uri]
            return connection([_Keyed(s["n"], s) for s in found], {"first": first, "after": after},
                              lambda k: k.value)

        def subscribe(info, topic, webhookSubscription):
            uri = webhookSubscription.get("uri") or ""
            refused = None
            if not uri.startswith("https://"):
                refused = "Address protocol is not supported"
            elif any(s["topic"] == topic and s["uri"] == uri for s in shop.subscriptions):
                refused = "Address for this topic has already been taken"
            if refused:
                return {"webhookSubscription": None,
                        "userErrors": [{"field": ["webhookSubscription", "uri"], "message": refused}]}
            n = next(self._ids)
            created = {"n": n, "id": gid("WebhookSubscription", n), "topic": topic, "uri": uri}
            shop.subscriptions.append(created)
            return {"webhookSubscription": created, "userErrors": []}

        def create_discount(kind):
            def create(info, **arguments):
                argument, spec = next(iter(arguments.items()))
                code = spec["code"]
                if code.casefold() in {held.casefold() for held in shop.discounts}:  # unique whatever the case
                    return {"codeDiscountNode": None, "userErrors": [{
                        "field": [argument, "code"], "code": "TAKEN",
                        "message": "Code must be unique. Please try a different code."}]}
                refused = rewards.discount_refusal(shop, spec, argument)
                if refused:
                    return {"codeDiscountNode": None, "userErrors": [refused]}
                n = next(self._ids)
                shop.discounts[code] = {"id": gid("DiscountCodeNode", n), "codeDiscount": {
                    "__typename": kind, "title": spec["title"], "endsAt": spec.get("endsAt"),
                    "input": spec, "codes": lambda info, **args: {"nodes": [{"code": code}]}}}
                return {"codeDiscountNode": shop.discounts[code], "userErrors": []}
            return create

        def bulk_run(info, query, groupObjects):
            run = BulkRun(id=gid("BulkOperation", next(self._ids)), domain=shop.domain,
                          lines=self._bulk_lines(shop, query), polls_left=self.bulk_polls)
            self.bulk_runs[run.id] = run
            return {"bulkOperation": {"id": run.id, "status": run.status}, "userErrors": []}

        def bulk_operation(info, id):
            run = self.bulk_runs.get(id)
            if run is None or run.domain != shop.domain:
                return None
            if self.bulk_failure and run.status != "COMPLETED":
                run.status = "FAILED"
            elif run.status not in ("COMPLETED", "FAILED"):
                run.status = "RUNNING" if run.polls_left > 0 else "COMPLETED"
                run.polls_left -= 1
            done = run.status == "COMPLETED"
            return {"id": run.id, "status": run.status, "objectCount": str(len(run.lines)),
                    "errorCode": self.bulk_failure if run.status == "FAILED" else None,
                    "rootObjectCount": str(len(shop.orders)), "url": run.url if done and run.lines else None,
                    "partialDataUrl": None}

        def by_code(info, code):
            return next((node for held, node in shop.discounts.items() if held.casefold() == code.casefold()), None)

        return {"orders": orders, "order": order, "ordersCount": orders_count, "customers": customers,
                "customer": customer, "webhookSubscriptions": subscriptions,
                "webhookSubscriptionCreate": subscribe,
                "discountCodeBasicCreate": create_discount("DiscountCodeBasic"),
                "discountCodeFreeShippingCreate": create_discount("DiscountCodeFreeShipping"),
                "codeDiscountNodeByCode": by_code, "bulkOperationRunQuery": bulk_run,
                "bulkOperation": bulk_operation, **rewards.resolvers(shop)}

    def _bulk_lines(self, shop: SimShop, query: str) -> list[bytes]:
        """Run the bulk query over the whole shop, then flatten it as Shopify does: each connection's
        nodes on lines of their own with ``__parentId``."""
        result = graphql_sync(self.schema, query, root_value=self._root(shop))
        if result.errors:
            raise GraphQLError(f"the bulk query is invalid: {result.errors}")
        parents, children = [], []
        for edge in result.data["orders"]["edges"]:
            node = dict(edge["node"])
            kids = [dict(e["node"], __parentId=node["id"]) for e in node.pop("lineItems")["edges"]]
            parents.append(node)
            children.append(kids)
        if self.bulk_layout == "grouped":
            rows = [row for parent, kids in zip(parents, children, strict=True) for row in (parent, *kids)]
        else:
            rows = [*parents, *(kid for kids in children for kid in kids)]
        return [json.dumps(row, separators=(",", ":")).encode() for row in rows]


class FakeTime:
    """A clock and a sleep that only move each other: waits cost nothing and can be read back."""

    def __init__(self, start: float = 1_000.0):
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_webhook(domain: str, topic: str, payload: dict, secret: str = WEBHOOK_SECRET,
                    webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043") -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2026-01-15T12:00:00.123456789Z", "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Hmac-Sha256": sign(secret, body),
    }, body


@dataclass
class _Keyed:
    id: int
    value: dict


def _numeric(value: str, kind: str) -> int:
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix) or not value[len(prefix):].isdigit():
        raise GraphQLError(f"Invalid global id '{value}'")
    return int(value[len(prefix):])


def _matching(records: dict, query: str | None) -> list:
    items = sorted(records.values(), key=lambda record: record.id)
    if not query:
        return items
    match = _SINCE.match(query)
    if not match:
        raise GraphQLError(f"the simulator does not understand the search {query!r}")
    since = datetime.fromisoformat(match.group(1))
    return [record for record in items if record.updated_at >= since]


__all__ = ["FakeTime", "ShopifySimulator", "admin_schema", "shopify_webhook", "sign", "store"]
