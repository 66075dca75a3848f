"""Playing Shopify in the install, token and proxy tests: signed queries, session tokens, the token
endpoint and the Admin GraphQL webhook-subscription calls, all through ``responses``."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import jwt
import responses

from plugin.security import sign_app_proxy, sign_shopify_query

CLIENT_ID = "storecare-test-client"
SECRET = "shpss_" + "7" * 32
APP_URL = "https://storecare.example"
SHOP = "demo-shop.myshopify.com"
OTHER_SHOP = "other-shop.myshopify.com"
RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"


def shopify_app(settings_with):
    """The app with Shopify configured, for a test module's own ``app`` fixture (which then stands in for
    conftest's: ``client``, ``db`` and ``queue`` follow it)::

        @pytest.fixture
        def app(settings_with):
            yield from shopify_app(settings_with)
    """
    from plugin import create_app
    from plugin.models import metadata

    app = create_app(settings_with(shopify_api_key=CLIENT_ID, shopify_api_secret=SECRET, app_url=APP_URL))
    app.config["TESTING"] = True
    metadata.create_all(app.extensions["storecare.db"].engine)
    with app.app_context():
        yield app
    app.extensions["storecare.db"].dispose()


def epoch(moment: datetime | None = None) -> int:
    return int((moment or datetime.now(UTC)).timestamp())


def signed_query(secret: str = SECRET, **params) -> str:
    """A query string as Shopify sends it to the install URL and the callback: ``hmac`` over the rest."""
    params.setdefault("timestamp", str(epoch()))
    pairs = list(params.items())
    return urlencode(pairs + [("hmac", sign_shopify_query(secret, pairs))])


def proxy_query(shop: str = SHOP, customer: str = "", secret: str = SECRET, at: datetime | None = None,
                **extra) -> str:
    pairs = [("shop", shop), ("logged_in_customer_id", customer), ("path_prefix", "/apps/storecare"),
             ("timestamp", str(epoch(at))), *extra.items()]
    return urlencode(pairs + [("signature", sign_app_proxy(secret, pairs))])


def session_token(shop: str = SHOP, secret: str = SECRET, **changes) -> str:
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": CLIENT_ID, "sub": "7001",
              "exp": now + 60, "nbf": now - 2, "iat": now - 2, "jti": f"jti-{now}", "sid": "sid-1"}
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def token_url(shop: str = SHOP) -> str:
    return f"https://{shop}/admin/oauth/access_token"


def granted(access: str = "shpat_first", refresh: str = "shprt_first", expires_in: int = 3600,
            scope: str = "read_customers,write_customers,read_orders,read_products,write_discounts,"
                          "read_returns,write_returns,read_fulfillments") -> dict:
    return {"access_token": access, "scope": scope, "expires_in": expires_in, "refresh_token": refresh,
            "refresh_token_expires_in": 7776000}


@dataclass
class FakeAdminApi:
    """Shopify's Admin GraphQL endpoint for webhook subscriptions, per shop, remembering who called."""

    subscriptions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # shop -> (topic, uri)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # shop -> access tokens used
    refuse_tokens: set[str] = field(default_factory=set)  # tokens answered with 401

    def install(self, mock: responses.RequestsMock, shop: str, version: str = "2026-10") -> None:
        mock.add_callback(responses.POST, f"https://{shop}/admin/api/{version}/graphql.json",
                          callback=lambda request: self._answer(shop, request))

    def _answer(self, shop: str, request):
        token = request.headers.get("X-Shopify-Access-Token", "")
        self.tokens.setdefault(shop, []).append(token)
        if token in self.refuse_tokens:
            return 401, {}, json.dumps({"errors": "[API] Invalid API key or access token"})
        body = json.loads(request.body)
        variables = body.get("variables") or {}
        operation = body.get("operationName") or ""
        cost = {"requestedQueryCost": 10, "actualQueryCost": 10,
                "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}
        existing = self.subscriptions.setdefault(shop, [])
        if operation == "WebhookSubscriptionCreate":
            topic, uri = variables["topic"], variables["subscription"]["uri"]
            existing.append((topic, uri))
            data = {"webhookSubscriptionCreate": {"webhookSubscription": {
                "id": f"gid://shopify/WebhookSubscription/{len(existing)}", "topic": topic, "uri": uri},
                "userErrors": []}}
        elif operation == "WebhookSubscriptions":
            data = {"webhookSubscriptions": {
                "nodes": [{"id": f"gid://shopify/WebhookSubscription/{i}", "topic": t, "uri": u}
                          for i, (t, u) in enumerate(existing, 1)],
                "pageInfo": {"hasNextPage": False, "endCursor": None}}}
        elif operation == "OrdersCount":
            data = {"ordersCount": {"count": 0, "precision": "EXACT"}}
        else:
            return 200, {}, json.dumps({"errors": [{"message": "not faked in this test"}]})
        return 200, {}, json.dumps({"data": data, "extensions": {"cost": cost}})


def in_a_while(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)
