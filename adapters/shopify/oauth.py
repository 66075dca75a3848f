"""Shopify's token endpoint, the platform side of install and token upkeep.

Three grants, one endpoint (``POST https://{shop}/admin/oauth/access_token``), always asking for an
*expiring* offline token (public apps must use them; PLATFORMS.md §1.3):

- ``exchange_code``: the authorization-code grant's callback ``code``;
- ``exchange_session_token``: token exchange of an embedded admin's session token (ID token);
- ``refresh``: a new access token (and a new, rotated refresh token) before the old one expires.

Requests go through the caller's ``requests`` session (the app's one outbound session: timeouts, user
agent); nothing is kept between calls. Failures map onto ``adapters.errors``: network trouble, 429 and
5xx are ``Transient`` (the caller keeps its old tokens and retries), a refused grant is ``GrantRefused``
(an ``AuthRevoked``: retrying the same grant cannot help). This module never imports ``plugin``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import requests

from adapters.errors import AuthRevoked, InvalidPayload, RateLimited, Transient

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
# Checked again here, although the caller validated it: the client secret is posted to this host.
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com\Z")
_CREDENTIAL_KEYS = ("access_token", "expires_at", "refresh_token", "refresh_token_expires_at", "scope")


class GrantRefused(AuthRevoked):
    """Shopify refused the grant (``invalid_grant``, ``invalid_subject_token``, ...): a used or revoked
    code or refresh token, a bad session token, or an uninstalled app. ``error`` is Shopify's code."""

    def __init__(self, message: str, error: str = ""):
        super().__init__(message)
        self.error = error


def _shop(shop: str) -> str:
    if not isinstance(shop, str) or not _SHOP.match(shop):
        raise ValueError("not a myshopify.com shop domain")
    return shop


def authorize_url(shop: str, *, client_id: str, scopes: Sequence[str], redirect_uri: str, state: str) -> str:
    """Where the merchant approves the app (offline access: no ``grant_options[]``)."""
    query = urlencode({"client_id": client_id, "scope": ",".join(scopes), "redirect_uri": redirect_uri,
                       "state": state})
    return f"https://{_shop(shop)}/admin/oauth/authorize?{query}"


@dataclass(frozen=True)
class OfflineToken:
    """An offline access token with, when it expires, the refresh token that renews it."""

    access_token: str
    scopes: tuple[str, ...]
    expires_at: datetime | None = None  # None: a legacy non-expiring token
    refresh_token: str | None = None
    refresh_token_expires_at: datetime | None = None

    def expires_within(self, seconds: float, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at - now <= timedelta(seconds=seconds)

    def as_credentials(self) -> dict[str, str]:
        """The keys stored (encrypted) in the shop's credentials; the adapter reads ``access_token``."""
        values = {"access_token": self.access_token, "scope": ",".join(self.scopes),
                  "expires_at": self.expires_at.isoformat() if self.expires_at else "",
                  "refresh_token": self.refresh_token or "",
                  "refresh_token_expires_at": (self.refresh_token_expires_at.isoformat()
                                               if self.refresh_token_expires_at else "")}
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, str]) -> OfflineToken | None:
        """The token stored in ``credentials``, or None when there is none."""
        token = credentials.get("access_token")
        if not token:
            return None
        when = lambda key: datetime.fromisoformat(credentials[key]) if credentials.get(key) else None  # noqa: E731
        return cls(access_token=token, scopes=split_scopes(credentials.get("scope", "")),
                   expires_at=when("expires_at"), refresh_token=credentials.get("refresh_token") or None,
                   refresh_token_expires_at=when("refresh_token_expires_at"))


def without_token(credentials: Mapping[str, str]) -> dict[str, str]:
    """``credentials`` minus every token key (what stays: webhook secrets and the like)."""
    return {key: value for key, value in credentials.items() if key not in _CREDENTIAL_KEYS}


def split_scopes(value: str | Sequence[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(sorted({item.strip() for item in items if item and item.strip()}))


class OAuthClient:
    """The token endpoint of one shop, with our app's credentials, through ``http``."""

    def __init__(self, http: requests.Session, shop: str, *, client_id: str, client_secret: str):
        if not client_id or not client_secret:
            raise ValueError("Shopify client id and secret are required")
        self._http, self._shop = http, _shop(shop)
        self._client_id, self._client_secret = client_id, client_secret

    @property
    def url(self) -> str:
        return f"https://{self._shop}/admin/oauth/access_token"

    def exchange_code(self, code: str, now: datetime | None = None) -> OfflineToken:
        return self._grant({"code": code, "expiring": 1}, now)

    def exchange_session_token(self, session_token: str, now: datetime | None = None) -> OfflineToken:
        return self._grant({"grant_type": TOKEN_EXCHANGE, "subject_token": session_token,
                            "subject_token_type": ID_TOKEN, "requested_token_type": OFFLINE_TOKEN,
                            "expiring": 1}, now)

    def refresh(self, refresh_token: str, now: datetime | None = None) -> OfflineToken:
        return self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token}, now)

    def _grant(self, fields: dict, now: datetime | None) -> OfflineToken:
        body = {"client_id": self._client_id, "client_secret": self._client_secret, **fields}
        try:
            response = self._http.post(self.url, json=body, headers={"Accept": "application/json"})
        except requests.RequestException as exc:  # timeouts and resets: the answer may have been lost
            raise Transient(f"Shopify's token endpoint did not answer: {type(exc).__name__}") from None
        now = now or datetime.now(UTC)
        if response.status_code == 200:
            return _token(_json(response), now)
        if response.status_code == 429:
            raise RateLimited("Shopify's token endpoint is rate limiting us", _retry_after(response))
        if response.status_code >= 500:
            raise Transient(f"Shopify's token endpoint answered {response.status_code}")
        error = _error_code(response)
        code = error or "no error code"
        raise GrantRefused(f"Shopify refused the grant ({response.status_code} {code})", error)


def _json(response: requests.Response) -> Mapping:
    try:
        data = response.json()
    except ValueError:
        raise InvalidPayload("Shopify's token endpoint answered something that is not JSON") from None
    if not isinstance(data, Mapping):
        raise InvalidPayload("Shopify's token endpoint answered something that is not a JSON object")
    return data


def _seconds(data: Mapping, key: str) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise InvalidPayload(f"Shopify's token response has a malformed {key}")
    return int(value)


def _token(data: Mapping, now: datetime) -> OfflineToken:
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise InvalidPayload("Shopify's token response has no access token")
    refresh_token = data.get("refresh_token")
    if refresh_token is not None and not isinstance(refresh_token, str):
        raise InvalidPayload("Shopify's token response has a malformed refresh token")
    expires_in, refresh_in = _seconds(data, "expires_in"), _seconds(data, "refresh_token_expires_in")
    scope = data.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidPayload("Shopify's token response has a malformed scope")
    return OfflineToken(
        access_token=access_token, scopes=split_scopes(scope),
        expires_at=now + timedelta(seconds=expires_in) if expires_in is not None else None,
        refresh_token=refresh_token or None,
        refresh_token_expires_at=now + timedelta(seconds=refresh_in) if refresh_in is not None else None)


def _error_code(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, Mapping) else None
    return error[:64] if isinstance(error, str) else ""


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(1.0, min(float(value), 60.0))
    except ValueError:
        return 2.0
