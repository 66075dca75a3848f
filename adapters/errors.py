"""Typed adapter errors: one root, each with a message that is safe to show a merchant."""
from __future__ import annotations

from datetime import datetime


class AdapterError(Exception):
    """Root of every error an adapter raises."""

    transient = False

    def __init__(self, message: str = "the store platform returned an error"):
        super().__init__(message)
        self.message = message


class AuthRevoked(AdapterError):
    """The shop's credentials no longer work: re-authorisation is needed."""


class NotFound(AdapterError):
    """The platform has no such object."""


class Deleted(NotFound):
    """The platform keeps the object but as deleted (an order in WooCommerce's trash): for us it is not
    there. ``deleted_at`` is when it was deleted, on the platform's clock."""

    def __init__(self, message: str, deleted_at: datetime):
        super().__init__(message)
        self.deleted_at = deleted_at


class InvalidPayload(AdapterError):
    """A payload from the platform could not be read as the neutral DTO."""


class WebhookPing(AdapterError):
    """Not an event: the platform checks that our endpoint answers (WooCommerce's unsigned creation ping)."""


class Transient(AdapterError):
    """Network trouble or a 5xx: worth retrying with backoff."""

    transient = True


class RateLimited(Transient):
    """The platform asked us to slow down; retry after ``retry_after`` seconds."""

    def __init__(self, message: str = "rate limited by the store platform", retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after
