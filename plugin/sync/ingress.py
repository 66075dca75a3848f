"""The webhook inbox's write path: a per-process group commit, and a short-lived cache of shop keys.

A platform waits a few seconds for our answer and, for Shopify, retries eight times; WooCommerce never
retries. So a delivery is committed, with its job, before we answer 200, and the answer must come in
milliseconds even in a burst. One transaction per request spends most of its time on round trips
(checkout, ping, BEGIN, two INSERTs, COMMIT, a queue push) that do not depend on the row.

``InboxWriter`` is one thread per process that takes every delivery verified meanwhile by the request
threads and stores them together: one multi-row INSERT ... ON CONFLICT DO NOTHING for the deliveries,
one for their JobRun rows, one COMMIT, one queue push for the batch. Under no load a batch is one
delivery and nothing waits for company; under load the batch grows with the requests in flight. A
request waits for its own batch's commit, so a 200 still means "stored and queued". If a batch fails,
its deliveries are retried one by one, so one bad row (a shop deleted meanwhile) fails alone.

``ShopKeys`` caches, per process, which shop a (platform, domain) is and the secret its webhooks are
signed with, for ``TTL`` seconds. A signature that does not verify with a cached secret is checked again
against the database before it is refused, so a rotated secret never causes a 401; the old secret of a
shop is accepted at most ``TTL`` seconds after a rotation.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from queue import Empty, SimpleQueue

from sqlalchemy import bindparam, select

from plugin.shops.models import Shop
from plugin.sync.models import WebhookDelivery
from plugin.upsert import insert_for

log = logging.getLogger(__name__)

JOB = "sync.process_delivery"
MAX_BATCH = 64
IDLE_EXIT = 30.0  # the writer thread ends after this long without work; the next delivery starts one
LINGER = 0.002  # under load, how long a batch waits for more deliveries before it commits
STORE_TIMEOUT = 4.0  # a platform gives up at 5 s: better a 503 it retries than an answer it never reads

_FIND_SHOP = select(Shop.id, Shop.credentials_encrypted).where(
    Shop.platform == bindparam("platform"), Shop.domain == bindparam("domain"))


@dataclass(frozen=True)
class ShopKey:
    shop_id: int | None  # None: a shop we hold nothing of (Shopify still signs its webhooks for us)
    secret: str
    fetched_at: float


class ShopKeys:
    TTL = 60.0
    MAX_ENTRIES = 10_000

    def __init__(self, db, secret_from, clock=time.monotonic):
        self._db, self._secret_from, self._clock = db, secret_from, clock
        self._entries: dict[tuple[str, str], ShopKey] = {}

    def get(self, platform: str, domain: str, fresh: bool = False) -> tuple[ShopKey, bool]:
        """The shop's key and whether it came from the cache (``fresh`` forces a database read)."""
        key = (platform, domain)
        cached = None if fresh else self._entries.get(key)
        if cached is not None and self._clock() - cached.fetched_at < self.TTL:
            return cached, True
        with self._db.engine.connect() as conn:
            row = conn.execute(_FIND_SHOP, {"platform": platform, "domain": domain}).first()
        secret = self._secret_from(platform, row.credentials_encrypted if row else None, known=row is not None)
        entry = ShopKey(row.id if row else None, secret, self._clock())
        if row is None:
            self._entries.pop(key, None)  # unknown shops are not remembered: an install may come any moment
        else:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = entry
        return entry, False

    def forget(self, platform: str, domain: str) -> None:
        self._entries.pop((platform, domain), None)


class _Item:
    __slots__ = ("row", "future")

    def __init__(self, row: dict | None):
        self.row, self.future = row, Future()


_STOP = None  # an item without a row: the writer thread closes its connection and ends


class InboxWriter:
    def __init__(self, db, queue, max_batch: int = MAX_BATCH, idle_exit: float = IDLE_EXIT):
        self._db, self._queue, self._max_batch, self._idle_exit = db, queue, max_batch, idle_exit
        self._lock = threading.Lock()
        self._items: SimpleQueue = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._last_batch = 1
        self._conn = None  # the writer thread's own connection: no pool checkout and ping per batch
        self.batches = 0  # batches committed (for tests and the benchmark's report)

    def store(self, row: dict, timeout: float = STORE_TIMEOUT) -> int | None:
        """Store one verified delivery with its job; its id, or None when it is a duplicate. Raises what
        the database raised; the delivery is then not stored (or stored, if only the wait timed out: the
        platform's retry is a harmless duplicate)."""
        item = _Item(row)
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread and queue are not ours
                self._pid, self._items, self._thread = os.getpid(), SimpleQueue(), None
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="storecare-inbox-writer", daemon=True)
                self._thread.start()
            self._items.put(item)
        return item.future.result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """End the writer thread (after the batch in hand) and close its connection; a later delivery
        starts a new one. Called when the app's database is disposed."""
        with self._lock:
            thread = self._thread
            if thread is not None:
                self._items.put(_Item(_STOP))
        if thread is not None:
            thread.join(timeout)
        else:
            self._close()

    def _loop(self) -> None:
        while True:
            try:
                first = self._items.get(timeout=self._idle_exit)
            except Empty:
                first = _Item(_STOP)
            if first.row is _STOP:
                with self._lock:
                    if self._items.empty():
                        self._thread = None
                        self._close()
                        first.future.set_result(None)
                        return
                continue
            batch = [first]
            # Under load (the last batch had company), linger a moment for the requests in flight.
            deadline = time.monotonic() + (LINGER if self._last_batch > 1 else 0.0)
            while len(batch) < self._max_batch:
                try:
                    wait = deadline - time.monotonic()
                    item = self._items.get(timeout=wait) if wait > 0 else self._items.get_nowait()
                except Empty:
                    break
                if item.row is _STOP:  # finish this batch, then stop
                    self._items.put(item)
                    break
                batch.append(item)
            self._last_batch = len(batch)
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            results, job_ids = self._insert([item.row for item in batch])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            self._close()  # a broken connection is not used again; the next batch opens a new one
            if len(batch) > 1:
                log.warning("inbox batch of %s failed (%s): storing one by one", len(batch), exc)
                for item in batch:
                    self._write([item])
            else:
                batch[0].future.set_exception(exc)
            return
        self.batches += 1
        self._queue.push_many(job_ids)
        for item, result in zip(batch, results):
            item.future.set_result(result)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                log.debug("closing the inbox writer's connection failed", exc_info=True)

    def _insert(self, rows: list[dict]) -> tuple[list[int | None], list[int]]:
        if self._conn is None:
            self._conn = self._db.engine.connect()
        conn = self._conn
        try:
            table = WebhookDelivery.__table__
            stmt = insert_for(conn, table).on_conflict_do_nothing(
                index_elements=["platform", "shop_id", "delivery_id"]).returning(
                table.c.id, table.c.platform, table.c.shop_id, table.c.delivery_id)
            stored = {(p, s, d): i for i, p, s, d in conn.execute(stmt, rows).all()}
            results: list[int | None] = []
            for row in rows:  # the first of two equal deliveries in one batch is the one stored
                results.append(stored.pop((row["platform"], row["shop_id"], row["delivery_id"]), None))
            new = [(row, delivery_id) for row, delivery_id in zip(rows, results) if delivery_id is not None]
            job_ids = self._queue.insert_runs(conn, JOB, [{"delivery_id": d} for _, d in new],
                                              [row["shop_id"] for row, _ in new])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return results, job_ids
