"""The webhook inbox's write path: a per-process group commit, and a short-lived cache of shop keys.

A platform waits a few seconds for our answer and, for Shopify, retries eight times; WooCommerce never
retries. So a delivery is committed, with its job, before we answer 200, and the answer must come in
milliseconds even in a burst. One transaction per request spends most of its time on round trips
(checkout, ping, BEGIN, two INSERTs, COMMIT, a queue push) that do not depend on the row.

``InboxWriter`` stores every delivery verified meanwhile by the request threads of a process together:
one multi-row INSERT ... ON CONFLICT DO NOTHING for the deliveries, one JobRun per shop for the batch
(``sync.process_deliveries``: the worker applies them, with the shop's batches still queued behind it,
and hands any that fails to a job of its own, with retries), one COMMIT, one queue push. There is no
writer thread: the request that finds no batch being written writes one, and the requests that come
meanwhile form the next. Under no load a batch is one delivery and nothing waits for company; under load
the batch grows with the requests in flight. A request waits for its own batch's commit, so a 200 still
means "stored and queued". If a batch fails, its deliveries are retried one by one, so one bad row (a
shop deleted meanwhile) fails alone.

``ShopKeys`` caches, per process, which shop a (platform, domain) is and the secret its webhooks are
signed with, for ``TTL`` seconds. A signature that does not verify with a cached secret is checked again
against the database before it is refused, so a rotated secret never causes a 401; the old secret of a
shop is accepted at most ``TTL`` seconds after a rotation. ``fallback(conn, platform, domain)`` may name
the shop row when no shop has that domain (a WooCommerce shop still keyed by its host; see
plugin/shops/woocommerce_identity.py); the delivery must verify with that shop's secret all the same.
"""
from __future__ import annotations

import _thread
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import psycopg
from psycopg import pq
from sqlalchemy import bindparam, select

from plugin.db import utcnow
from plugin.jobs.models import QUEUED_COLUMNS, queued_run
from plugin.shops.models import Shop

log = logging.getLogger(__name__)

JOB = "sync.process_deliveries"
MAX_BATCH = 64
IDLE_CLOSE = 30.0  # a connection unused this long is closed before the next batch, which takes a fresh one
LINGER = 0.002  # how long a short batch may wait for the rest of a wave (see InboxWriter._lead)
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

    def __init__(self, db, secret_from, clock=time.monotonic, fallback=None):
        self._db, self._secret_from, self._clock, self._fallback = db, secret_from, clock, fallback
        self._entries: dict[tuple[str, str], ShopKey] = {}

    def get(self, platform: str, domain: str, fresh: bool = False) -> tuple[ShopKey, bool]:
        """The shop's key and whether it came from the cache (``fresh`` forces a database read)."""
        key = (platform, domain)
        cached = None if fresh else self._entries.get(key)
        if cached is not None and self._clock() - cached.fetched_at < self.TTL:
            return cached, True
        with self._db.engine.connect() as conn:
            row = conn.execute(_FIND_SHOP, {"platform": platform, "domain": domain}).first()
            if row is None and self._fallback is not None:
                row = self._fallback(conn, platform, domain)
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
    """One delivery waiting to be stored. ``done`` is a bare lock, held until the delivery is settled or
    its request is chosen to lead the next batch: the cheapest wake-up CPython has."""

    __slots__ = ("row", "done", "result", "error", "lead")

    def __init__(self, row: dict):
        self.row, self.done = row, _thread.allocate_lock()
        self.done.acquire()
        self.result: int | None = None
        self.error: BaseException | None = None
        self.lead = False  # set (before ``done`` is released) when this request is to write the next batch

    def settle(self, result: int | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        if not self.lead:  # a leader is not waiting: it wrote this batch itself
            self.done.release()


class InboxWriter:
    """Group commit without a thread of its own: the request that finds no batch being written writes
    one (the leader) with every delivery waiting at that moment; the others wait for it. When the leader
    is done, the first request that came meanwhile leads the next batch. A request so waits at most for
    one batch before its own, and no thread hand-over sits between a quiet webhook and its commit.

    Under load the requests of a batch come back together with their connections' next webhooks, and one
    that was a little late would lead a batch of its own in between: measured, half of all commits held
    one delivery. So a leader that finds fewer waiting than the last batch held waits up to ``LINGER``
    for that many (the last one to come wakes it). After a batch of one, nothing waits."""

    def __init__(self, db, queue, max_batch: int = MAX_BATCH, idle_close: float = IDLE_CLOSE,
                 linger: float = LINGER):
        self._db, self._queue, self._max_batch, self._idle_close = db, queue, max_batch, idle_close
        self._linger = linger
        self._lock = threading.Lock()
        self._waiting: list[_Item] = []
        self._leading = False
        self._last = 1  # deliveries in the last batch: as many as a lingering leader waits for
        self._filled = None  # the lock a lingering leader waits on
        self._pid = os.getpid()
        self._conn = None  # the leaders' connection (one leader at a time): no pool checkout per batch
        self._dialect = None
        self._used_at = 0.0
        self.batches = 0  # batches committed (for tests and the benchmark's report)

    def store(self, row: dict, timeout: float = STORE_TIMEOUT) -> int | None:
        """Store one verified delivery (platform, shop_id, topic, delivery_id, received_at, triggered_at
        and payload: the body's JSON text, as it came) with its job; its id, or None when it is a
        duplicate. Raises what the database raised, and then nothing of it is stored; TimeoutError when
        it waited too long (it may still be stored: the platform's retry is then a harmless duplicate)."""
        item = _Item(row)
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's batch and connection are not ours
                self._pid, self._waiting, self._leading, self._conn = os.getpid(), [], False, None
                self._filled, self._last = None, 1
            self._waiting.append(item)
            item.lead = not self._leading
            self._leading = True
            if self._filled is not None and len(self._waiting) >= self._wanted():
                self._filled.release()
                self._filled = None
        if not item.lead and not item.done.acquire(timeout=timeout):
            with self._lock:
                if not item.lead:  # not chosen to lead meanwhile: give up (and stay out of the next batch)
                    if item in self._waiting:
                        self._waiting.remove(item)
                    raise TimeoutError("the inbox did not store the webhook in time")
        if item.lead:
            self._lead()
        if item.error is not None:
            raise item.error
        return item.result

    def _wanted(self) -> int:
        return min(self._last, self._max_batch)

    def _lead(self) -> None:
        filled = None
        with self._lock:
            if len(self._waiting) < self._wanted() and self._linger > 0:
                filled = self._filled = _thread.allocate_lock()
                filled.acquire()
        if filled is not None:
            filled.acquire(timeout=self._linger)
        with self._lock:
            self._filled = None
            batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
            self._last = len(batch)
        try:
            self._write(batch)
        finally:
            with self._lock:
                if self._waiting:
                    successor = self._waiting[0]
                    successor.lead = True
                    successor.done.release()
                else:
                    self._leading = False

    def stop(self) -> None:
        """Close the leaders' connection (the next batch opens one). Called when the app's database is
        disposed."""
        with self._lock:
            self._close()

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
                batch[0].settle(error=exc)
            return
        self.batches += 1
        self._queue.push_many(job_ids)
        for item, result in zip(batch, results, strict=True):
            item.settle(result)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if self._dialect == "postgresql":
                    conn.driver_connection.autocommit = False  # as the pool hands connections out
                conn.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                conn.invalidate()
                log.debug("closing the inbox writer's connection failed", exc_info=True)

    def _connection(self):
        now = time.monotonic()
        if self._conn is not None and now - self._used_at > self._idle_close:
            self._close()  # idle a while: the pool's check-out tests a fresh one (a server restart, a timeout)
        if self._conn is None:
            conn = self._db.engine.raw_connection()
            self._dialect = self._db.engine.dialect.name
            self._conn = conn  # before preparing: a failure there closes it like any other
            if self._dialect == "postgresql":
                conn.driver_connection.autocommit = True  # the batch is one statement: its own transaction
                _prepare_postgresql(conn.driver_connection.pgconn)
        self._used_at = now
        return self._conn.driver_connection

    def _insert(self, rows: list[dict]) -> tuple[list[int | None], list[int]]:
        """Store the batch's deliveries and their jobs; each delivery's id (None for a duplicate) and the
        ids of the jobs. Written in SQL of each database (see _POSTGRESQL and _insert_sqlite): this is
        the one statement every webhook waits for; tests read what it wrote back through the models."""
        conn = self._connection()
        max_attempts = self._queue.max_attempts(JOB)
        if self._dialect == "postgresql":
            stored, job_ids = _insert_postgresql(conn.pgconn, rows, max_attempts)
        else:
            stored, job_ids = _insert_sqlite(conn, rows, max_attempts)
        results: list[int | None] = []
        for row in rows:  # the first of two equal deliveries in one batch is the one stored
            results.append(stored.pop((row["platform"], row["shop_id"], row["delivery_id"]), None))
        return results, job_ids


# One statement, so one round trip in autocommit: it is its own transaction. The batch comes as one JSON
# array of deliveries, each payload spliced in as the text it came as; they go in in arrival order, and
# one job per shop lists the shop's new deliveries.
_POSTGRESQL_NAME = b"storecare_inbox_batch"
_POSTGRESQL = f"""
WITH incoming AS (
    SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (
        platform text, shop_id bigint, topic text, delivery_id text, received_at timestamptz,
        triggered_at timestamptz, payload json)) WITH ORDINALITY
        AS i(platform, shop_id, topic, delivery_id, received_at, triggered_at, payload, n)
), stored AS (
    INSERT INTO webhook_deliveries (platform, shop_id, topic, delivery_id, received_at, triggered_at, payload,
                                    status, attempts)
    SELECT platform, shop_id, topic, delivery_id, received_at, triggered_at, payload, 'received', 0
    FROM incoming ORDER BY n
    ON CONFLICT (platform, shop_id, delivery_id) DO NOTHING
    RETURNING id, platform, shop_id, delivery_id
), jobs AS (
    INSERT INTO job_runs ({', '.join(QUEUED_COLUMNS)})  -- queued_run's values, with our ids
    SELECT $2, shop_id, json_build_object('shop_id', shop_id, 'delivery_ids', json_agg(id ORDER BY id)),
           $4, $5::integer, $3::integer, now()
    FROM stored GROUP BY shop_id
    RETURNING id
)
SELECT id, platform, shop_id, delivery_id FROM stored
UNION ALL
SELECT id, NULL, NULL, NULL FROM jobs
"""


def _prepare_postgresql(pgconn) -> None:
    """Prepare the batch statement on a connection the writer has just taken. One the pool had lent the
    writer before has it already (42P05), and uses it as it is."""
    _pq_check(pgconn, pgconn.prepare(_POSTGRESQL_NAME, _POSTGRESQL.encode()), pq.ExecStatus.COMMAND_OK,
              unless=b"42P05")


def _insert_postgresql(pgconn, rows: list[dict], max_attempts: int) -> tuple[dict, list[int]]:
    """The batch through libpq itself (psycopg's ``pq`` layer, which lets go of the GIL while it waits):
    a batch of six costs the web process about half the CPU it took through a psycopg cursor (95 against
    174 µs, measured; the cursor adapts, prepares and makes rows in Python), and this statement is the one
    every webhook waits for. The connection has prepared it (``_prepare_postgresql``)."""
    batch = orjson.dumps([{**row, "payload": orjson.Fragment(row["payload"])} for row in rows],
                         option=orjson.OPT_NAIVE_UTC)  # our times are UTC; a naive one is too
    job = queued_run(JOB, None, {}, max_attempts, utcnow())
    params = [batch, JOB.encode(), b"%d" % max_attempts, job["status"].encode(), b"%d" % job["attempts"]]
    result = _pq_check(pgconn, pgconn.exec_prepared(_POSTGRESQL_NAME, params), pq.ExecStatus.TUPLES_OK)
    stored, job_ids = {}, []
    for n in range(result.ntuples):
        id_, platform = int(result.get_value(n, 0)), result.get_value(n, 1)
        if platform is None:
            job_ids.append(id_)
        else:
            stored[(platform.decode(), int(result.get_value(n, 2)), result.get_value(n, 3).decode())] = id_
    return stored, job_ids


def _pq_check(pgconn, result, wanted, unless: bytes | None = None):
    if result.status != wanted and not (unless and result.error_field(pq.DiagnosticField.SQLSTATE) == unless):
        encoding = pgconn.parameter_status(b"client_encoding").decode()
        raise psycopg.errors.error_from_result(result, encoding=encoding)
    return result


def _insert_sqlite(conn, rows: list[dict], max_attempts: int) -> tuple[dict, list[int]]:
    values = ",".join(["(?, ?, ?, ?, ?, ?, ?, 'received', 0)"] * len(rows))
    params = []
    for row in rows:
        params += (row["platform"], row["shop_id"], row["topic"], row["delivery_id"], _sqlite_time(row["received_at"]),
                   _sqlite_time(row["triggered_at"]), row["payload"])
    try:
        conn.execute("BEGIN IMMEDIATE")  # the write lock first: no upgrade from a read lock to fail later
        found = conn.execute(
            "INSERT INTO webhook_deliveries (platform, shop_id, topic, delivery_id, received_at, triggered_at, "
            f"payload, status, attempts) VALUES {values} ON CONFLICT (platform, shop_id, delivery_id) DO NOTHING "
            "RETURNING id, platform, shop_id, delivery_id", params).fetchall()
        stored = {(platform, shop_id, delivery_id): id_ for id_, platform, shop_id, delivery_id in found}
        by_shop: dict[int, list[int]] = {}
        for id_, _, shop_id, _ in sorted(found):
            by_shop.setdefault(shop_id, []).append(id_)
        now = utcnow()
        job_ids = [conn.execute(_SQLITE_JOB, _sqlite_values(queued_run(
            JOB, shop_id, json.dumps({"shop_id": shop_id, "delivery_ids": ids}), max_attempts, now))).fetchone()[0]
            for shop_id, ids in by_shop.items()]
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return stored, job_ids


_SQLITE_JOB = (f"INSERT INTO job_runs ({', '.join(QUEUED_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(QUEUED_COLUMNS))}) RETURNING id")


def _sqlite_values(run: dict) -> tuple:
    return tuple(_sqlite_time(run[c]) if isinstance(run[c], datetime) else run[c] for c in QUEUED_COLUMNS)


def _sqlite_time(value: datetime | None) -> str | None:
    """A UTC time as SQLAlchemy stores it in SQLite (plugin.db.UTCDateTime: naive UTC, microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
