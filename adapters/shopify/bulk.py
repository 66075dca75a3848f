"""Bulk export of every order: start the operation, poll it, and read its JSONL in constant memory.

``bulkOperationRunQuery`` runs graphql/bulk_orders.graphql in Shopify's background with
``groupObjects: false`` (grouping is slower and times out more often). The result is a JSONL file:
one order per line, and each line item on a line of its own naming its order in ``__parentId``.

Shopify promises children directly below their parent only when grouping is on, so the reader does
not rely on the order of lines: it streams the download line by line into a temporary SQLite file
(raw lines, children indexed by parent), then walks the orders in file order and attaches each one's
line items. Memory stays flat whatever the file's size; disk holds one copy of the file while it is
read, and the temporary file is removed when the iterator finishes or is closed.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import requests

from adapters.base import Order
from adapters.errors import AdapterError, InvalidPayload, RateLimited, Transient
from adapters.shopify import documents, mapping
from adapters.shopify.client import AdminClient

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
_STATES = {"CREATED": RUNNING, "RUNNING": RUNNING, "CANCELING": RUNNING, "COMPLETED": COMPLETED,
           "FAILED": FAILED, "CANCELED": FAILED, "EXPIRED": FAILED}
_PARENT = re.compile(rb'"__parentId"\s*:\s*"([^"]+)"')
_BATCH = 5000
DOWNLOAD_CHUNK = 1 << 16


@dataclass(frozen=True)
class BulkExport:
    """Where a bulk operation stands. ``state`` is neutral (running, completed, failed); ``status`` and
    ``error_code`` are Shopify's, for messages."""

    id: str
    status: str
    url: str | None = None
    error_code: str | None = None
    object_count: int = 0

    @property
    def state(self) -> str:
        return _STATES.get(self.status, FAILED)


def start_orders(client: AdminClient) -> str:
    """Start the export of every order; its operation id (a gid)."""
    data = client.execute(documents.load("bulk"), "BulkOperationRunQuery",
                          {"query": documents.load("bulk_orders").text})
    payload = data.get("bulkOperationRunQuery") or {}
    errors = payload.get("userErrors") or []
    if errors:
        codes = {e.get("code") for e in errors}
        message = "; ".join(str(e.get("message")) for e in errors)
        if codes & {"OPERATION_IN_PROGRESS", "LIMIT_REACHED"}:
            raise RateLimited(f"Shopify cannot start another bulk export now: {message}", retry_after=60.0)
        raise AdapterError(f"Shopify refused the bulk export: {message}")
    operation = payload.get("bulkOperation") or {}
    if not operation.get("id"):
        raise AdapterError("Shopify started no bulk export and gave no reason")
    return str(operation["id"])


def status(client: AdminClient, operation_id: str) -> BulkExport:
    data = client.execute(documents.load("bulk"), "BulkOperation", {"id": operation_id})
    node = data.get("bulkOperation")
    if not node:
        raise AdapterError(f"Shopify has no bulk operation {operation_id}")
    count = node.get("objectCount")
    return BulkExport(id=str(node["id"]), status=str(node.get("status")), url=node.get("url"),
                      error_code=node.get("errorCode"), object_count=int(count) if count else 0)


def iter_orders(http: requests.Session, url: str, skip: int = 0) -> Iterator[Order]:
    """Every order of the export at ``url`` in file order, after the first ``skip`` orders.

    The download goes out without our access token (the URL is pre-signed storage, not Shopify's API).
    """
    if skip < 0:
        raise ValueError("skip must not be negative")
    handle, path = tempfile.mkstemp(prefix="storecare-bulk-", suffix=".sqlite")
    os.close(handle)
    spill = sqlite3.connect(path)
    try:
        spill.executescript("""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE parents (seq INTEGER PRIMARY KEY, line BLOB NOT NULL);
            CREATE TABLE children (seq INTEGER PRIMARY KEY, parent TEXT NOT NULL, line BLOB NOT NULL);
        """)
        _download(http, url, spill)
        spill.execute("CREATE INDEX children_by_parent ON children (parent, seq)")
        yield from _assemble(spill, skip)
    finally:
        spill.close()
        os.unlink(path)


def _download(http: requests.Session, url: str, spill: sqlite3.Connection) -> None:
    try:
        with http.get(url, stream=True) as response:
            if response.status_code >= 500:
                raise Transient(f"the bulk export download failed with HTTP {response.status_code}")
            if response.status_code >= 400:
                raise AdapterError(f"the bulk export file cannot be read (HTTP {response.status_code});"
                                   " it may have expired: start a new export")
            store_lines(spill, response.iter_lines(chunk_size=DOWNLOAD_CHUNK))
    except requests.RequestException as exc:
        raise Transient(f"the bulk export download failed: {type(exc).__name__}: {exc}") from exc


def store_lines(spill: sqlite3.Connection, lines: Iterable[bytes]) -> None:
    """Write raw JSONL lines into the spill tables, a batch at a time (constant memory)."""
    parents: list[tuple[bytes]] = []
    children: list[tuple[str, bytes]] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        match = _PARENT.search(line)
        if match:
            children.append((match.group(1).decode("utf-8"), line))
        else:
            parents.append((line,))
        if len(parents) + len(children) >= _BATCH:
            _flush(spill, parents, children)
    _flush(spill, parents, children)


def _flush(spill: sqlite3.Connection, parents: list, children: list) -> None:
    spill.executemany("INSERT INTO parents (line) VALUES (?)", parents)
    spill.executemany("INSERT INTO children (parent, line) VALUES (?, ?)", children)
    parents.clear()
    children.clear()


def _assemble(spill: sqlite3.Connection, skip: int) -> Iterator[Order]:
    rows = spill.execute("SELECT line FROM parents ORDER BY seq LIMIT -1 OFFSET ?", (skip,))
    for (line,) in rows:
        node = _json(line)
        items = [_json(child) for (child,) in spill.execute(
            "SELECT line FROM children WHERE parent = ? ORDER BY seq", (str(node.get("id")),))]
        yield mapping.order_from_graphql(node, line_items=items)


def _json(line: bytes) -> dict:
    try:
        value = json.loads(line)
    except ValueError:
        raise InvalidPayload(f"the bulk export has a line that is not JSON: {line[:80]!r}") from None
    if not isinstance(value, dict):
        raise InvalidPayload("the bulk export has a line that is not a JSON object")
    return value
