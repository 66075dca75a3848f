"""Reads the storefront repeats on every request, kept a few seconds in the process.

A loyalty widget's read names the same shop's signing secret, program settings, rewards and tiers on
every request; reading them from the database each time was most of its cost (a 5 ms read, of which
the database itself was 3 %: the rest was building statements, loading objects and parsing settings).
``ReadCache`` keeps each such read for ``TTL`` seconds, per app and per process::

    rewards = db.reads.get(("loyalty.rewards", shop_id), lambda: load(shop_id), Reward)

How fresh it stays:

- a write to a watched model (``Reward`` above) committed through one of this app's sessions drops
  every entry watching that model at once, so a merchant's change is read back at once in the process
  that made it (the admin's save, a test's setup); ORM bulk ``update()``/``delete()`` count too;
- another process (another gunicorn worker, the worker) sees the change when its entry expires:
  at most ``TTL`` seconds later; on PostgreSQL, a loyalty member's row and a customer's id as soon as
  the write commits (plugin/row_changes.py drops them). Only what is read for display is cached: what
  decides a write (a redemption's cost, a balance) is read from the database in the write's own
  transaction.

Values are shared between threads: keep them immutable (tuples, frozen dataclasses, plain numbers and
strings), never ORM objects.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

_TOUCHED = "storecare.read_cache.touched"


class ReadCache:
    TTL = 5.0
    MAX_ENTRIES = 50_000

    def __init__(self, sessions: sessionmaker, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._watching: dict[type, set[Hashable]] = {}  # a model: the keys dropped when it is written
        self._lock = threading.Lock()  # writers only; a read is one dict lookup
        # bumped by each drop of a model's entries (and all of them by a drop of everything), so that a
        # load that raced with a drop of what it watches is not kept
        self._generations: dict[type, int] = {}
        self._epoch = 0
        event.listen(sessions, "after_flush", _note_flushed)
        event.listen(sessions, "do_orm_execute", _note_statement)
        event.listen(sessions, "after_transaction_end", _forget_touched)
        event.listen(sessions, "after_commit", self._after_commit)

    def get(self, key: Hashable, load: Callable[[], Any], *watched: type,
            keep: Callable[[Any], bool] | None = None, ttl: float | None = None) -> Any:
        """The value kept for ``key``, or ``load()`` kept for ``ttl`` seconds (default ``TTL``) and
        dropped early when a write to one of the ``watched`` models commits in this process, or when
        ``drop_keys`` names it. ``keep``: whether a loaded value is kept at all (a customer not mirrored
        yet is not: the next request may find them); asked after the load."""
        now = self._clock()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            return found[1]
        for model in watched:  # before the load: a write to it from now on bumps its generation
            if model not in self._watching:
                with self._lock:
                    self._watching.setdefault(model, set())
        generation = self._generation_of(watched)
        value = load()
        if keep is not None and not keep(value):
            return value
        with self._lock:
            if generation == self._generation_of(watched):  # nothing it watches was dropped while loading
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
                    for keys in self._watching.values():
                        keys.clear()
                self._entries[key] = (now + (self.TTL if ttl is None else ttl), value)
                for model in watched:
                    self._watching.setdefault(model, set()).add(key)
        return value

    def drop(self, models: set[type] | None = None) -> None:
        """Drop the entries watching any of ``models`` (None: every entry). A write to a model nothing
        watches (a ledger entry, an idempotency key) costs nothing here."""
        with self._lock:
            if models is None:
                self._epoch += 1
                self._entries.clear()
                for keys in self._watching.values():
                    keys.clear()
                return
            hit = [model for model in models if model in self._watching]
            for model in hit:
                self._generations[model] = self._generations.get(model, 0) + 1
                for key in self._watching[model]:
                    self._entries.pop(key, None)
                self._watching[model] = set()

    def drop_keys(self, model: type, keys) -> None:
        """Drop these entries, which watch ``model`` (another process wrote what they hold:
        plugin/row_changes.py); a load watching ``model`` meanwhile is not kept."""
        with self._lock:
            self._generations[model] = self._generations.get(model, 0) + 1
            for key in keys:
                self._entries.pop(key, None)

    def _generation_of(self, watched: tuple[type, ...]) -> tuple[int, ...]:
        return (self._epoch, *(self._generations.get(model, 0) for model in watched))

    def _after_commit(self, session: Session) -> None:
        touched = session.info.get(_TOUCHED)  # read by every cache on these sessions, cleared at the end
        if touched:
            self.drop(touched)


def _forget_touched(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction, not a savepoint: committed (and dropped) or undone
        session.info.pop(_TOUCHED, None)


def _touched(session: Session) -> set[type]:
    return session.info.setdefault(_TOUCHED, set())


def _note_flushed(session: Session, _context) -> None:
    changed = [*session.new, *session.dirty, *session.deleted]
    if changed:
        # a subclass of a watched model counts as the model: note its whole hierarchy
        _touched(session).update(cls for obj in changed for cls in type(obj).__mro__)


def _note_statement(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE the session executes as a statement (an upsert, a bulk update) writes
    the models mapped to its table."""
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None:
            _touched(state.session).update(_models_of(table))


@cache
def _models_of(table) -> frozenset[type]:
    from plugin.db import Base

    return frozenset(cls for m in Base.registry.mappers if table in m.tables for cls in m.class_.__mro__)
