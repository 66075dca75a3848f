"""/healthz: is the database reachable, is the queue reachable."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from plugin.extensions import db, queue

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        with db.uow() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        queue.ping()
        checks["queue"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["queue"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks, "queue_backend": queue.backend}
    return jsonify(body), 200 if healthy else 503
