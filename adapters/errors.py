"""Typed adapter errors: one root, each with a message that is safe to show a merchant.

A refusal of a write a shopper asked for (a reward code, store credit) is a ``PlatformRefused`` whose
``message`` a shopper may read: English, marked ``N_`` and translated where the app shows it; the
platform's own words, which may be technical and are never translated, are its ``detail``.
"""
from __future__ import annotations

import re
from datetime import datetime

from adapters.messages import N_


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


class PlatformRefused(AdapterError):
    """The platform refused a change we asked for. ``message``: a sentence for the shopper (one of
    the N_ messages below); ``reason``: a stable word for programs; ``detail``: what the platform said
    (for logs and the merchant). Never retried: asking again cannot change the answer."""

    CODE_TAKEN = "code_taken"
    CUSTOMER_NOT_FOUND = "customer_not_found"
    PRODUCT_NOT_FOUND = "product_not_found"
    CURRENCY = "currency"
    LIMIT = "limit"
    INVALID = "invalid"
    REFUSED = "refused"

    def __init__(self, message: str, reason: str = REFUSED, detail: str = ""):
        super().__init__(message)
        self.reason, self.detail = reason, detail

    def __str__(self) -> str:
        return f"{self.message} ({self.reason}: {self.detail})" if self.detail else self.message


class DiscountRefused(PlatformRefused):
    """The platform did not create the reward code."""

    MESSAGES = {
        PlatformRefused.CODE_TAKEN: N_("This reward code is already in use in the store. Please try again."),
        PlatformRefused.CUSTOMER_NOT_FOUND: N_("Your customer account was not found in the store."),
        PlatformRefused.PRODUCT_NOT_FOUND: N_("The product of this reward is no longer in the store."),
        PlatformRefused.INVALID: N_("The store could not create this reward. Please contact the store."),
        PlatformRefused.REFUSED: N_("The store could not create this reward. Please contact the store."),
    }

    @classmethod
    def because(cls, reason: str, detail: str = "") -> DiscountRefused:
        return cls(cls.MESSAGES.get(reason, cls.MESSAGES[cls.REFUSED]), reason, detail)


class StoreCreditRefused(PlatformRefused):
    """The platform did not add the store credit."""

    MESSAGES = {
        PlatformRefused.CUSTOMER_NOT_FOUND: N_("Your customer account was not found in the store."),
        PlatformRefused.CURRENCY: N_("The store cannot add store credit in this currency."),
        PlatformRefused.LIMIT: N_("Your store credit has reached the store's limit."),
        PlatformRefused.INVALID: N_("The store could not add this store credit. Please contact the store."),
        PlatformRefused.REFUSED: N_("The store could not add this store credit. Please contact the store."),
    }

    @classmethod
    def because(cls, reason: str, detail: str = "") -> StoreCreditRefused:
        return cls(cls.MESSAGES.get(reason, cls.MESSAGES[cls.REFUSED]), reason, detail)


class Unsupported(AdapterError):
    """The platform cannot do this at all (WooCommerce has no store credit): check ``supports`` first.
    ``capability`` names what is missing (a base.Capability value)."""

    MESSAGES = {
        "store_credit": N_("This store does not offer store credit."),
        "free_shipping_cap": N_("This store cannot limit free shipping to a maximum shipping price."),
        "collection_restrictions": N_("This store cannot limit a reward to collections."),
        "email_restricted_codes": N_("This store cannot limit a code to an email address."),
    }

    def __init__(self, capability: str, message: str | None = None):
        super().__init__(message or self.MESSAGES.get(capability, N_("This store cannot do that.")))
        self.capability = capability


class PermissionMissing(AdapterError):
    """The platform refused for want of a permission the merchant has not granted (Shopify's
    ACCESS_DENIED: an access scope). ``scopes``: the scopes the platform named, if it did."""

    def __init__(self, message: str = N_("The store has not given Storecare the permission this needs."),
                 scopes: tuple[str, ...] = (), detail: str = ""):
        super().__init__(message)
        self.scopes, self.detail = scopes, detail

    @classmethod
    def from_text(cls, detail: str) -> PermissionMissing:
        """From the platform's words, picking out the scopes they name (Shopify writes them between
        backticks: "Required access: `write_store_credit_account_transactions` access scope.")."""
        scopes = tuple(dict.fromkeys(re.findall(r"`((?:read|write)_[a-z_]+)`", detail)))
        return cls(scopes=scopes, detail=detail)
