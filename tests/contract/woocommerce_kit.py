"""A WooCommerce store simulator over ``responses``, and the contract kits built on it.

``WooSimulator`` serves one or more stores (each at its own base URL) the way WooCommerce REST v3
does: orders and customers built from the official example payloads in tests/fixtures/woocommerce,
paged by number with X-WP-Total / X-WP-TotalPages, ``modified_after`` strictly after, 404s with
WooCommerce's error codes, webhooks and coupons that can be created, and both authentications
checked as the store checks them: Basic auth over https, and over http an OAuth 1.0a signature
recomputed independently of the client (PHP's rawurlencode rules, 15-minute window, nonces used once).
A store can be told to answer with a redirect (``WooStore.redirect``), as a web server in front of
WordPress does for http -> https or www.

``LocalWooServer`` serves the same stores over a real socket on 127.0.0.1, over http or over https with a
certificate from a CA the test made (trustme): for what ``responses`` cannot show, namely where a
connection really goes and what TLS verification does. ``Names`` is a resolver the test controls.

Stores may share a host: ``https://multi.test/storeA`` and ``https://multi.test/storeB`` (a WordPress
multisite in sub-folders) are two stores with their own data, keys, plugin and ``home_url``, and a
webhook's ``X-WC-Webhook-Source`` is its own store's ``home_url('/')``.

A store holds several API keys, as WooCommerce does (``woocommerce_api_keys``): ``issue_key`` is what an
approval on /wc-auth creates, ``delete_key`` what the merchant's "Revoke" under WooCommerce > Settings >
Advanced > REST API does (the key then gets 401 ``woocommerce_rest_authentication_error``). A key's
permissions are enforced (read: GET only). With ``plugin_connection`` set, our WordPress plugin is
installed: its ``connection`` route (which marks the plugin connected) and its key-revoking route.

Webhooks go out the way WooCommerce sends them: a change queues its topics (one per webhook and
resource within a request, as WC_Webhook::process does), and ``WooStore.flush`` delivers the queue
in one burst, as the background queue (Action Scheduler) does: one delivery per active webhook of the
topic, the body built at delivery time (the resource as it is then; ``{"id": N}`` for ``*.deleted``),
signed with the webhook's secret, with WooCommerce's delivery id ``wp_hash(webhook id . second)``, so
two deliveries of one webhook in the same second share it. A delivery answered outside 200-302 counts
as a failure, and a webhook that fails more than five times in a row is disabled (WC_Webhook::
failed_delivery); nothing is retried.

Unit and integration tests use the simulator too (``WooSimulator``, ``build_store``); the contract
suite uses the two kits: an https store and an http one, so OAuth signing is exercised end to end.
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import random
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
import responses

from adapters.base import Connection
from adapters.woocommerce import webhooks as woo_webhooks
from adapters.woocommerce.adapter import WooCommerceAdapter
from adapters.woocommerce.auth import store_key

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "woocommerce"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
KEY, SECRET = "ck_" + "a1" * 20, "cs_" + "b2" * 20
OTHER_KEY, OTHER_SECRET = "ck_" + "c3" * 20, "cs_" + "d4" * 20
OAUTH_WINDOW = 15 * 60
AUTH_SALT = "simulated-wordpress-auth-salt"  # wp_salt('auth') of the simulated sites
MAX_DELIVERY_FAILURES = 5  # woocommerce_max_webhook_delivery_failures
USER_AGENT = "WooCommerce/10.0.2 Hookshot (WordPress/6.8.1)"
Send = Callable[[str, dict, bytes], int]  # (delivery URL, headers, body) -> HTTP status


@functools.cache
def _fixture_text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def fixture(name: str) -> dict:
    """A fresh copy of a fixture file's JSON (tests may change it)."""
    return json.loads(_fixture_text(name))


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def wp_hash(data: str, salt: str = AUTH_SALT) -> str:
    """WordPress's wp_hash(): HMAC-MD5 of the data with the site's auth salt, in hex."""
    return hmac.new(salt.encode(), data.encode(), hashlib.md5).hexdigest()


def delivery_id(webhook_id: int, at: datetime) -> str:
    """WC_Webhook::get_new_delivery_id(): wp_hash(webhook id . strtotime('now')), whole seconds."""
    return wp_hash(f"{webhook_id}{int(at.timestamp())}")


@dataclass
class ApiKey:
    """A row of WooCommerce's ``woocommerce_api_keys``; ``description`` as /wc-auth writes it."""

    key_id: int
    consumer_key: str
    consumer_secret: str
    user_id: int = 1
    permissions: str = "read_write"
    description: str = "Storecare - API (2026-01-15 12:00:00)"

    @property
    def truncated_key(self) -> str:
        return self.consumer_key[-7:]


@dataclass
class WooStore:
    """One store's data and switches. ``fail_next`` answers 503, ``throttle_next`` 429 (Retry-After)."""

    base_url: str
    consumer_key: str = KEY  # key 1; ``keys`` holds every key the store accepts
    consumer_secret: str = SECRET
    keys: dict[str, ApiKey] = field(default_factory=dict)
    admins: set[int] = field(default_factory=lambda: {1})  # users who may edit every user (edit_user)
    plugin_connected_at: float | None = None  # set when Storecare reads the plugin's connection route
    forbidden: set[str] = field(default_factory=set)  # routes ("wc/v3/coupons") a security plugin answers 403
    orders: dict[int, dict] = field(default_factory=dict)
    customers: dict[int, dict] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)  # WordPress users who are not customers (staff)
    refunds: dict[int, list[dict]] = field(default_factory=dict)
    webhooks: dict[int, dict] = field(default_factory=dict)
    coupons: dict[int, dict] = field(default_factory=dict)
    products: dict[int, dict] = field(default_factory=lambda: {  # the example order's two products
        93: {"id": 93, "name": "Woo Single #1", "price": "3.00"},
        22: {"id": 22, "name": "Ship Your Idea", "price": "12.00"}})
    plugin_connection: dict | None = None
    currency: str = "USD"
    home_url: str | None = None
    fail_next: int = 0
    throttle_next: int = 0
    retry_after: str = "0"
    requests: list[str] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    next_id: int = 5000
    before_serve: Callable[[str], None] | None = None  # called with "METHOD /path" (tests: barriers)
    # (path after /wp-json/, query) -> a Location to redirect to, or None: a web server's redirect
    redirect: Callable[[str, dict], str | None] | None = None
    redirect_status: int = 301
    # WordPress serves a theme page instead of the REST API: 404 with "Plain" permalinks (no rewrite
    # rules for /wp-json/), 200 where a security or cache plugin hands out the home page
    theme_page: int | None = None
    fail_with: BaseException | None = None  # raised instead of answering: a network failure (responses only)
    queued: list[tuple[str, int]] = field(default_factory=list)  # (topic, resource id) awaiting delivery
    trashed: dict[int, str] = field(default_factory=dict)  # order id -> its status before the trash

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys[self.consumer_key] = ApiKey(1, self.consumer_key, self.consumer_secret)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def issue_key(self, user_id: int = 1, permissions: str = "read_write",
                  description: str = "Storecare - API (2026-01-15 12:00:00)") -> ApiKey:
        """What approving /wc-auth/v1/authorize creates: a new key pair for the approving user."""
        key = ApiKey(max((k.key_id for k in self.keys.values()), default=0) + 1, "ck_" + secrets.token_hex(20),
                     "cs_" + secrets.token_hex(20), user_id, permissions, description)
        self.keys[key.consumer_key] = key
        return key

    def delete_key(self, key_id: int) -> None:
        """The merchant revokes the key in WooCommerce > Settings > Advanced > REST API."""
        for consumer_key, key in list(self.keys.items()):
            if key.key_id == key_id:
                del self.keys[consumer_key]

    def key_ids(self) -> set[int]:
        return {key.key_id for key in self.keys.values()}

    def add_order(self, order: dict) -> dict:
        self.orders[order["id"]] = order
        return order

    # -- what a merchant or shopper does: the change, and the topics WooCommerce queues for it
    def place_order(self, order: dict) -> dict:
        """A new order (woocommerce_new_order): order.created."""
        self._queue("order.created", self.add_order(order)["id"])
        return order

    def update_order(self, order_id: int, at: datetime, **changes) -> dict:
        """An edit, e.g. a status change (woocommerce_update_order): order.updated, date_modified = at."""
        order = self.orders[order_id]
        order.update(changes, date_modified_gmt=_gmt(at), date_modified=_gmt(at))
        self._queue("order.updated", order_id)
        return order

    def trash_order(self, order_id: int, at: datetime) -> dict:
        """Move to Trash (WC_Order::delete(false), woocommerce_trash_order): order.deleted. The order keeps
        its data with status ``trash`` and date_modified = at (OrdersTableDataStore::trash_order); the
        default listing (``status=any``), X-WP-Total and our adapter leave it out."""
        order = self.orders[order_id]
        self.trashed[order_id] = order["status"]  # _wp_trash_meta_status
        order.update(status="trash", date_modified_gmt=_gmt(at), date_modified=_gmt(at))
        self._queue("order.deleted", order_id)
        return order

    def restore_order(self, order_id: int, at: datetime) -> dict:
        """Restore from the trash (woocommerce_untrash_order): order.restored, never order.updated. The
        order is saved with its old status, so date_modified moves to ``at``."""
        order = self.orders[order_id]
        order.update(status=self.trashed.pop(order_id), date_modified_gmt=_gmt(at), date_modified=_gmt(at))
        self._queue("order.restored", order_id)
        return order

    def delete_order(self, order_id: int) -> None:
        """Delete permanently (WC_Order::delete(true): woocommerce_before_delete_order, woocommerce_delete_order).
        No webhook topic listens to those hooks, so nothing is sent: from the trash, order.deleted went
        out when it was trashed; straight away (REST DELETE with force=true), only a reconciliation can
        notice."""
        self.orders.pop(order_id)
        self.refunds.pop(order_id, None)
        self.trashed.pop(order_id, None)

    def update_customer(self, user_id: int, at: datetime, **changes) -> dict:
        """A profile edit of any WordPress user (profile_update): customer.updated, whatever the user's role:
        WooCommerce only checks the role of a deleted user."""
        user = self.customers.get(user_id) or self.users[user_id]
        user.update(changes, date_modified_gmt=_gmt(at), date_modified=_gmt(at))
        self._queue("customer.updated", user_id)
        return user

    def edit_customer(self, user_id: int, body: dict, at: datetime) -> dict:
        """PUT /customers/{id} (WC_REST_Customers_Controller): each ``meta_data`` entry updates the meta of
        its key in place, or is added with a new id (WC_Data::update_meta_data); the customer is saved
        (date_modified = at): customer.updated."""
        customer = self.customers[user_id]
        for entry in body.get("meta_data") or []:
            held = next((m for m in customer["meta_data"] if m["key"] == entry["key"]), None)
            if held is not None:
                held["value"] = entry["value"]
            else:
                customer["meta_data"].append({"id": self.new_id(), "key": entry["key"], "value": entry["value"]})
        other = {k: v for k, v in body.items() if k not in ("meta_data", "id")}
        return self.update_customer(user_id, at, **other)

    def _queue(self, topic: str, resource_id: int) -> None:
        if (topic, resource_id) not in self.queued:  # WC_Webhook::is_already_processed, within a request
            self.queued.append((topic, resource_id))

    # -- the background delivery
    def flush(self, send: Send, at: datetime) -> list[int]:
        """Deliver every queued topic to every active webhook of it, all at ``at`` (one burst); the
        statuses answered, in order."""
        queued, self.queued = self.queued, []
        statuses = []
        for topic, resource_id in queued:
            for hook in [h for h in self.webhooks.values() if h["topic"] == topic]:
                if hook.get("status") != "active":
                    continue
                headers, body = self.delivery(hook, resource_id, at)
                status = send(hook["delivery_url"], headers, body)
                statuses.append(status)
                self._count(hook, status)
        return statuses

    def delivery(self, hook: dict, resource_id: int, at: datetime) -> tuple[dict[str, str], bytes]:
        """What WC_Webhook::deliver sends for one resource: the body as the resource is now."""
        resource, event = hook["topic"].split(".")
        if event == "deleted":
            payload: dict = {"id": resource_id}
        else:
            payload = self.orders[resource_id] if resource == "order" else self._user(resource_id)
        body = json.dumps(payload).encode()
        return webhook_headers(self, hook["topic"], hook.get("secret", ""), body, webhook_id=hook["id"], at=at), body

    def _user(self, user_id: int) -> dict | None:
        return self.customers.get(user_id) or self.users.get(user_id)

    @staticmethod
    def _count(hook: dict, status: int) -> None:
        """WC_Webhook::log_delivery / failed_delivery: 200-302 resets the count; past five failures the
        webhook is disabled."""
        if 200 <= status < 303:
            hook["failure_count"] = 0
        elif hook.get("failure_count", 0) > MAX_DELIVERY_FAILURES:
            hook["status"] = "disabled"
        else:
            hook["failure_count"] = hook.get("failure_count", 0) + 1


def make_customer(customer_id: int, email: str, created: datetime, modified: datetime | None) -> dict:
    data = fixture("customer")
    data.update(id=customer_id, email=email, first_name=f"First{customer_id}", last_name=f"Last{customer_id}",
                username=f"user{customer_id}", date_created_gmt=_gmt(created), date_created=_gmt(created),
                date_modified_gmt=_gmt(modified) if modified else None, date_modified=_gmt(modified) if modified else None)
    data["billing"] = {**data["billing"], "email": email}
    data.pop("_links", None)
    return data


# Every order status of WooCommerce core (wc_get_order_statuses(), without the wc- prefix), and the ones
# it counts as paid (wc_get_is_paid_statuses()). checkout-draft is the block checkout's order in progress.
WOO_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                "checkout-draft")
WOO_PAID_STATUSES = ("processing", "completed")


def make_user(user_id: int, email: str, role: str, created: datetime) -> dict:
    """A WordPress user who is not a customer (an administrator, a shop manager): GET /customers returns
    them only with ``role=all``."""
    data = make_customer(user_id, email, created, created)
    data.update(role=role, username=email.split("@")[0], is_paying_customer=False)
    return data


def make_order(order_id: int, *, status: str = "processing", customer: dict | None = None,
               email: str = "guest@example.com", created: datetime = NOW, modified: datetime | None = None,
               refunds: tuple[tuple[int, str], ...] = (), currency: str = "USD", total: str | None = None) -> dict:
    """An order from the official example, its totals and lines kept (total 29.35, lines 6.00 + 12.00)
    unless ``total`` is given."""
    data = copy.deepcopy(fixture("order"))
    modified = modified or created
    if total is not None:
        data["total"] = total
    data.update(id=order_id, number=str(order_id), status=status, currency=currency,
                customer_id=customer["id"] if customer else 0,
                date_created_gmt=_gmt(created), date_created=_gmt(created),
                date_modified_gmt=_gmt(modified), date_modified=_gmt(modified),
                refunds=[{"id": rid, "reason": "damaged", "total": f"-{amount}"} for rid, amount in refunds])
    paid = status in ("processing", "completed", "refunded")
    data["date_paid_gmt"] = data["date_paid"] = _gmt(created + timedelta(minutes=2)) if paid else None
    done = status == "completed"
    data["date_completed_gmt"] = data["date_completed"] = _gmt(modified) if done else None
    billing_email = customer["email"] if customer else email
    data["billing"] = {**data["billing"], "email": billing_email}
    for line in data["line_items"]:
        line["id"] = order_id * 10 + line["id"] % 10
    data.pop("_links", None)
    return data


def build_store(base_url: str, *, seed: int, orders: int, customers: int, first_id: int = 100,
                consumer_key: str = KEY, consumer_secret: str = SECRET) -> WooStore:
    """A store with a varied, deterministic history: guests, every status, partial and full refunds."""
    rng = random.Random(seed)
    store = WooStore(base_url=base_url, consumer_key=consumer_key, consumer_secret=consumer_secret)
    host = urlsplit(base_url).hostname
    store.users = {1: make_user(1, f"admin@{host}", "administrator", NOW - timedelta(days=500)),  # who installed WordPress
                   2: make_user(2, f"manager@{host}", "shop_manager", NOW - timedelta(days=450))}
    people = []
    for n in range(customers):
        cid = first_id + n
        created = NOW - timedelta(days=400 - n * 3)
        modified = None if n % 5 == 0 else created + timedelta(days=rng.randint(1, 300), seconds=n)
        people.append(store.customers.setdefault(cid, make_customer(cid, f"shopper{cid}@example.com", created,
                                                                    modified)))
    statuses = ["processing", "completed", "completed", "on-hold", "pending", "cancelled", "failed"]
    for n in range(orders):
        oid = first_id + 1000 + n
        created = NOW - timedelta(days=300 - n * 4, minutes=rng.randint(0, 600))
        modified = created + timedelta(hours=rng.randint(1, 2000), seconds=n)
        customer = None if n % 4 == 0 else rng.choice(people)
        status, refunds = rng.choice(statuses), ()
        if n % 9 == 3:
            status, refunds = "completed", ((oid + 50000, "10.00"),)
        elif n % 11 == 5:
            status, refunds = "refunded", ((oid + 50000, "20.00"), (oid + 60000, "9.35"))
        store.add_order(make_order(oid, status=status, customer=customer, created=created, modified=modified,
                                   refunds=refunds, email=f"guest{oid}@example.com"))
        store.refunds[oid] = [_refund_row(rid, amount, modified) for rid, amount in refunds]
    return store


def refund_order(store: WooStore, order_id: int, amount: str, when: datetime) -> dict:
    """A refund made in the WooCommerce admin, as WooCommerce records it: a row under the order (its
    array, and /orders/{id}/refunds), the order modified, and an order refunded in full put in the
    ``refunded`` status (wc_order_fully_refunded); a partial refund leaves the status as it was."""
    order = store.orders[order_id]
    refund_id = store.new_id()
    order["refunds"].append({"id": refund_id, "reason": "damaged", "total": f"-{amount}"})
    store.refunds.setdefault(order_id, []).append(_refund_row(refund_id, amount, when))
    refunded = sum(-Decimal(r["total"]) for r in order["refunds"])
    if refunded >= Decimal(order["total"]):
        order["status"] = "refunded"
    order["date_modified_gmt"] = order["date_modified"] = _gmt(when)
    return order


def _refund_row(refund_id: int, amount: str, when: datetime) -> dict:
    data = fixture("order-refund")
    data.update(id=refund_id, amount=amount, reason="damaged", date_created_gmt=_gmt(when), date_created=_gmt(when))
    data.pop("_links", None)
    return data


class WooSimulator:
    """Routes ``responses`` calls for every registered store's base URL to that store."""

    def __init__(self, mock: responses.RequestsMock, clock=time.time):
        self._mock, self._clock, self.stores = mock, clock, {}

    def add(self, store: WooStore) -> WooStore:
        self.stores[store.base_url] = store
        pattern = re.compile(re.escape(store.base_url) + r"/wp-json/.*")
        for method in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
            self._mock.add_callback(method, pattern, callback=lambda request, s=store: self._serve(s, request))
        return store

    def _serve(self, store: WooStore, request) -> tuple[int, dict, str]:
        parts = urlsplit(request.url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))  # PHP keeps the last of repeated keys
        store.requests.append(f"{request.method} {parts.path}")
        if store.before_serve is not None:
            store.before_serve(f"{request.method} {parts.path}")
        path = parts.path[len(urlsplit(store.base_url).path) + len("/wp-json/"):]
        location = store.redirect(path, query) if store.redirect is not None else None
        if location is not None:  # the web server answers before WordPress sees the request
            return store.redirect_status, {"Location": location, "Content-Type": "text/html"}, "Moved"
        if store.fail_with is not None:
            raise store.fail_with
        if store.theme_page is not None:
            return store.theme_page, {"Content-Type": "text/html; charset=UTF-8"}, "<html><body>Shop</body></html>"
        caller = self._authenticated(store, request, parts, query)
        if caller is None:
            return _error(401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match.")
        if (caller.permissions == "read") != (request.method in ("GET", "HEAD", "OPTIONS")) \
                and caller.permissions != "read_write":
            return _error(401, "woocommerce_rest_authentication_error", "The API key provided does not have the "
                          "proper permissions.")
        if store.throttle_next:
            store.throttle_next -= 1
            return 429, {"Retry-After": store.retry_after}, json.dumps({"code": "too_many_requests"})
        if store.fail_next:
            store.fail_next -= 1
            return _error(503, "unavailable", "Service Unavailable")
        if any(path.startswith(route) for route in store.forbidden):
            return _error(403, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
        body = json.loads(request.body) if request.body else {}
        return _route(store, request.method, path, query, body, caller)

    def _authenticated(self, store: WooStore, request, parts, query: dict) -> ApiKey | None:
        """The key the request authenticates with (WC_REST_Authentication), or None."""
        if parts.scheme == "https":
            header = request.headers.get("Authorization", "")
            if header:
                try:
                    consumer_key, _, consumer_secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return None
            else:
                consumer_key, consumer_secret = query.get("consumer_key", ""), query.get("consumer_secret", "")
            key = store.keys.get(consumer_key)
            return key if key is not None and hmac.compare_digest(key.consumer_secret, consumer_secret) else None
        return self._oauth_valid(store, request.method, parts, query)

    def _oauth_valid(self, store: WooStore, method: str, parts, query: dict) -> ApiKey | None:
        """WC_REST_Authentication::check_oauth_signature, in Python."""
        params = dict(query)
        signature = params.pop("oauth_signature", "")
        key = store.keys.get(params.get("oauth_consumer_key", ""))
        if key is None:
            return None
        if params.get("oauth_signature_method") not in ("HMAC-SHA1", "HMAC-SHA256"):
            return None
        timestamp, nonce = params.get("oauth_timestamp", ""), params.get("oauth_nonce", "")
        if not timestamp.isdigit() or abs(self._clock() - int(timestamp)) > OAUTH_WINDOW or not nonce:
            return None
        if nonce in store.nonces:
            return None
        pairs = [_rfc3986(f"{_normal(k)}={_normal(v)}") for k, v in sorted(params.items())]
        base = f"{method}&{_rfc3986(f'{parts.scheme}://{parts.netloc}{parts.path}')}&{'%26'.join(pairs)}"
        algorithm = hashlib.sha256 if params["oauth_signature_method"] == "HMAC-SHA256" else hashlib.sha1
        expected = base64.b64encode(hmac.new(f"{key.consumer_secret}&".encode(), base.encode(), algorithm).digest())
        if not hmac.compare_digest(expected, signature.replace(" ", "+").encode()):
            return None
        store.nonces.add(nonce)
        return key


def _normal(text: str) -> str:
    """PHP's rawurlencode(rawurldecode($text)): how WooCommerce normalises each OAuth parameter."""
    return quote(unquote(text), safe="~")


def _rfc3986(text: str) -> str:
    """wc_rest_urlencode_rfc3986: the second encoding of the signature base string."""
    return quote(text, safe="~")


def _error(status: int, code: str, message: str) -> tuple[int, dict, str]:
    return status, {"Content-Type": "application/json"}, json.dumps({"code": code, "message": message,
                                                                      "data": {"status": status}})


def _ok(data, headers: dict | None = None, status: int = 200) -> tuple[int, dict, str]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data)


def _with_status(orders: list[dict], status: str) -> list[dict]:
    """The orders endpoint's ``status``: ``any`` (the default) is every status but the trash."""
    if status == "any":
        return [o for o in orders if o["status"] != "trash"]
    wanted = set(status.split(","))
    return [o for o in orders if o["status"] in wanted]


def _page(rows: list[dict], query: dict) -> tuple[int, dict, str]:
    """A page of ``rows`` with WooCommerce's totals; ``_fields`` (WordPress's) keeps only the named fields."""
    per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
    if not 1 <= per_page <= 100:
        return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
    rows = sorted(rows, key=lambda r: r["id"], reverse=query.get("order") == "desc")
    pages = -(-len(rows) // per_page)
    if page > max(pages, 1):
        return _error(400, "rest_post_invalid_page_number", "The page number requested is larger than the number of pages available.")
    chunk = rows[(page - 1) * per_page:page * per_page]
    if query.get("_fields"):
        names = query["_fields"].split(",")
        chunk = [{name: row[name] for name in names if name in row} for row in chunk]
    return _ok(chunk, {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)})


def _route(store: WooStore, method: str, path: str, query: dict, body: dict, caller: ApiKey) -> tuple[int, dict, str]:
    if path.startswith("wc-storecare/v1/"):
        return _plugin(store, method, path.removeprefix("wc-storecare/v1/"), body, caller)
    match = re.fullmatch(r"wc/v3/(\w+)(?:/(\d+))?(?:/(refunds))?", path)
    if not match:
        return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
    resource, ident, sub = match.group(1), match.group(2), match.group(3)
    if resource == "system_status" and method == "GET":
        status = fixture("system_status")
        status["environment"]["home_url"] = store.home_url or store.base_url
        status["settings"]["currency"] = store.currency
        return _ok(status)
    if resource == "orders" and method == "GET":
        if ident is None:
            rows = _with_status(list(store.orders.values()), query.get("status", "any"))
            if "modified_after" in query:
                bound = datetime.fromisoformat(query["modified_after"]).replace(tzinfo=UTC)
                rows = [o for o in rows if datetime.fromisoformat(o["date_modified_gmt"]).replace(tzinfo=UTC) > bound]
            return _page(rows, query)
        order = store.orders.get(int(ident))
        if order is None:
            return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return _ok(store.refunds.get(order["id"], []) if sub else order)
    if resource == "products" and method == "GET" and ident is not None:
        product = store.products.get(int(ident))
        return _ok(product) if product else _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
    if resource == "customers" and method == "PUT" and ident is not None:
        customer = store.customers.get(int(ident))
        if customer is None:
            return _error(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        return _ok(store.edit_customer(int(ident), body, datetime.now(UTC)))
    if resource == "customers" and method == "GET":
        if ident is None:  # role defaults to "customer"; "all" lists every WordPress user
            role = query.get("role", "customer")
            users = [*store.customers.values(), *store.users.values()]
            return _page([u for u in users if role == "all" or u.get("role") == role], query)
        customer = store._user(int(ident))
        return _ok(customer) if customer else _error(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
    if resource == "webhooks":
        return _webhooks(store, method, ident, query, body)
    if resource == "coupons":
        return _coupons(store, method, query, body)
    return _error(404, "rest_no_route", "No route was found matching the URL and request method.")


def _plugin(store: WooStore, method: str, route: str, body: dict, caller: ApiKey):
    """Our WordPress plugin's routes (includes/class-storecare-storefront.php), when it is installed."""
    if store.plugin_connection is None:
        return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
    if route == "connection" and method == "GET":
        store.plugin_connected_at = time.time()
        return _ok(store.plugin_connection)
    if route == "keys/revoke" and method == "POST":
        return _ok(_revoke_key(store, body.get("key_id"), caller))
    return _error(404, "rest_no_route", "No route was found matching the URL and request method.")


def _revoke_key(store: WooStore, key_id, caller: ApiKey) -> dict:
    """Storecare_Keys::revoke: a Storecare key, of the caller or of a user the caller may edit."""
    if not isinstance(key_id, int) or isinstance(key_id, bool) or key_id <= 0:
        return {"key_id": key_id, "status": "refused"}
    found = [k for k in store.keys.values() if k.key_id == key_id]
    if not found:
        return {"key_id": key_id, "status": "absent"}
    key = found[0]
    may_edit = key.user_id == caller.user_id or caller.user_id in store.admins
    if not key.description.startswith("Storecare - API (") or not may_edit:
        return {"key_id": key_id, "status": "refused"}
    store.delete_key(key_id)
    return {"key_id": key_id, "status": "revoked"}


def _webhooks(store: WooStore, method: str, ident: str | None, query: dict, body: dict):
    if method == "GET" and ident is None:
        return _page([{k: v for k, v in w.items() if k != "secret"} for w in store.webhooks.values()], query)
    if method == "POST" and ident is None:
        hook = {**fixture("webhook"), "id": store.new_id(), **body}
        hook.pop("_links", None)
        store.webhooks[hook["id"]] = hook
        return _ok({k: v for k, v in hook.items() if k != "secret"}, status=201)
    if method == "PUT" and ident is not None and int(ident) in store.webhooks:
        store.webhooks[int(ident)].update(body)
        return _ok({k: v for k, v in store.webhooks[int(ident)].items() if k != "secret"})
    return _error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")


def _coupons(store: WooStore, method: str, query: dict, body: dict):
    if method == "GET":
        code = query.get("code", "").lower()
        return _page([c for c in store.coupons.values() if not code or c["code"] == code], query)
    if any(c["code"] == str(body.get("code", "")).lower() for c in store.coupons.values()):
        return _error(400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
    defaults = {"minimum_amount": "", "maximum_amount": "", "exclude_sale_items": False, "individual_use": False,
                "product_ids": [], "product_categories": [], "limit_usage_to_x_items": None, "usage_limit": None,
                "usage_limit_per_user": None, "email_restrictions": [], "date_expires": None,
                "date_expires_gmt": None}  # WC_Coupon's defaults for what a POST leaves out
    coupon = {**fixture("coupon"), **defaults, **body, "id": store.new_id(), "code": str(body["code"]).lower()}
    coupon["amount"] = str(Decimal(str(body.get("amount", "0"))).quantize(Decimal("0.01")))
    coupon.pop("_links", None)
    store.coupons[coupon["id"]] = coupon
    return _ok(coupon, status=201)


# -- a real server: where connections go, and TLS ---------------------------------------------------

class Names:
    """A resolver the test controls: host -> addresses, changeable between calls (DNS rebinding).
    ``asked`` lists every name looked up, in order."""

    def __init__(self, records: dict[str, Iterable[str]] | None = None):
        self.records = {host: list(addresses) for host, addresses in (records or {}).items()}
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.records:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not known")
        return list(self.records[host])


@dataclass
class _Received:
    method: str
    url: str
    headers: object
    body: bytes


class LocalWooServer:
    """WooStores served over a real socket on 127.0.0.1 by the simulator's routes; the store is chosen
    by the Host header. ``tls``: a trustme leaf certificate, for https (the handshake happens in the
    connection's own thread, so a client that refuses the certificate only ends its own connection).
    Use as a context manager; ``url(host)`` is the base URL of a store named ``host`` on this server."""

    def __init__(self, tls=None):
        self._simulator = WooSimulator(None)
        self._tls = tls
        self._stores: dict[str, WooStore] = {}
        self._server = self._build()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="local-woo",
                                        daemon=True)

    @property
    def scheme(self) -> str:
        return "https" if self._tls is not None else "http"

    def url(self, host: str) -> str:
        return f"{self.scheme}://{host}:{self.port}"

    def add(self, store: WooStore) -> WooStore:
        self._stores[urlsplit(store.base_url).netloc] = store
        return store

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _build(self) -> ThreadingHTTPServer:
        outer = self
        context = None
        if self._tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.configure_cert(context)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = _Received(self.command, f"{outer.scheme}://{self.headers['Host']}{self.path}",
                                     self.headers, self.rfile.read(length) if length else b"")
                store = outer._stores.get(self.headers["Host"])
                if store is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, "no such store"
                else:
                    status, headers, body = outer._simulator._serve(store, received)
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request, client_address) -> None:
                if context is None:
                    super().finish_request(request, client_address)
                    return
                try:
                    secured = context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):  # the client refused our certificate
                    return
                try:
                    super().finish_request(secured, client_address)
                finally:
                    secured.close()

            def handle_error(self, request, client_address) -> None:
                pass  # a client that hangs up is not the test's concern

        return Server(("127.0.0.1", 0), Handler)


# -- the contract kits ------------------------------------------------------------------------------

def webhook_headers(store: WooStore, topic: str, secret: str, body: bytes, *, webhook_id: int = 142,
                    at: datetime = NOW) -> dict[str, str]:
    """The headers of a delivery (WC_Webhook::deliver), signed with ``secret``."""
    return {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        woo_webhooks.SOURCE_HEADER: store.base_url + "/", woo_webhooks.TOPIC_HEADER: topic,
        "X-WC-Webhook-Resource": topic.split(".")[0], "X-WC-Webhook-Event": topic.split(".")[1],
        woo_webhooks.SIGNATURE_HEADER: woo_webhooks.sign(secret, body),
        woo_webhooks.WEBHOOK_ID_HEADER: str(webhook_id), woo_webhooks.DELIVERY_HEADER: delivery_id(webhook_id, at),
    }


def order_webhook(store: WooStore, secret: str, order_id: str, topic: str = "order.updated", *,
                  webhook_id: int = 142, at: datetime = NOW) -> tuple[dict[str, str], bytes]:
    """The delivery WooCommerce would send for an order: the REST JSON, signed with our secret."""
    body = json.dumps(store.orders[int(order_id)]).encode()
    return webhook_headers(store, topic, secret, body, webhook_id=webhook_id, at=at), body


def adapter_for(store: WooStore, key: str | None = None) -> WooCommerceAdapter:
    credentials = {"store_url": store.base_url, "consumer_key": key or store.consumer_key,
                   "consumer_secret": store.consumer_secret}
    return WooCommerceAdapter(Connection(shop_domain=store_key(store.base_url), credentials=credentials))


def install_shop(db, store: WooStore, domain: str = "ceramika.example") -> int:
    """A connected WooCommerce shop in our database for ``store``: its keys and our webhook secret. It was
    installed at the simulated store's present (NOW): the orders the store was built with are history."""
    from plugin.shops.service import store_credentials
    from tests.factories import make_shop

    with db.uow() as s:
        shop = make_shop(s, domain=domain, platform="woocommerce", currency="USD", installed_at=NOW)
        store_credentials(shop, {"store_url": store.base_url, "consumer_key": store.consumer_key,
                                 "consumer_secret": store.consumer_secret, "webhook_secret": "our-secret"})
        s.commit()
        return shop.id


@pytest.fixture
def woo_simulator() -> Iterator[WooSimulator]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield WooSimulator(mock)


def _kit(simulator: WooSimulator, scheme: str):
    from tests.contract.conftest import WEBHOOK_SECRET, AdapterKit  # conftest imports this module

    store = simulator.add(build_store(f"{scheme}://contract.woo.test", seed=11, orders=60, customers=20))
    other = simulator.add(build_store(f"{scheme}://other.woo.test", seed=12, orders=6, customers=4,
                                      first_id=900000, consumer_key=OTHER_KEY, consumer_secret=OTHER_SECRET))

    def failing() -> WooCommerceAdapter:
        store.fail_next = 1
        return adapter_for(store)

    def order_with_code(code: str, customer_id: str) -> str:
        """An order that used the code: WooCommerce keeps it lowercased (wc_format_coupon_code)."""
        order = make_order(store.new_id(), customer=store.customers[int(customer_id)], created=NOW)
        order["coupon_lines"] = [{"id": store.new_id(), "code": code.lower(), "discount": "5.00",
                                  "discount_tax": "0.00", "meta_data": []}]
        return str(store.add_order(order)["id"])

    return AdapterKit(
        adapter=adapter_for(store),
        shop_domain="contract.woo.test",
        other_shop_order_id=str(next(iter(other.orders))),
        other_shop_customer_id=str(next(iter(other.customers))),
        order_webhook=lambda order_id: order_webhook(store, WEBHOOK_SECRET, order_id),
        failing_adapter=failing,
        revoked_adapter=lambda: adapter_for(store, key="ck_" + "0" * 40),
        delete_order=lambda order_id: store.trash_order(int(order_id), NOW),
        webhook_topics=("order.created", "order.updated", "customer.updated"),
        product_id="93",
        currency=store.currency,
        order_with_code=order_with_code,
    )


@pytest.fixture
def woocommerce_kit(woo_simulator):
    return _kit(woo_simulator, "https")


@pytest.fixture
def woocommerce_http_kit(woo_simulator):
    return _kit(woo_simulator, "http")
