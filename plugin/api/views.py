"""The merchant API (/api/v1): the merchant's own scripts read their shop's orders and customers.

Authentication: ``Authorization: Bearer <key>``, a key the merchant created in the admin (API keys).
Every read is scoped to the key's shop. No cookies, so no CSRF and no CORS: it is called from servers.
Requests count against ``STORECARE_RATE_LIMIT_MERCHANT_API`` per key (``plugin.api.feature``).
"""
from __future__ import annotations

from flask import Blueprint, g, request

from plugin.api import service
from plugin.api.operations import operation
from plugin.api.schemas import (
    CustomerListSchema,
    CustomerSchema,
    CustomersQuery,
    OrderListSchema,
    OrderSchema,
    OrdersQuery,
)
from plugin.extensions import db
from plugin.problems import Problem, problem_response

bp = Blueprint("merchant_api", __name__, url_prefix="/api/v1")
INVALID_KEY = "urn:storecare:problem:api-key-invalid"
SECURITY = ("merchantKey",)


@bp.before_request
def _authenticate() -> None:
    g.pop("api_key", None)  # an app context may outlive a request (tests): start clean
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="storecare"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise Problem(401, "Unauthorized", "Send your API key: Authorization: Bearer <key>.", INVALID_KEY,
                      headers=challenge)
    try:
        g.api_key = service.authenticate(db, presented.strip())
    except service.InvalidApiKey as exc:
        raise Problem(401, "Unauthorized", str(exc), INVALID_KEY,
                      headers={"WWW-Authenticate": 'Bearer realm="storecare", error="invalid_token"'}) from None


def key_of_request() -> str:
    """The rate-limit key: the API key (authenticated before the view runs)."""
    return f"api-key:{g.api_key.id}"


@bp.errorhandler(service.RecordNotFound)
def _not_found(exc: service.RecordNotFound):
    return problem_response(404, "Not Found", str(exc))


@bp.get("/orders")
@operation(summary="List orders", tag="Merchant API", query=OrdersQuery, response=OrderListSchema,
           security=SECURITY, rate_limited=True)
def orders(query):
    """The shop's orders, newest first, a page at a time."""
    with db.uow() as session:
        return service.list_orders(session, g.api_key.shop_id, **query)


@bp.get("/orders/<int:order_id>")
@operation(summary="One order", tag="Merchant API", response=OrderSchema, security=SECURITY,
           problems=(404,), rate_limited=True)
def order(order_id: int):
    """An order with its line items and refunds."""
    with db.uow() as session:
        return service.get_order(session, g.api_key.shop_id, order_id)


@bp.get("/customers")
@operation(summary="List customers", tag="Merchant API", query=CustomersQuery, response=CustomerListSchema,
           security=SECURITY, rate_limited=True)
def customers(query):
    """The shop's customers, newest first, a page at a time."""
    with db.uow() as session:
        return service.list_customers(session, g.api_key.shop_id, **query)


@bp.get("/customers/<int:customer_id>")
@operation(summary="One customer", tag="Merchant API", response=CustomerSchema, security=SECURITY,
           problems=(404,), rate_limited=True)
def customer(customer_id: int):
    with db.uow() as session:
        return service.get_customer(session, g.api_key.shop_id, customer_id)
