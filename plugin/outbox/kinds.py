"""The kinds of message features send, declared in their ``Feature`` (``messages``), named in the admin.

Plain data, like ``NavItem``: ``MessageKind("loyalty.points_expiring", lazy_gettext("Points about to
expire"))``. The outbox refuses a message of a kind no feature declared, and the admin shows each
kind by its label in the viewer's language.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

KINDS_KEY = "storecare.outbox_kinds"


class MessageKindError(Exception):
    """A message kind declared twice, or with a name not of 1 to 64 characters."""


@dataclass(frozen=True)
class MessageKind:
    name: str  # unique in the app, "<feature>.<message>", at most 64 characters
    label: object  # a str or a flask_babel LazyString: what the merchant calls this message


def register_message_kind(app: Flask, kind: MessageKind) -> None:
    kinds: dict[str, MessageKind] = app.extensions.setdefault(KINDS_KEY, {})
    if not kind.name or len(kind.name) > 64:
        raise MessageKindError(f"message kind {kind.name!r} must have 1 to 64 characters")
    if kind.name in kinds:
        raise MessageKindError(f"message kind {kind.name!r} is declared twice")
    kinds[kind.name] = kind


def message_kinds(app: Flask) -> dict[str, MessageKind]:
    return dict(app.extensions.get(KINDS_KEY, {}))
