"""Shopify backfill: a bulk-export JSONL read in constant memory, and paging paced to the restore rate.

(a) Bulk: JSONL files of 25k, 50k and 100k orders (each with 1-4 line items on lines of their own,
    ``__parentId`` naming the order, as ``groupObjects: false`` exports them) are served by a local
    http.server and read through ShopifyAdapter.iter_bulk_orders, each in a fresh process: orders/s,
    the RSS before reading (baseline) and the peak RSS (getrusage), and the RSS at every 25k orders of
    the 100k run. Target: peak RSS < 250 MB and flat as the file grows.
(b) Paging: 20,000 orders listed with ShopifyAdapter.list_orders from a local GraphQL server (its
    own process) that enforces a leaky bucket of 1,000 points restored at 100 points/s and answers
    THROTTLED when a query's requested cost is not available. The floor is total actual cost /
    restore rate; target wall time <= 1.15 x floor, and no throttling error reaching the caller.
    Scaling: a real page of 12 orders with line items asks ~939 points and spends ~350, which would
    make this run take hours; the server charges 2 + first (14) requested and 5 actual points a page
    instead, so the floor is ~83 s. The client learns every figure from the responses, as in production.

Loopback only; bounded (a few minutes in all).

    .venv/bin/python bench/backfill_shopify.py [--bulk 25000,50000,100000] [--paged 20000] [--skip-paged]
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHOP = "bench-shop.myshopify.com"
BUCKET, RESTORE = 1000.0, 100.0


# -- (a) bulk JSONL -------------------------------------------------------------------------------------
def money(amount: str) -> dict:
    return {"shopMoney": {"amount": amount}}


def order_node(n: int) -> dict:
    """Order n as the bulk query (and the Orders page) selects it: the fields mapping.py reads."""
    created = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}Z"
    refunded = n % 10 == 0
    email = f"buyer{n % 5000}@example.com"
    customer = None if n % 7 == 0 else {
        "id": f"gid://shopify/Customer/{7_000_000_000 + n % 5000}", "firstName": "Ada",
        "lastName": "Lovelace", "createdAt": "2024-05-01T10:00:00Z", "updatedAt": "2024-05-02T10:00:00Z",
        "defaultEmailAddress": {"emailAddress": email, "marketingState": "SUBSCRIBED"}}
    refunds = [{"id": f"gid://shopify/Refund/{9_000_000_000 + n}", "createdAt": created,
                "processedAt": created, "note": "Damaged", "totalRefundedSet": money("20.0")}]
    return {
        "id": f"gid://shopify/Order/{5_000_000_000 + n}", "name": f"#{1001 + n}", "email": email,
        "createdAt": created, "updatedAt": created, "processedAt": created, "cancelledAt": None,
        "cancelReason": None, "closedAt": None, "currencyCode": "USD", "customerLocale": "en",
        "displayFinancialStatus": "PARTIALLY_REFUNDED" if refunded else "PAID",
        "displayFulfillmentStatus": "FULFILLED" if n % 3 == 0 else "UNFULFILLED", "discountCodes": [],
        "totalPriceSet": money("108.0"), "subtotalPriceSet": money("100.0"),
        "totalDiscountsSet": money("0.0"), "totalTaxSet": money("8.0"), "customer": customer,
        "refunds": refunds if refunded else [],
        "fulfillments": [{"createdAt": created, "status": "SUCCESS"}] if n % 3 == 0 else [],
    }


def line_nodes(n: int, parent: str | None = None) -> list[dict]:
    """Order n's 1-4 line items; with ``parent``, as bulk JSONL lines (``__parentId``)."""
    lines = []
    for k in range(1 + n % 4):
        line = {"id": f"gid://shopify/LineItem/{13_000_000_000 + n * 4 + k}", "title": "Linen shirt",
                "quantity": 1 + k % 2, "sku": f"SKU-{k}",
                "product": {"id": f"gid://shopify/Product/{8_800_000_000 + k}"},
                "originalUnitPriceSet": money("25.0"), "totalDiscountSet": money("0.0")}
        if parent:
            line["__parentId"] = parent
        lines.append(line)
    return lines


def write_jsonl(path: Path, orders: int) -> int:
    with path.open("w", encoding="utf-8") as out:
        for n in range(orders):
            node = order_node(n)
            out.write(json.dumps(node, separators=(",", ":")) + "\n")
            for line in line_nodes(n, node["id"]):
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
    return path.stat().st_size


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bulk_child(url: str) -> None:
    """One read of one file, in a process of its own so its peak RSS is its own."""
    from adapters.base import Connection
    from adapters.shopify.adapter import ShopifyAdapter
    from plugin.http import make_session

    adapter = ShopifyAdapter(Connection(SHOP, {"access_token": "bench"}), make_session())
    baseline, checkpoints, count = peak_mb(), [], 0
    start = time.perf_counter()
    for _order in adapter.iter_bulk_orders(url):
        count += 1
        if count % 25_000 == 0:
            checkpoints.append((count, round(rss_mb(), 1)))
    seconds = time.perf_counter() - start
    print(json.dumps({"orders": count, "seconds": seconds, "baseline_mb": baseline, "peak_mb": peak_mb(),
                      "checkpoints": checkpoints}))


def run_bulk(sizes: list[int]) -> None:
    print("(a) bulk export JSONL -> iter_bulk_orders (each size in a fresh process)")
    with tempfile.TemporaryDirectory(prefix="storecare-bench-") as folder:
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            print(f"    {'orders':>8} {'file MB':>8} {'seconds':>8} {'orders/s':>9} {'baseline MB':>12}"
                  f" {'peak MB':>8}  RSS at each 25k")
            for size in sizes:
                path = Path(folder) / f"orders-{size}.jsonl"
                megabytes = write_jsonl(path, size) / 2**20
                url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
                out = subprocess.run([sys.executable, __file__, "--bulk-child", url], check=True,
                                     capture_output=True, text=True).stdout
                r = json.loads(out)
                assert r["orders"] == size, r
                marks = ", ".join(f"{n // 1000}k: {mb}" for n, mb in r["checkpoints"])
                print(f"    {size:>8} {megabytes:>8.1f} {r['seconds']:>8.1f} {size / r['seconds']:>9.0f}"
                      f" {r['baseline_mb']:>12.1f} {r['peak_mb']:>8.1f}  {marks}")
                path.unlink()
        finally:
            server.shutdown()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


# -- (b) paging against a leaky bucket --------------------------------------------------------------------
class _Bucket:
    def __init__(self):
        self.available, self.at = BUCKET, time.monotonic()

    def refill(self) -> float:
        now = time.monotonic()
        self.available, self.at = min(BUCKET, self.available + (now - self.at) * RESTORE), now
        return self.available


def _graphql_server(port_out, total: int, actual_per_page: int) -> None:
    bucket, stats = _Bucket(), {"throttled": 0, "actual": 0, "pages": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()  # headers and body go out as two writes: without this, Nagle adds 40 ms a call
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # /stats
            self._send(200, stats)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            variables = body.get("variables") or {}
            first, offset = variables["first"], int(variables.get("after") or 0)
            requested = 2 + first
            with lock:
                available = bucket.refill()
                status = {"maximumAvailable": BUCKET, "currentlyAvailable": math.floor(available),
                          "restoreRate": RESTORE}
                if available < requested:
                    stats["throttled"] += 1
                    cost = {"requestedQueryCost": requested, "actualQueryCost": None,
                            "throttleStatus": status}
                    error = {"message": "Throttled", "extensions": {"code": "THROTTLED"}}
                    self._send(200, {"errors": [error], "extensions": {"cost": cost}})
                    return
                page = list(range(offset, min(total, offset + first)))
                actual = actual_per_page if page else 2
                bucket.available -= actual
                stats["actual"] += actual
                stats["pages"] += 1
                status["currentlyAvailable"] = math.floor(bucket.available)
            nodes = []
            for n in page:
                node = order_node(n)
                node["lineItems"] = {"nodes": line_nodes(n),
                                     "pageInfo": {"hasNextPage": False, "endCursor": None}}
                nodes.append(node)
            end = offset + len(page)
            self._send(200, {"data": {"orders": {"nodes": nodes, "pageInfo": {"hasNextPage": end < total,
                                                                                "endCursor": str(end)}}},
                             "extensions": {"cost": {"requestedQueryCost": requested,
                                                     "actualQueryCost": actual, "throttleStatus": status}}})

        def _send(self, code: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def run_paged(total: int, actual_per_page: int) -> None:
    import requests
    from requests.adapters import HTTPAdapter

    from adapters.base import Connection
    from adapters.errors import RateLimited
    from adapters.shopify.adapter import ShopifyAdapter
    from plugin.http import make_session

    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=_graphql_server, args=(ports, total, actual_per_page),
                                     daemon=True)
    server.start()
    target = f"http://127.0.0.1:{ports.get(timeout=10)}"

    class Loopback(HTTPAdapter):
        """Sends the shop's https://<shop>/admin/api/... calls to the local server instead."""

        def send(self, request, **kwargs):
            request.url = request.url.replace(f"https://{SHOP}", target, 1)
            return super().send(request, **kwargs)

    session = make_session()
    session.mount(f"https://{SHOP}/", Loopback())
    adapter = ShopifyAdapter(Connection(SHOP, {"access_token": "bench"}), session)
    print(f"(b) {total:,} orders paged through list_orders:"
          f" bucket {BUCKET:.0f} points, {RESTORE:.0f} points/s")
    seen, cursor, errors = 0, None, 0
    start = time.perf_counter()
    while True:
        try:
            page = adapter.list_orders(cursor=cursor, limit=250)
        except RateLimited:
            errors += 1
            continue
        seen += len(page.items)
        if page.is_last:
            break
        cursor = page.next_cursor
    wall = time.perf_counter() - start
    stats = requests.get(f"{target}/stats", timeout=5).json()
    server.terminate()
    floor = stats["actual"] / RESTORE
    strict = max(stats["actual"] - BUCKET, 0) / RESTORE
    assert seen == total, seen
    print(f"    pages {stats['pages']:,}; points spent {stats['actual']:,}; floor {floor:.1f} s"
          f" (after the first full bucket: {strict:.1f} s)")
    stricter = f" ({wall / strict:.3f} x the stricter floor)" if strict else ""
    print(f"    wall {wall:.1f} s -> {wall / floor:.3f} x floor{stricter}")
    print(f"    THROTTLED answers the server gave: {stats['throttled']}, absorbed by the client: "
          f"{adapter.client.throttled}; throttling errors that reached the caller: {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", default="25000,50000,100000",
                        help="comma-separated order counts ('' to skip)")
    parser.add_argument("--paged", type=int, default=20_000)
    parser.add_argument("--page-cost", type=int, default=5, help="actual points per page the server charges")
    parser.add_argument("--skip-paged", action="store_true")
    parser.add_argument("--bulk-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bulk_child:
        bulk_child(args.bulk_child)
        return
    if args.bulk:
        run_bulk([int(n) for n in args.bulk.split(",")])
    if not args.skip_paged:
        run_paged(args.paged, args.page_cost)


if __name__ == "__main__":
    main()
