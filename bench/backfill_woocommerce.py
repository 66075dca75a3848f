"""Backfill speed against a local WooCommerce-shaped server: orders/s with 1, 2, 4, 8 pages in flight.

The server (ThreadingHTTPServer on 127.0.0.1, loopback only) serves GET /wp-json/wc/v3/orders with
per_page=100 pages of the official example order (ids and dates varied), X-WP-Total and
X-WP-TotalPages, and sleeps ``--latency`` seconds per page, as a busy WordPress would. The client is
the real WooCommerceAdapter.iter_orders (over http, so every request is OAuth 1.0a-signed by the
official ``woocommerce`` package) through the app's StoreTransport with private addresses allowed (as
outside production), mapping every order to the neutral DTO.

The floor is what the latency alone allows: pages x latency / pages in flight. The ratio to it is
the overhead of HTTP (this server closes every connection, as HTTP/1.0), signing, the address check
of each connection, JSON parsing and mapping. That work is CPU under one GIL, shared here with the
server in the same process: run with
``--latency 0`` to see that ceiling (about 6,000 orders/s on the 2-core machine), which is why the
ratio grows past 4 pages in flight.

    .venv/bin/python bench/backfill_woocommerce.py [--orders 100000] [--latency 0.05] [--in-flight 1,2,4,8]
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import Connection
from adapters.woocommerce.adapter import WooCommerceAdapter
from adapters.woocommerce.addresses import AddressPolicy
from adapters.woocommerce.transport import StoreTransport

TEMPLATE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "woocommerce" / "order.json"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
PER_PAGE = 100


def order_template() -> str:
    """The example order as JSON text with placeholders, so a page is built by string replacement."""
    order = json.loads(TEMPLATE.read_text())
    order.pop("_links", None)
    order.update(id="@ID@", number="@NUM@", date_created_gmt="@CREATED@", date_modified_gmt="@MODIFIED@")
    for n, line in enumerate(order["line_items"]):
        line["id"] = f"@LINE{n}@"
    text = json.dumps(order, separators=(",", ":"))
    for name in ("ID", "LINE0", "LINE1"):
        text = text.replace(f'"@{name}@"', f"@{name}@")  # numbers, not strings
    return text


class Store:
    def __init__(self, orders: int, latency: float):
        self.orders, self.latency, self.template = orders, latency, order_template()
        self.requests = 0
        self._lock = threading.Lock()

    def page(self, page: int, per_page: int) -> bytes:
        first = (page - 1) * per_page + 1
        ids = range(first, min(first + per_page, self.orders + 1))
        rows = []
        for oid in ids:
            created = (T0 + timedelta(minutes=oid)).strftime("%Y-%m-%dT%H:%M:%S")
            rows.append(self.template.replace("@ID@", str(oid)).replace("@NUM@", str(oid))
                        .replace("@CREATED@", created).replace("@MODIFIED@", created)
                        .replace("@LINE0@", str(oid * 10)).replace("@LINE1@", str(oid * 10 + 1)))
        return ("[" + ",".join(rows) + "]").encode()


def handler_for(store: Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/wp-json/wc/v3/orders":
                self.send_error(404)
                return
            query = parse_qs(parts.query)
            per_page = min(int(query.get("per_page", ["10"])[-1]), 100)
            page = int(query.get("page", ["1"])[-1])
            with store._lock:
                store.requests += 1
            time.sleep(store.latency)
            body = store.page(page, per_page)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-WP-Total", str(store.orders))
            self.send_header("X-WP-TotalPages", str(-(-store.orders // per_page)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler


def run(base_url: str, in_flight: int) -> tuple[int, float]:
    adapter = WooCommerceAdapter(Connection(shop_domain=urlsplit(base_url).netloc, credentials={
        "store_url": base_url, "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40}),
        transport=StoreTransport(AddressPolicy(allow_private=True)))
    started, count = time.perf_counter(), 0
    for page in adapter.iter_orders(pages_in_flight=in_flight, per_page=PER_PAGE):
        count += len(page.items)
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--in-flight", default="1,2,4,8")
    args = parser.parse_args()
    if not 1 <= args.orders <= 1_000_000 or not 0 <= args.latency <= 1:
        parser.error("orders in 1..1,000,000 and latency in 0..1 s keep the run bounded")
    store = Store(args.orders, args.latency)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(store))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    pages = -(-args.orders // PER_PAGE)
    print(f"{args.orders:,} orders, {pages:,} pages of {PER_PAGE}, {args.latency * 1000:.0f} ms per page, "
          f"server {base_url} (OAuth 1.0a over http)")
    print(f"{'in flight':>9} {'seconds':>8} {'orders/s':>9} {'floor s':>8} {'ratio':>6}")
    try:
        for in_flight in (int(n) for n in args.in_flight.split(",")):
            count, seconds = run(base_url, in_flight)
            if count != args.orders:
                raise SystemExit(f"expected {args.orders} orders, got {count}")
            floor = pages * args.latency / in_flight
            ratio = seconds / floor if floor else float("nan")
            print(f"{in_flight:>9} {seconds:>8.2f} {count / seconds:>9,.0f} {floor:>8.2f} {ratio:>6.2f}")
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
