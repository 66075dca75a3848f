"""Settings: the only reader of os.environ.

Every variable carries the STORECARE_ prefix. Development defaults exist only in demo mode
(STORECARE_ENV=demo) and for tests; production refuses to start without real secrets.
"""
from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PREFIX = "STORECARE_"
ENVIRONMENTS = ("production", "demo", "test")
# Fixed, public, clearly-not-secret values: only ever used when env is demo or test.
_DEV_SECRET_KEY = "storecare-dev-secret-key-not-for-production"
_DEV_ENCRYPTION_KEY = "ZGV2LWRldi1kZXYtZGV2LWRldi1kZXYtZGV2LWRldjA="  # urlsafe b64 of 32 bytes


class SettingsError(Exception):
    """The environment does not describe a runnable configuration."""


@dataclass(frozen=True)
class Settings:
    env: str = "production"
    secret_key: str = ""
    # Fernet keys, newest first: the first encrypts, all decrypt (rotation-friendly).
    encryption_keys: tuple[str, ...] = ()
    database_url: str = ""
    redis_url: str = ""
    queue_path: str = ""
    queue_name: str = "storecare"
    app_url: str = "http://localhost:5000"
    manifest_path: str = ""
    sandbox_path: str = ""
    # Where static/ is built, versioned and compressed, at start-up (plugin/assets.py); "": a temporary dir.
    assets_path: str = ""
    max_content_length: int = 2 * 1024 * 1024
    job_max_attempts: int = 5
    job_lease_seconds: int = 300
    log_level: str = "INFO"
    # Shopify app credentials (Partner dashboard: client id and client secret). Shopify is off when unset.
    shopify_api_key: str = ""
    shopify_api_secret: str = ""
    # WooCommerce: the app name shown on the store's /wc-auth/v1/authorize screen.
    woocommerce_app_name: str = "Storecare"
    # Stores on private addresses that production may call anyway: host names and CIDR networks.
    woocommerce_private_stores: tuple[str, ...] = ()
    # A PEM file of CA certificates trusted for stores' certificates, besides the public ones.
    woocommerce_ca_bundle: str = ""
    # Serving (plugin/gunicorn_conf.py): web processes, threads in each, gunicorn's log level.
    web_workers: int = 3
    web_threads: int = 24
    web_log_level: str = "warning"
    # The webhook lane (plugin/sync/lane.py): webhooks served in front of Flask. Off (0): through Flask,
    # with every app-wide hook, at Flask's cost.
    webhook_lane: bool = True
    # How store host names are resolved (host -> addresses); None is the system resolver. Not read from
    # the environment: tests (and anyone embedding the app) pass their own.
    woocommerce_resolver: Callable[[str], Iterable[str]] | None = field(default=None, compare=False, repr=False)
    # Rate limits (plugin/rate_limits.py), each a `limits` string: "120/minute", "10/minute;100/hour".
    # Where the counters live: a `limits` storage URI; empty means settings.redis_url in production and
    # the process's memory in the demo and tests (and in production without Redis).
    rate_limit_storage: str = ""
    rate_limits_enabled: bool = True
    # The storefront API and the app proxy, per shop and shopper (a guest: per shop and address).
    rate_limit_storefront: str = "120/minute"
    # Admin sign-in (login links, the WordPress plugin's link, the embedded Shopify entry), per address.
    rate_limit_sign_in: str = "30/minute"
    # The WordPress plugin's connect start and hello, per address.
    rate_limit_connect: str = "30/minute"
    # Addresses that look a pending connection up by its token (go, callback, return), per address.
    rate_limit_lookup: str = "60/minute"
    # The merchant API, per API key (requests without a valid key: per address).
    rate_limit_merchant_api: str = "600/minute"
    # Reverse proxies in front of the app whose X-Forwarded-For is trusted (the client's address for
    # per-address limits); 0 trusts none.
    forwarded_hops: int = 0

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def shopify_enabled(self) -> bool:
        return bool(self.shopify_api_key and self.shopify_api_secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, validate: bool = True) -> Settings:
        """The settings the environment describes. ``validate=False`` skips the start-up checks and
        development defaults: for readers of settings that are not the app (gunicorn's configuration)."""
        environ = os.environ if environ is None else environ
        get = lambda name, default="": environ.get(PREFIX + name, default)  # noqa: E731
        env = get("ENV", "production")
        if env not in ENVIRONMENTS:
            raise SettingsError(f"{PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
        data_dir = Path(get("DATA_DIR", "var"))
        keys = tuple(k.strip() for k in get("ENCRYPTION_KEYS").split(",") if k.strip())
        settings = cls(
            env=env,
            secret_key=get("SECRET_KEY"),
            encryption_keys=keys,
            database_url=get("DATABASE_URL") or f"sqlite:///{(data_dir / 'storecare.db').resolve()}",
            redis_url=get("REDIS_URL"),
            queue_path=get("QUEUE_PATH") or str((data_dir / "queue.db").resolve()),
            queue_name=get("QUEUE_NAME", "storecare"),
            app_url=get("APP_URL", "http://localhost:5000").rstrip("/"),
            manifest_path=get("MANIFEST", ""),
            sandbox_path=get("SANDBOX_PATH") or str((data_dir / "sandbox.db").resolve()),
            assets_path=get("ASSETS_PATH") or str((data_dir / "assets").resolve()),
            max_content_length=int(get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024))),
            job_max_attempts=int(get("JOB_MAX_ATTEMPTS", "5")),
            job_lease_seconds=int(get("JOB_LEASE_SECONDS", "300")),
            log_level=get("LOG_LEVEL", "INFO"),
            shopify_api_key=get("SHOPIFY_API_KEY"),
            shopify_api_secret=get("SHOPIFY_API_SECRET"),
            woocommerce_app_name=get("WOOCOMMERCE_APP_NAME", "Storecare"),
            woocommerce_private_stores=tuple(e.strip() for e in get("WOOCOMMERCE_PRIVATE_STORES").split(",")
                                             if e.strip()),
            woocommerce_ca_bundle=get("WOOCOMMERCE_CA_BUNDLE"),
            web_workers=_count(environ, "WEB_WORKERS", 3),
            web_threads=_count(environ, "WEB_THREADS", 24),
            web_log_level=get("WEB_LOG_LEVEL", "warning"),
            webhook_lane=_switch(environ, "WEBHOOK_LANE", True),
            rate_limit_storage=get("RATE_LIMIT_STORAGE"),
            rate_limits_enabled=get("RATE_LIMITS_ENABLED", "true").strip().lower() not in ("0", "false", "no", "off"),
            forwarded_hops=int(get("FORWARDED_HOPS", "0")),
            **{name: get(name.upper(), default) for name, default in _rate_limit_defaults().items()
               if get(name.upper())},
        )
        return settings.validated() if validate else settings

    def validated(self) -> Settings:
        """Fill development defaults (demo/test only) and refuse unsafe production settings."""
        problems = self._woocommerce_problems() + self._rate_limit_problems()
        if problems:
            raise SettingsError("refusing to start: " + "; ".join(problems))
        if self.env in ("demo", "test"):
            return replace(
                self,
                secret_key=self.secret_key or _DEV_SECRET_KEY,
                encryption_keys=self.encryption_keys or (_DEV_ENCRYPTION_KEY,),
            )
        problems = []
        if len(self.secret_key) < 32 or self.secret_key == _DEV_SECRET_KEY:
            problems.append(f"{PREFIX}SECRET_KEY must be a random value of at least 32 characters")
        if not self.encryption_keys or _DEV_ENCRYPTION_KEY in self.encryption_keys:
            problems.append(f"{PREFIX}ENCRYPTION_KEYS must list at least one Fernet key (newest first)")
        if bool(self.shopify_api_key) != bool(self.shopify_api_secret):
            problems.append(f"{PREFIX}SHOPIFY_API_KEY and {PREFIX}SHOPIFY_API_SECRET go together")
        if problems:
            raise SettingsError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def rate_limit_storage_uri(self) -> str:
        if self.rate_limit_storage:
            return self.rate_limit_storage
        # one process's memory (plugin/rate_limits.py: LockedMemoryStorage)
        return self.redis_url if self.is_production and self.redis_url else "storecare-memory://"

    def _rate_limit_problems(self) -> list[str]:
        """Every limit must parse: a typo would otherwise stop the first request that meets it."""
        from limits import parse_many

        problems = []
        for name in _rate_limit_defaults():
            try:
                parse_many(getattr(self, name))
            except ValueError:
                problems.append(f"{PREFIX}{name.upper()}: {getattr(self, name)!r} is not a rate limit "
                                f"such as '120/minute' or '10/minute;100/hour'")
        if self.forwarded_hops < 0:
            problems.append(f"{PREFIX}FORWARDED_HOPS must be 0 or more")
        return problems

    def _woocommerce_problems(self) -> list[str]:
        """The WooCommerce transport's settings, checked in every environment: a typo here would
        otherwise show up as every store failing (or a private store refused) much later."""
        from adapters.woocommerce.addresses import read_private_stores

        problems = []
        try:
            read_private_stores(self.woocommerce_private_stores)
        except ValueError as exc:
            problems.append(f"{PREFIX}WOOCOMMERCE_PRIVATE_STORES: {exc}")
        bundle = self.woocommerce_ca_bundle
        if bundle and not Path(bundle).is_file():
            problems.append(f"{PREFIX}WOOCOMMERCE_CA_BUNDLE: {bundle} is not a file")
        elif bundle:
            try:
                ssl.create_default_context().load_verify_locations(cafile=bundle)
            except (ssl.SSLError, OSError, ValueError) as exc:
                problems.append(f"{PREFIX}WOOCOMMERCE_CA_BUNDLE: {bundle} holds no PEM certificates we can "
                                f"read ({exc})")
        return problems


def _count(environ: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of at least 1, or SettingsError naming the variable."""
    text = environ.get(PREFIX + name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise SettingsError(f"{PREFIX}{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """On (1, true, yes, on) or off (0, false, no, off), or SettingsError naming the variable."""
    text = environ.get(PREFIX + name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name} must be 1 or 0 (on or off), not {text!r}")
def _rate_limit_defaults() -> dict[str, str]:
    """The rate-limit settings (``rate_limit_<group>``) and their defaults."""
    return {f.name: f.default for f in fields(Settings)
            if f.name.startswith("rate_limit_") and f.name != "rate_limit_storage"}
