"""One way to mount a storefront endpoint: declared once, served under the direct API and the proxy.

A feature writes its storefront endpoints with a ``StorefrontRoutes`` and names it in its ``Feature``
(``storefront=("plugin.loyalty.storefront:routes",)``)::

    routes = StorefrontRoutes("loyalty")

    @routes.get("/loyalty/balance", summary="The shopper's points", response=BalanceSchema)
    def balance():
        return service.balance(current_shopper())

    @routes.post("/loyalty/redemptions", summary="Redeem a reward", body=RedeemSchema,
                 response=RedemptionSchema, status=201)
    def redeem(body):
        return service.redeem(current_shopper(), body["reward_id"])

``mount_storefront`` (called by ``install_features``) serves each endpoint twice:

- ``/storefront/api/v1<rule>``: the direct API the widgets call from the store's pages. The shopper
  is named by the ``X-Storecare-Shopper`` token (WooCommerce, the sandbox) or a proxy signature. CORS
  answers the shop's own storefront origins (and ours): preflights for GET and POST with the headers
  the widgets send, no credentials, never a wildcard.
- ``/proxy/api/v1<rule>``: Shopify's app proxy (``/apps/storecare/api/v1<rule>`` on the store), whose
  signature is the only identity it trusts. Same-origin for the storefront: no CORS.

Either way the view calls ``current_shopper()`` for one ``Shopper``; the query string and body are
parsed and the answer dumped by the declared schemas (``plugin/api/operations.py``), so both mounts
are in the OpenAPI document. Every request counts against ``STORECARE_RATE_LIMIT_STOREFRONT`` per
shop and shopper, both mounts together (a guest: per shop and address; a request naming nobody we can
trust: per address). Every POST needs an ``Idempotency-Key`` header (``idempotency.py``): a retry
gets the first answer and the endpoint acts once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_babel import gettext
from marshmallow import Schema, ValidationError
from sqlalchemy import or_, select
from werkzeug.exceptions import HTTPException

from plugin.api.operations import Header, Operation, declare, serving
from plugin.extensions import db
from plugin.problems import Problem, unexpected_error_response
from plugin.rate_limits import client_address, limited
from plugin.shops.models import Shop
from plugin.storefront import idempotency
from plugin.storefront.identity import (
    IDENTITY_SOURCES,
    PROXY_SOURCES,
    TOKEN_HEADER,
    Shopper,
    ShopperTokenError,
    SignInRequired,
    identify_shopper,
)

TOKEN_PROBLEM = "urn:storecare:problem:shopper-token-invalid"
SIGN_IN_PROBLEM = "urn:storecare:problem:sign-in-required"
IDEMPOTENCY_PROBLEM = "urn:storecare:problem:idempotency-key"
CHALLENGE = {"WWW-Authenticate": 'Storecare-Shopper realm="storefront"'}
PREFLIGHT_MAX_AGE = "600"
# What the widgets send; a preflight is answered for these.
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = f"{TOKEN_HEADER}, {idempotency.HEADER}, Content-Type, Accept, Accept-Language, X-Request-Id"
CORS_EXPOSED = "X-Request-Id, Retry-After, Idempotent-Replayed"
REPLAYED = "Idempotent-Replayed"
PROXY_PARAMS = (  # what Shopify's app proxy adds to every forwarded query (the signature covers them)
    Header("shop", "The shop's myshopify.com domain.", required=True),
    Header("logged_in_customer_id", "The signed-in customer's id; empty for a guest.", required=True),
    Header("path_prefix", "The proxy's path on the storefront, e.g. /apps/storecare.", required=True),
    Header("timestamp", "Seconds since the epoch; at most 90 s old.", required=True),
)


# -- who is shopping ------------------------------------------------------------------------------

def sign_in_required(title: str | None = None, detail: str | None = None) -> Problem:
    """The widget answers this problem type with its sign-in prompt; the texts are in the shopper's
    language, as every problem the widget may show."""
    return Problem(401, title or gettext("Sign in required"), detail or gettext("Sign in to the store first."),
                   type_=SIGN_IN_PROBLEM, headers=CHALLENGE)


def _identify() -> Shopper | Problem:
    sources = g.get("storefront_sources", IDENTITY_SOURCES)
    try:
        shopper = identify_shopper(request.headers, request.args, sources=sources)
    except SignInRequired:
        return sign_in_required()
    except ShopperTokenError as exc:
        return Problem(401, "Unauthorized", str(exc), type_=TOKEN_PROBLEM, headers=CHALLENGE)
    g.storefront_shop_id = shopper.shop_id
    return shopper


def current_shopper() -> Shopper:
    """The shopper of this storefront request, from the mount's identity sources (the token or a proxy
    signature on the direct API; the signature alone on the proxy), verified once per request.

    Nobody named (a guest's page sends no token): a 401 ``sign-in-required`` problem, which the widget
    answers with its sign-in prompt. A token or signature that cannot be trusted: a 401
    ``shopper-token-invalid`` problem. A guest of the shop (named, without a customer) is a Shopper
    whose ``is_guest`` is true: endpoints for customers refuse it themselves."""
    if "storefront_shopper" not in g:
        g.storefront_shopper = _identify()
    found = g.storefront_shopper
    if isinstance(found, Problem):
        raise found
    return found


def _forwarded_client() -> str:
    """Through Shopify's proxy the request comes from Shopify: the shopper's address is the first
    ``X-Forwarded-For`` entry, which Shopify sets."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    return forwarded[:64] or client_address()


def _rate_key() -> str:
    """Storefront requests are counted per shop and shopper, both mounts together."""
    address = _forwarded_client() if g.get("storefront_mount") == "proxy" else client_address()
    try:
        shopper = current_shopper()
    except Problem:
        return f"address:{address}"
    return f"shop:{shopper.shop_id}:" + (f"customer:{shopper.platform_customer_id}" if not shopper.is_guest
                                         else f"guest:{address}")


# -- declaring endpoints --------------------------------------------------------------------------

@dataclass(frozen=True)
class StorefrontEndpoint:
    rule: str  # under the mounts' prefixes, e.g. "/orders"
    name: str  # the endpoint's name within the mount's blueprint
    methods: tuple[str, ...]
    func: Callable
    operation: Operation


@dataclass
class StorefrontRoutes:
    """A feature's storefront endpoints (plain data until ``mount_storefront``)."""

    name: str  # unique among features' storefront routes, e.g. "loyalty"
    endpoints: list[StorefrontEndpoint] = field(default_factory=list)

    def route(self, rule: str, *, methods: tuple[str, ...], summary: str, query: type[Schema] | None = None,
              body: type[Schema] | None = None, response: type[Schema] | None = None, status: int = 200,
              problems: tuple[int, ...] = (), description: str | None = None, name: str | None = None):
        if not rule.startswith("/"):
            raise ValueError(f"storefront rule {rule!r} must start with '/'")
        if set(methods) - {"GET", "POST"}:
            raise ValueError(f"storefront endpoints are GET or POST, not {methods}")

        def decorate(func: Callable) -> Callable:
            op = Operation(summary=summary, tag="Storefront", query=query, body=body, response=response,
                           status=status, problems=problems, description=description, rate_limited=True)
            self.endpoints.append(StorefrontEndpoint(rule, name or func.__name__, tuple(methods), func, op))
            return func

        return decorate

    def get(self, rule: str, **kwargs):
        return self.route(rule, methods=("GET",), **kwargs)

    def post(self, rule: str, **kwargs):
        return self.route(rule, methods=("POST",), **kwargs)


# -- mounting -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mount:
    name: str
    prefix: str
    sources: tuple
    security: str
    cors: bool


MOUNTS = (
    Mount("api", "/storefront/api/v1", IDENTITY_SOURCES, "shopperToken", cors=True),
    Mount("proxy", "/proxy/api/v1", PROXY_SOURCES, "appProxySignature", cors=False),  # app.yaml app_proxy
)


def _documented(endpoint: StorefrontEndpoint, mount: Mount) -> Operation:
    op = endpoint.operation
    problems = set(op.problems) | {401}
    headers: tuple[Header, ...] = ()
    if "POST" in endpoint.methods:
        problems |= {400, 409}
        headers = (Header(idempotency.HEADER, "A new random value (a UUID) per shopper action; a retry with "
                          "the same key and body returns the first answer.", required=True,
                          pattern=idempotency.KEY_PATTERN, max_length=255),)
    return op.with_(security=(mount.security,), problems=tuple(sorted(problems)), headers=headers,
                    query_extra=PROXY_PARAMS if mount.name == "proxy" else (),
                    response_headers={REPLAYED: "true when this is the stored answer of an earlier request "
                                                "with the same Idempotency-Key."}
                    if "POST" in endpoint.methods else {})


def _idempotent(endpoint_id: str, run: Callable[[], Response]) -> Response:
    """Run a POST once per (shop, shopper, Idempotency-Key); see ``idempotency``."""
    shopper = current_shopper()
    try:
        key = idempotency.check_key(request.headers.get(idempotency.HEADER))
        stored = idempotency.begin(db, shopper, key, idempotency.fingerprint(endpoint_id, request.get_data()))
    except idempotency.KeyInvalid as exc:
        raise Problem(400, "Bad Request", str(exc), type_=IDEMPOTENCY_PROBLEM,
                      errors={idempotency.HEADER: [str(exc)]}) from None
    except idempotency.KeyReused as exc:
        raise Problem(422, "Unprocessable Content", str(exc), type_=IDEMPOTENCY_PROBLEM,
                      errors={idempotency.HEADER: [str(exc)]}) from None
    except idempotency.KeyInProgress as exc:
        raise Problem(409, "Conflict", str(exc), type_=IDEMPOTENCY_PROBLEM,
                      headers={"Retry-After": "1"}) from None
    if stored is not None:
        return Response(stored.body, status=stored.status, content_type=stored.content_type,
                        headers={REPLAYED: "true"})
    try:
        response = run()
    except Exception as exc:
        if isinstance(exc, (Problem, HTTPException, ValidationError)):
            idempotency.release(db, shopper, key)  # refused before acting: the shopper may try again
            raise
        response = unexpected_error_response()  # what it did is unknown: never act again for this key
        idempotency.finish(db, shopper, key, 500, response.content_type, response.get_data(as_text=True))
        return response
    if response.status_code >= 400:
        idempotency.release(db, shopper, key)
    else:
        idempotency.finish(db, shopper, key, response.status_code, response.content_type,
                           response.get_data(as_text=True))
    return response


def _view(app: Flask, routes: StorefrontRoutes, endpoint: StorefrontEndpoint, mount: Mount) -> Callable:
    parsed = serving(endpoint.operation, endpoint.func)
    endpoint_id = f"{routes.name}.{endpoint.name}"

    def handle(**kwargs):
        if request.method == "POST":
            return _idempotent(endpoint_id, lambda: parsed(**kwargs))
        return parsed(**kwargs)

    counted = limited(app, handle, "storefront", key=_rate_key, methods=endpoint.methods)

    def view(**kwargs):
        for name in ("storefront_shopper", "storefront_shop_id"):  # an app context may outlive a request
            g.pop(name, None)
        g.storefront_sources, g.storefront_mount = mount.sources, mount.name
        return counted(**kwargs)

    view.__name__ = view.__qualname__ = f"{routes.name}_{endpoint.name}_{mount.name}_view"
    view.__doc__ = endpoint.func.__doc__
    return declare(view, _documented(endpoint, mount))


def mount_storefront(app: Flask, routes: StorefrontRoutes) -> None:
    """Register ``routes`` on ``app`` under both mounts (a blueprint per mount and feature)."""
    if not isinstance(routes, StorefrontRoutes):
        raise TypeError(f"{routes!r} is not a StorefrontRoutes")
    for mount in MOUNTS:
        bp = Blueprint(f"{routes.name}_{mount.name}", __name__, url_prefix=mount.prefix)
        for endpoint in routes.endpoints:
            bp.add_url_rule(endpoint.rule, endpoint=endpoint.name, view_func=_view(app, routes, endpoint, mount),
                            methods=list(endpoint.methods))
        if mount.cors:
            bp.after_request(cors)
        app.register_blueprint(bp)


# -- CORS: only the shop's own storefront and our own origin, never a wildcard, no credentials ---

def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _origin_allowed(origin: str) -> bool:
    settings = current_app.config["STORECARE_SETTINGS"]
    if origin in (_origin(settings.app_url), _origin(request.host_url)):
        return True
    parts = urlsplit(origin)
    if parts.scheme != "https" or not parts.hostname or parts.path or f"https://{parts.netloc}" != origin:
        return False
    with db.uow() as session:
        # A WooCommerce store in a sub-folder is keyed host/path; its pages are still served from the host.
        served_here = or_(Shop.domain == parts.netloc, Shop.domain.startswith(parts.netloc + "/", autoescape=True))
        query = select(Shop.id).where(served_here, Shop.status == "installed")
        shop_id = g.get("storefront_shop_id") if request.method != "OPTIONS" else None  # a preflight names nobody
        if shop_id is not None:  # identified: only that shop's storefront
            query = query.where(Shop.id == shop_id)
        return session.scalar(query.limit(1)) is not None


def cors(response: Response) -> Response:
    """CORS for a storefront answer: only the shop's own storefront and our own origin."""
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not origin or not _origin_allowed(origin.lower()):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response
