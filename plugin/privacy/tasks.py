"""Queue jobs of the privacy requests: they take ids and call the service."""
from __future__ import annotations

from flask import current_app

from plugin.privacy import service as privacy


def redact_shop_job(shop_id: int, platform: str, shop_domain: str, request_key: str, requested_at: str,
                    platform_shop_id: str | None = None) -> None:
    privacy.redact_shop(current_app.extensions["storecare.db"], shop_id, platform, shop_domain, request_key,
                        requested_at, platform_shop_id)
