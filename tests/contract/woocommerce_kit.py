"""A WooCommerce store simulator over ``responses``, and the contract kits built on it.

``WooSimulator`` serves one or more stores (each at its own base URL) the way WooCommerce REST v3
does: orders and customers built from the official example payloads in tests/fixtures/woocommerce,
paged by number with X-WP-Total / X-WP-TotalPages, ``modified_after`` strictly after, 404s with
WooCommerce's error codes, webhooks and coupons that can be created, and both authentications
checked as the store checks them: Basic auth over https, and over http an OAuth 1.0a signature
recomputed independently of the client (PHP's rawurlencode rules, 15-minute window, nonces used once).

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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
import responses

from adapters.base import Connection
from adapters.woocommerce import webhooks as woo_webhooks
from adapters.woocommerce.adapter import WooCommerceAdapter

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
class WooStore:
    """One store's data and switches. ``fail_next`` answers 503, ``throttle_next`` 429 (Retry-After)."""

    base_url: str
    consumer_key: str = KEY
    consumer_secret: str = SECRET
    orders: dict[int, dict] = field(default_factory=dict)
    customers: dict[int, dict] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)  # WordPress users who are not customers (staff)
    refunds: dict[int, list[dict]] = field(default_factory=dict)
    webhooks: dict[int, dict] = field(default_factory=dict)
    coupons: dict[int, dict] = field(default_factory=dict)
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
    queued: list[tuple[str, int]] = field(default_factory=list)  # (topic, resource id) awaiting delivery
    trashed: dict[int, str] = field(default_factory=dict)  # order id -> its status before the trash

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

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


def make_user(user_id: int, email: str, role: str, created: datetime) -> dict:
    """A WordPress user who is not a customer (an administrator, a shop manager): GET /customers returns
    them only with ``role=all``."""
    data = make_customer(user_id, email, created, created)
    data.update(role=role, username=email.split("@")[0], is_paying_customer=False)
    return data


def make_order(order_id: int, *, status: str = "processing", customer: dict | None = None,
               email: str = "guest@example.com", created: datetime = NOW, modified: datetime | None = None,
               refunds: tuple[tuple[int, str], ...] = (), currency: str = "USD") -> dict:
    """An order from the official example, its totals and lines kept (total 29.35, lines 6.00 + 12.00)."""
    data = copy.deepcopy(fixture("order"))
    modified = modified or created
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
        for method in (responses.GET, responses.POST, responses.PUT):
            self._mock.add_callback(method, pattern, callback=lambda request, s=store: self._serve(s, request))
        return store

    def _serve(self, store: WooStore, request) -> tuple[int, dict, str]:
        parts = urlsplit(request.url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))  # PHP keeps the last of repeated keys
        store.requests.append(f"{request.method} {parts.path}")
        if store.before_serve is not None:
            store.before_serve(f"{request.method} {parts.path}")
        if not self._authenticated(store, request, parts, query):
            return _error(401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match.")
        if store.throttle_next:
            store.throttle_next -= 1
            return 429, {"Retry-After": store.retry_after}, json.dumps({"code": "too_many_requests"})
        if store.fail_next:
            store.fail_next -= 1
            return _error(503, "unavailable", "Service Unavailable")
        path = parts.path[len(urlsplit(store.base_url).path) + len("/wp-json/"):]
        body = json.loads(request.body) if request.body else {}
        return _route(store, request.method, path, query, body)

    def _authenticated(self, store: WooStore, request, parts, query: dict) -> bool:
        if parts.scheme == "https":
            expected = "Basic " + base64.b64encode(f"{store.consumer_key}:{store.consumer_secret}".encode()).decode()
            header = request.headers.get("Authorization", "")
            if header:
                return hmac.compare_digest(header, expected)
            return query.get("consumer_key") == store.consumer_key and query.get("consumer_secret") == store.consumer_secret
        return self._oauth_valid(store, request.method, parts, query)

    def _oauth_valid(self, store: WooStore, method: str, parts, query: dict) -> bool:
        """WC_REST_Authentication::check_oauth_signature, in Python."""
        params = dict(query)
        signature = params.pop("oauth_signature", "")
        if params.get("oauth_consumer_key") != store.consumer_key:
            return False
        if params.get("oauth_signature_method") not in ("HMAC-SHA1", "HMAC-SHA256"):
            return False
        timestamp, nonce = params.get("oauth_timestamp", ""), params.get("oauth_nonce", "")
        if not timestamp.isdigit() or abs(self._clock() - int(timestamp)) > OAUTH_WINDOW or not nonce:
            return False
        if nonce in store.nonces:
            return False
        pairs = [_rfc3986(f"{_normal(k)}={_normal(v)}") for k, v in sorted(params.items())]
        base = f"{method}&{_rfc3986(f'{parts.scheme}://{parts.netloc}{parts.path}')}&{'%26'.join(pairs)}"
        algorithm = hashlib.sha256 if params["oauth_signature_method"] == "HMAC-SHA256" else hashlib.sha1
        expected = base64.b64encode(hmac.new(f"{store.consumer_secret}&".encode(), base.encode(), algorithm).digest())
        if not hmac.compare_digest(expected, signature.replace(" ", "+").encode()):
            return False
        store.nonces.add(nonce)
        return True


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


def _route(store: WooStore, method: str, path: str, query: dict, body: dict) -> tuple[int, dict, str]:
    if path == "wc-storecare/v1/connection" and method == "GET":
        return _ok(store.plugin_connection) if store.plugin_connection else _error(404, "rest_no_route", "No route")
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
    coupon = {**fixture("coupon"), **body, "id": store.new_id(), "code": str(body["code"]).lower()}
    coupon["amount"] = str(Decimal(str(body.get("amount", "0"))).quantize(Decimal("0.01")))
    coupon.pop("_links", None)
    store.coupons[coupon["id"]] = coupon
    return _ok(coupon, status=201)


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
    return WooCommerceAdapter(Connection(shop_domain=urlsplit(store.base_url).netloc, credentials=credentials))


def install_shop(db, store: WooStore, domain: str = "ceramika.example") -> int:
    """A connected WooCommerce shop in our database for ``store``: its keys and our webhook secret."""
    from plugin.shops.service import store_credentials
    from tests.factories import make_shop

    with db.uow() as s:
        shop = make_shop(s, domain=domain, platform="woocommerce", currency="USD")
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
    )


@pytest.fixture
def woocommerce_kit(woo_simulator):
    return _kit(woo_simulator, "https")


@pytest.fixture
def woocommerce_http_kit(woo_simulator):
    return _kit(woo_simulator, "http")
