"""Declared operations: a JSON endpoint's query string, body and answer as marshmallow schemas.

``@operation(...)`` on a view parses the query string and the JSON body with the declared schemas
(bad input: a 422 problem document naming each field, from ``plugin/problems.py``), passes them to the
view as ``query`` and ``body``, and dumps what the view returns with the response schema. The same
declaration is what ``plugin/api/openapi.py`` describes at ``/api/openapi.json``, so the document and
the behaviour cannot drift apart::

    @bp.get("/orders")
    @operation(summary="List orders", tag="Orders", query=OrdersQuery, response=OrderListSchema,
               security=("merchantKey",))
    def orders(query):
        return service.list_orders(g.api_key.shop_id, **query)

A view may return a ``Reply`` (another status, headers, or a marshmallow ``Context`` for the dump,
such as the locale money is formatted for) or a finished ``Response``, which passes through as it is.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, wraps

import orjson
from flask import Response, jsonify, request
from marshmallow import Schema, ValidationError
from marshmallow.experimental.context import Context

OPERATION_ATTR = "storecare_operation"


@dataclass(frozen=True)
class Header:
    """A request header an operation reads, for the document (the view reads it itself)."""

    name: str
    description: str
    required: bool = False
    pattern: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    # Problem statuses the operation may answer besides those its declaration implies (422 for a
    # query or body, 401 for security, 429 when rate limited): 404, 409 ...
    problems: tuple[int, ...] = ()
    security: tuple[str, ...] = ()  # names of the document's security schemes, any one of which works
    headers: tuple[Header, ...] = ()
    query_extra: tuple[Header, ...] = ()  # query parameters read outside the schema (the proxy's)
    rate_limited: bool = False
    description: str | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)  # name -> description

    def with_(self, **changes) -> Operation:
        return replace(self, **changes)


@dataclass(frozen=True)
class Reply:
    data: object
    status: int | None = None
    headers: Mapping[str, str] | None = None
    context: Mapping | None = None  # marshmallow's Context while the response schema dumps ``data``
    # ``data`` is already the answer's JSON document, built by the view in the response schema's shape
    # (a read asked for on every page view, whose dump cost more than the rest of its work). The schema
    # still documents it, and the schemathesis run checks every answer against the document.
    dumped: bool = False


def operation_of(view: Callable) -> Operation | None:
    return getattr(view, OPERATION_ATTR, None)


def load_query(schema: type[Schema]) -> dict:
    return schema().load(request.args)


def load_body(schema: type[Schema]) -> dict:
    """The JSON body loaded with ``schema``; a body that is not a JSON object is a 422 naming ``body``."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        message = "The request body must be a JSON object (Content-Type: application/json)."
        raise ValidationError({"body": [message]})
    return schema().load(data)


@cache
def _dumper(schema: type[Schema]) -> Schema:
    """One instance per response schema, made once: making a schema (its fields, nested ones included)
    costs more than dumping a small answer with it. Dumping changes nothing in the instance, and the
    context a dump reads is the ``Context`` around it (a context variable), so threads share it."""
    return schema()


def respond(op: Operation, result) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result)
    if op.response is None:
        response = Response(status=reply.status or op.status)
    else:
        if reply.dumped:
            # plain JSON types only, so orjson writes it (a fifth of the time of Flask's encoder, which
            # was 4 % of a loaded storefront read); keys keep the view's order
            response = Response(orjson.dumps(reply.data), mimetype="application/json")
        else:
            with Context(dict(reply.context or {})):
                body = _dumper(op.response).dump(reply.data)
            response = jsonify(body)
        response.status_code = reply.status or op.status
    for name, value in (reply.headers or {}).items():
        response.headers[name] = value
    return response


def operation(**declaration) -> Callable[[Callable], Callable]:
    """Declare a view's inputs and answer (``Operation``'s fields); see the module's docstring."""
    op = Operation(**declaration)
    return lambda func: serving(op, func)


def serving(op: Operation, func: Callable) -> Callable:
    """``func`` as a view of ``op``: inputs parsed before it runs, its answer dumped after."""

    @wraps(func)
    def view(*args, **kwargs):
        if op.query is not None:
            kwargs["query"] = load_query(op.query)
        if op.body is not None:
            kwargs["body"] = load_body(op.body)
        return respond(op, func(*args, **kwargs))

    setattr(view, OPERATION_ATTR, op)
    return view


def declare(view: Callable, op: Operation) -> Callable:
    """Attach (or replace) the operation a view is described by, e.g. once a mount adds its security."""
    setattr(view, OPERATION_ATTR, op)
    return view
