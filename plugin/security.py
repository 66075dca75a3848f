"""Every signature and token check, and token encryption at rest, in one place.

All comparisons are constant-time over raw bytes. Nothing here logs a secret or a signature.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecurityError(Exception):
    """A check failed. The message is safe to return to the caller."""


class InvalidSignature(SecurityError):
    pass


def _b(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def hmac_sha256(secret: str | bytes, message: bytes) -> bytes:
    return hmac.new(_b(secret), message, hashlib.sha256).digest()


def sign_base64(secret: str | bytes, body: bytes) -> str:
    """base64(HMAC-SHA256(body)): the webhook signature of Shopify, WooCommerce and our sandbox."""
    return base64.b64encode(hmac_sha256(secret, body)).decode("ascii")


def verify_base64_hmac(secret: str | bytes, body: bytes, signature: str | None) -> None:
    """Raise InvalidSignature unless ``signature`` is base64(HMAC-SHA256(secret, body))."""
    if not signature or not secret:
        raise InvalidSignature("missing signature")
    try:
        given = base64.b64decode(_b(signature.strip()), validate=True)
    except (ValueError, TypeError):
        raise InvalidSignature("malformed signature") from None
    if not hmac.compare_digest(given, hmac_sha256(secret, body)):
        raise InvalidSignature("signature does not match")


def sign_hex(secret: str | bytes, message: bytes) -> str:
    return hmac_sha256(secret, message).hex()


def verify_hex_hmac(secret: str | bytes, message: bytes, signature: str | None) -> None:
    if not signature or not secret:
        raise InvalidSignature("missing signature")
    try:
        given = bytes.fromhex(signature.strip())
    except ValueError:
        raise InvalidSignature("malformed signature") from None
    if not hmac.compare_digest(given, hmac_sha256(secret, message)):
        raise InvalidSignature("signature does not match")


def random_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


class TokenVault:
    """Encrypts credentials at rest with Fernet; the first key encrypts, every key decrypts.

    Rotation: put the new key first, keep the old ones, run ``rotate`` over stored values, then drop
    the old keys.
    """

    def __init__(self, keys: Iterable[str]):
        keys = list(keys)
        if not keys:
            raise SecurityError("no encryption key configured")
        try:
            self._fernet = MultiFernet([Fernet(_b(k)) for k in keys])
        except (ValueError, TypeError):
            raise SecurityError("an encryption key is not a valid Fernet key") from None

    def encrypt(self, data: dict) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> dict:
        try:
            return json.loads(self._fernet.decrypt(_b(token)))
        except InvalidToken:
            raise SecurityError("stored credentials cannot be decrypted with the configured keys") from None

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(_b(token)).decode("ascii")
