"""Each handling is recorded as a ProbeSaw event of its own (a fresh key, so a second handling of one
event would show as a second row): its ``seq`` is the order the handlings committed in."""
import os
import uuid

from plugin.sync import events


def _saw(by: str, session, event) -> None:
    events.record(session, event.shop_id, [("ProbeSaw", uuid.uuid4().hex, {
        "by": by, "seq": event.seq, "name": event.name, "key": event.key, "pid": os.getpid()})])


def saw_order(session, event) -> None:
    _saw("probe.orders", session, event)


def saw_paid(session, event) -> None:
    _saw("probe.paid", session, event)
