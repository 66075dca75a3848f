"""The OpenAPI document (/api/openapi.json) against the app itself, on SQLite and PostgreSQL: schemathesis
sends generated requests to every declared operation in-process (WSGI) and checks each answer: no 5xx,
status, content type, headers and body as the document says. Signed in (a shopper token, a proxy
signature, an admin session, an API key) so the answers with data are checked too; bounded and
derandomized, so a run is short and always the same."""
from __future__ import annotations

import itertools
import re
from urllib.parse import parse_qsl

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from sqlalchemy import select

from plugin import create_app
from plugin.admin.auth import login_url
from plugin.api import service as api_service
from plugin.features import install_features
from plugin.models import metadata
from plugin.shops.models import Shop
from plugin.storefront import idempotency
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from tests.factories import make_customer, make_order, make_shop
from tests.shopify_auth_support import CLIENT_ID, SECRET, proxy_query

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
SHOP = "demo-shop.myshopify.com"  # a Shopify shop: the proxy's signature names it
_KEYS = itertools.count()


@pytest.fixture
def app(settings_with):
    app = create_app(settings_with(shopify_api_key=CLIENT_ID, shopify_api_secret=SECRET,
                                   rate_limit_storefront="100000/minute",
                                   rate_limit_merchant_api="100000/minute"))
    app.config["TESTING"] = True
    install_features(app, ("tests.example_feature",))  # a storefront POST, with its Idempotency-Key
    metadata.create_all(app.extensions["storecare.db"].engine)
    with app.app_context():
        yield app
    app.extensions["storecare.db"].dispose()


def signed_in_cookie(client, shop_id: int) -> str:
    assert client.get(login_url(shop_id)).status_code == 302
    return client.get_cookie("session").value


@pytest.fixture
def credentials(app, db):
    with db.uow() as session:
        shop = make_shop(session, domain=SHOP, platform="shopify", name="Shop A")
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "storefront-secret-" + "0" * 16})
        anna = make_customer(session, shop, first_name="Anna")
        anna.platform_id = "1001"
        orders = [make_order(session, shop, anna, total=f"{10 + i}.50", items=2,
                             refunded="1.00" if i == 0 else None) for i in range(3)]
        make_order(session, shop, None, total="5.00")
        session.commit()
    key = api_service.create_key(db, shop.id, "schemathesis").secret
    return {"token": issue_shopper_token(shop, "1001"), "key": key, "order_id": orders[0].id,
            "customer_id": anna.id, "cookie": signed_in_cookie(app.test_client(), shop.id)}


def _signed(case) -> None:
    """Make ``case`` a signed-in caller's: through the proxy, Shopify signs what it forwards (the generated
    query and its own parameters). A well-formed Idempotency-Key is made unique per case: a key the
    generator repeats with another body is rightly refused (422), the idempotency tests' business."""
    if case.path.startswith("/proxy/"):
        own = {k: str(v) for k, v in (case.query or {}).items()
               if k not in ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")}
        case.query = dict(parse_qsl(proxy_query(customer="1001", **own)))
    key = (case.headers or {}).get(idempotency.HEADER)
    if isinstance(key, str) and re.match(idempotency.KEY_PATTERN, key):
        case.headers[idempotency.HEADER] = f"case-{next(_KEYS):08d}"


def _variants(operation, creds) -> list[dict]:
    """How each operation is called: signed in as its audience, and for a record's address once with
    generated ids (mostly unknown: 404) and once with the id of a record that exists."""
    path = operation.path
    if path.startswith("/storefront/"):
        signed_in = {"headers": {TOKEN_HEADER: creds["token"]}}
    elif path.startswith("/api/v1/"):
        signed_in = {"headers": {"Authorization": f"Bearer {creds['key']}"}}
    elif path.startswith("/admin/"):
        signed_in = {"cookies": {"session": creds["cookie"]}}
    else:
        signed_in = {}
    variants = [signed_in]
    for name, record in (("order_id", creds["order_id"]), ("customer_id", creds["customer_id"])):
        if "{" + name + "}" in path:
            variants.append({**signed_in, "path_parameters": {name: record}})
    return variants


def _operations(app, *, extra_parameters: bool = True) -> list:
    """The document's operations. ``extra_parameters=False``: no undeclared query parameters are sent as
    invalid input, since the storefront ignores them by design (Shopify's proxy adds its own, a page
    may add a cache buster)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    if not extra_parameters:
        schema.config.generation.update(allow_extra_parameters=False)
    return [result.ok() for result in schema.get_all_operations()]


def _check(operation, creds, *, refusals: bool = False, seen: set | None = None) -> int:
    """Send each variant's generated requests, valid and invalid; the number of invalid runs made.
    ``seen`` collects (operation, status) of every answer.
    ``refusals``: a request the schema allows may be refused for what no schema can say (a birthday in
    the future, a reward the shop does not have, too few points), as the document's 422 and 409
    problems do; each must name the field at fault."""
    excluded = [ignored_auth, positive_data_acceptance] if refusals else [ignored_auth]
    negative_runs = 0
    for variant in _variants(operation, creds):
        for mode, examples in ((POSITIVE, 10), (NEGATIVE, 6)):
            @given(case=operation.as_strategy(mode, **variant))
            @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            def answers_as_documented(case):
                _signed(case)
                # We send real credentials on purpose (to reach the answers with data), which
                # schemathesis' ignored-auth check takes for generated, invalid ones; refusing bad
                # credentials is tested where each kind is (storefront, proxy, admin, API keys).
                response = case.call()
                if seen is not None:
                    seen.add((operation.label, response.status_code))
                case.validate_response(response, excluded_checks=excluded)
                if refusals and response.status_code in (409, 422):
                    assert response.json().get("errors"), (response.status_code, response.text)

            try:
                answers_as_documented()
            except Unsatisfiable:  # nothing of this operation can be invalid (no parameters to spoil)
                assert mode is NEGATIVE, operation.label
            else:
                negative_runs += mode is NEGATIVE
    return negative_runs


def test_every_answer_matches_the_document(app, credentials):
    operations = _operations(app)
    assert len(operations) >= 11
    negative_runs = sum(_check(operation, credentials) for operation in operations)
    assert negative_runs >= 8  # bad query strings, bodies, ids and headers were sent too


@pytest.fixture
def member_with_points(app, db, credentials):
    """The shop's loyalty program on (tiers, rewards, referrals, birthday points) and the signed-in
    shopper a member with points and history, so the loyalty endpoints answer with data, not 404."""
    from plugin.loyalty import ledger
    from plugin.loyalty.members import ensure_member
    from plugin.loyalty.models import Tier
    from tests.loyalty_support import program_on, reward

    with db.uow() as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        session.add_all([Tier(shop_id=shop.id, name="Bronze", position=0, entry_threshold=0),
                         Tier(shop_id=shop.id, name="Silver", position=1, entry_threshold=100)])
        session.commit()
    program_on(db, shop.id, history="zero", enrolment="auto", referrals_enabled=True)
    reward(db, shop.id, name="Money off", kind="variable", cost=10, value="1.00", min_points=10, max_points=500)
    with db.uow() as session:
        member = ensure_member(session, shop.id, credentials["customer_id"])
        ledger.credit(session, member, 900, source="manual", source_id="gift", reason="Gift")
        ledger.credit(session, member, 35, source="order", source_id="1", reason="Points for order %(number)s",
                      reason_params={"number": "#1001"}, pending=True)
        session.commit()
    return credentials


def test_the_loyalty_endpoints_answer_as_documented_with_the_program_on(app, member_with_points):
    """The run above meets the loyalty endpoints with the program off (every one a 404); here with it on
    and a member with points: balances, history, rewards, joining, a birthday, referrals."""
    operations = [op for op in _operations(app, extra_parameters=False)
                  if "/loyalty/" in op.path and op.path.startswith(("/storefront/", "/proxy/"))]
    assert len(operations) >= 2 * 10  # both mounts of every loyalty endpoint of the storefront
    seen: set = set()
    assert sum(_check(operation, member_with_points, refusals=True, seen=seen) for operation in operations) >= 10
    answered = {label for label, status in seen if 200 <= status < 300}
    reads = {op.label for op in operations if op.method.upper() == "GET"}
    assert reads <= answered, reads - answered  # every read answered with the member's data
    assert not {label for label, status in seen if status == 404}  # the program is on: never "no program"
    assert ("POST /storefront/api/v1/loyalty/birthday", 200) in seen


def test_the_document_describes_every_declared_operation_once_per_mount(client):
    document = client.get("/api/openapi.json").get_json()

    assert document["openapi"].startswith("3.1")
    assert {"/storefront/api/v1/orders", "/proxy/api/v1/orders", "/storefront/api/v1/me", "/proxy/api/v1/me",
            "/admin/api/overview", "/api/v1/orders", "/api/v1/orders/{order_id}", "/api/v1/customers",
            "/api/v1/customers/{customer_id}"} <= set(document["paths"])
    merchant = document["paths"]["/api/v1/orders"]["get"]
    assert merchant["security"] == [{"merchantKey": []}]
    assert {p["name"] for p in merchant["parameters"]} >= {"limit", "starting_after", "customer_id"}
    assert set(merchant["responses"]) == {"200", "401", "422", "429"}
    assert document["paths"]["/proxy/api/v1/orders"]["get"]["security"] == [{"appProxySignature": []}]
    # money the answers carry as exact decimal strings is a string in the document too
    assert document["components"]["schemas"]["LoyaltyReward"]["properties"]["value"]["type"] == "string"
