"""The OpenAPI 3.1 document at /api/openapi.json, built from the app's own routes.

Every view declared with ``@operation`` (``plugin/api/operations.py``: the storefront's endpoints under
both mounts, the admin's JSON, the merchant API) is described from that declaration: its path from the
URL rule (apispec-webframeworks' FlaskPlugin), its query string, body and answer from the marshmallow
schemas (apispec's MarshmallowPlugin), its problems as problem documents. A view without a declaration
is not in the document. The document is built once per app, at its first request.
"""
from __future__ import annotations

import re
from http import HTTPStatus

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, current_app, jsonify
from marshmallow import fields
from werkzeug.routing import Rule

from plugin.api.operations import Operation, operation_of
from plugin.api.schemas import ProblemSchema
from plugin.api.service import MAX_ID
from plugin.problems import PROBLEM

bp = Blueprint("openapi", __name__, url_prefix="/api")
DOCUMENT_KEY = "storecare.openapi"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

SECURITY_SCHEMES = {
    "shopperToken": {"type": "apiKey", "in": "header", "name": "X-Storecare-Shopper",
                     "description": "A short-lived token the store signs for its signed-in customer (our "
                                    "WordPress plugin; the demo store)."},
    "appProxySignature": {"type": "apiKey", "in": "query", "name": "signature",
                          "description": "Shopify's app proxy signature over the forwarded query."},
    "merchantKey": {"type": "http", "scheme": "bearer",
                    "description": "An API key created in the admin (API keys), scoped to its shop."},
    "adminSession": {"type": "apiKey", "in": "cookie", "name": "session",
                     "description": "The admin's session cookie (sign in to the admin first)."},
}
TAGS = (
    {"name": "Storefront", "description": "What the widgets call from the store's pages, under the direct "
                                          "API (/storefront/api/v1) and Shopify's app proxy (/proxy/api/v1)."},
    {"name": "Admin", "description": "JSON for the admin's own pages."},
    {"name": "Merchant API", "description": "The merchant's scripts read their shop's data with an API key."},
)
DESCRIPTION = (
    "Errors are problem documents (RFC 9457, application/problem+json); bad input names each field in "
    "`errors`. Requests are rate limited: over a limit the answer is 429 with Retry-After (seconds). "
    "Storefront POSTs need an Idempotency-Key header: a retry returns the first answer."
)


def schema_name(schema) -> str:
    """Component names: the class name without "Schema", prefixed by the feature whose view it is
    ("StorefrontOrder"), except the merchant API's own and the shared ones ("Order", "Problem")."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    parts = cls.__module__.split(".")
    if parts[:2] == ["plugin", "api"]:
        prefix = ""
    elif parts[0] == "plugin":
        prefix = parts[1].title().replace("_", "")
    else:
        prefix = "".join(p.title().replace("_", "") for p in parts[1:2])
    return prefix + name


def _problem(status: int, headers: dict | None = None) -> dict:
    response = {"description": HTTPStatus(status).phrase,
                "content": {PROBLEM: {"schema": "Problem"}}}
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "integer", "minimum": 1}}}


def _path_parameters(rule: Rule) -> list[dict]:
    parameters = []
    for match in _ARGUMENT.finditer(rule.rule):
        converter = match.group("converter") or "default"
        schema = ({"type": "integer", "minimum": 0, "maximum": MAX_ID} if converter == "int"
                  else {"type": "string"})
        parameters.append({"in": "path", "name": match.group("name"), "required": True, "schema": schema})
    return parameters


def _operation(op: Operation, rule: Rule) -> dict:
    parameters = _path_parameters(rule)
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    for extra in op.query_extra:
        parameters.append({"in": "query", "name": extra.name, "required": extra.required,
                           "description": extra.description, "schema": {"type": "string"}})
    for header in op.headers:
        schema: dict = {"type": "string"}
        if header.pattern:
            schema["pattern"] = header.pattern
        if header.max_length:
            schema["maxLength"] = header.max_length
        parameters.append({"in": "header", "name": header.name, "required": header.required,
                           "description": header.description, "schema": schema})
    success: dict = {"description": op.summary}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": op.response}}
    if op.response_headers:
        success["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                              for name, text in op.response_headers.items()}
    problems = set(op.problems)
    if op.query is not None or op.body is not None:
        problems.add(422)
    if op.security:
        problems.add(401)
    if op.rate_limited:
        problems.add(429)
    if rule.arguments:
        problems.add(404)
    responses = {str(op.status): success}
    for status in sorted(problems):
        responses[str(status)] = _problem(status, _RETRY_AFTER if status in (409, 429) else None)
    declared = {"summary": op.summary, "tags": [op.tag], "responses": responses,
                "operationId": rule.endpoint.replace(".", "_")}
    if op.description:
        declared["description"] = op.description
    if parameters:
        declared["parameters"] = parameters
    if op.body is not None:
        declared["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    if op.security:
        declared["security"] = [{name: []} for name in op.security]
    return declared


def decimal_as_string(_converter, field, **_kw) -> dict:
    """A ``Decimal(as_string=True)`` is a string in the answer (money, exactly: "10.00"); apispec calls
    every Decimal a number, which the answers would then contradict. A field that states its own type
    in its metadata keeps it."""
    if isinstance(field, fields.Decimal) and field.as_string and "type" not in field.metadata:
        return {"type": "string"}
    return {}


def build_document(app: Flask) -> dict:
    settings = app.config["STORECARE_SETTINGS"]
    marshmallow = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(title="Storecare API", version="1", openapi_version="3.1.0",
                   plugins=[FlaskPlugin(), marshmallow],
                   info={"description": DESCRIPTION}, servers=[{"url": settings.app_url}], tags=list(TAGS))
    marshmallow.converter.add_attribute_function(decimal_as_string)
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.schema("Problem", schema=ProblemSchema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions.get(rule.endpoint)
        op = operation_of(view) if view is not None else None
        if op is None:
            continue
        methods = [m for m in METHODS if m in (rule.methods or ())]
        spec.path(view=view, app=app, operations={m.lower(): _operation(op, rule) for m in methods})
    return spec.to_dict()


def document(app: Flask) -> dict:
    if DOCUMENT_KEY not in app.extensions:
        app.extensions[DOCUMENT_KEY] = build_document(app)
    return app.extensions[DOCUMENT_KEY]


@bp.get("/openapi.json")
def openapi_json():
    response = jsonify(document(current_app._get_current_object()))
    response.cache_control.public, response.cache_control.max_age = True, 300
    return response
