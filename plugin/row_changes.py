"""PostgreSQL tells each process which loyalty members (and whether customers) were written, as soon as
the write commits.

A member's balance row is the one read left in the loyalty widget's rewards answer, and on PostgreSQL
that round trip was most of the answer's cost (1.5 ms of machine time against 0.6 ms with the row in
hand). Triggers on ``loyalty_members`` (migration 0012) notify the channel ``storecare_rows`` once per
statement, naming the shop and customer of each member it wrote (a statement writing more than 100
names the shops instead), whoever wrote it: a worker crediting an order, the admin, a migration, psql.
A notification is delivered when its transaction commits, and not at all when it rolls back.

Each process keeps one connection listening (``RowChanges``, a daemon thread started the first time a
read asks whether it may keep a row) and drops from the process's read cache (``db.reads``) each
member a notification names. A statement marking customers deleted (or deleting them) notifies too,
naming no one: every customer id the process keeps (plugin/storefront/identity.py) is dropped.

A row read is kept only if the listener was listening from before the read began to after it ended:
the cache's generation guard refuses a value loaded across a drop, and the listener drops every member
and customer id when it loses its connection and again when it listens anew. So nothing kept is older
than the last notification delivered to its process, and nothing is kept while notifications may be
lost. ``MEMBER_TTL`` and ``CUSTOMER_TTL`` bound the rest.

SQLite has no notifications: there a member is read from the database every time and a customer id
is kept ``ReadCache.TTL`` (reads in the process, without a round trip).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Hashable
from functools import cache

import psycopg
from sqlalchemy.engine import Engine

from plugin.read_cache import ReadCache

log = logging.getLogger(__name__)

CHANNEL = "storecare_rows"
MEMBER_TTL = 30.0  # seconds: a member row is kept this long at most, notified or not
CUSTOMER_TTL = 60.0  # seconds: a customer id likewise (it never changes while the customer exists)


def create_triggers(metadata, connection, **_kw) -> None:
    """``metadata.create_all``'s ``after_create`` listener (plugin/models.py): on PostgreSQL, the triggers
    that notify, as migration 0012 creates them (its statements, read from its file: a migration holds
    its own SQL, and the tests' schemas are made with ``create_all``)."""
    if connection.dialect.name != "postgresql":
        return
    if connection.exec_driver_sql("SELECT to_regproc('storecare_rows_all')").scalar() is None:  # not made yet
        for statement in _migration(TRIGGERS_MIGRATION).CREATE_TRIGGERS:
            connection.exec_driver_sql(statement)


TRIGGERS_MIGRATION = "0012_loyalty_members_notify"


@cache
def _migration(name: str):
    from importlib.util import module_from_spec, spec_from_file_location

    from plugin.migrate import MIGRATIONS_DIR

    spec = spec_from_file_location(f"storecare_migration_{name}", MIGRATIONS_DIR / "versions" / f"{name}.py")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def member_key(shop_id: int, customer_id: int) -> Hashable:
    """The read cache's key for a member's row, as the storefront reads it and notifications name it."""
    return ("loyalty.member", shop_id, customer_id)


class RowChanges:
    """The listening side of the ``storecare_rows`` channel for one app's database in one process."""

    RETRY = 1.0  # seconds between attempts to listen again after the connection was lost

    def __init__(self, engine: Engine, reads: ReadCache):
        from plugin.loyalty.models import LoyaltyMember
        from plugin.sync.models import Customer

        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._reads = reads
        self._member_model, self._customer_model = LoyaltyMember, Customer
        self._listening = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self.backend_pid: int | None = None  # the listening connection's server process, while it listens

    def listening(self) -> bool:
        """Whether notifications reach this process now. The first call in a process (a forked worker
        included) starts the listener and answers False: nothing is kept until it listens."""
        if self._pid != os.getpid():
            self._start()
            return False
        return self._listening

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid() or self._stopping.is_set():
                return
            self._pid, self._listening = os.getpid(), False
            self._thread = threading.Thread(target=self._run, name="storecare-row-changes", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop listening: the thread closes its connection within a second (it is not waited for)."""
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, application_name="storecare-row-changes") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    schema = conn.execute("SELECT current_schema()").fetchone()[0]
                    # listening from here on: what was kept before may have missed a notification
                    self._reads.drop(self._kept_models())
                    self._listening = True
                    while not self._stopping.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            self._apply(schema, notice.payload)
            except Exception as error:  # noqa: BLE001 - whatever stopped it, nothing is kept until it listens again
                if not self._stopping.is_set():
                    log.warning("row changes: listening stopped (%s); members and customer ids are read from the "
                                "database until it listens again", error)
            finally:
                if self._listening:
                    self._listening = False
                    self._reads.drop(self._kept_models())  # a notification may be lost from now on
            self._stopping.wait(self.RETRY)

    def _kept_models(self) -> set[type]:
        return {self._member_model, self._customer_model}

    def _apply(self, schema: str, payload: str) -> None:
        """``<schema>|loyalty_members|<shop>:<customer>,...``, or ``<shop>:*`` items, or ``*`` (every
        member); ``<schema>|customers|*``. Notifications of another schema in the same database (the
        tests' schemas, a bench's) are not this app's."""
        their_schema, table, named = payload.split("|", 2)
        if their_schema != schema:
            return
        if table == "customers":
            self._reads.drop({self._customer_model})
            return
        if table != "loyalty_members":
            return
        keys = []
        for item in named.split(","):
            shop, _, customer = item.partition(":")
            if item == "*" or customer == "*":
                self._reads.drop({self._member_model})
                return
            keys.append(member_key(int(shop), int(customer)))
        self._reads.drop_keys(self._member_model, keys)
