"""WSGI apps the benchmarks serve under gunicorn: Storecare itself and a bare Flask baseline."""
from __future__ import annotations

from flask import Flask


def storecare():
    from plugin import create_app

    return create_app()


def bare():
    """The floor: Flask endpoints that read the request and answer 200, nothing else."""
    app = Flask(__name__)

    @app.post("/webhooks/<platform>")
    def receive(platform):
        from flask import request

        request.get_data()
        return {"status": "accepted"}

    @app.get("/storefront/api/v1/loyalty/rewards")
    def rewards():
        """The floor for the storefront's reads (bench/loyalty_storefront.py): a fixed answer of the
        same shape, nothing read."""
        return {"balance": 900, "rewards": [{"id": n, "name": f"Reward {n}", "kind": "fixed_amount",
                                             "cost": 500 * n, "value": "10.00", "min_points": None,
                                             "max_points": None, "affordable": n < 2} for n in range(1, 5)]}

    return app


def storecare_without(stage: str):
    """Storecare with one stage of the webhook path taken out, to show where the time goes (``--anatomy``):
    ``"database"``: the inbox's batches write nothing (deliveries get made-up ids), but requests still
    wait for their batch; ``"writer"``: the request does not hand the delivery to the inbox at all.
    Everything before (headers, shop key, signature, body, the Flask app itself) runs as in production.
    For measurement only."""
    import itertools

    from plugin import create_app
    from plugin.sync import ingress

    ids = itertools.count(1)
    if stage == "database":
        ingress.InboxWriter._insert = lambda self, rows: ([next(ids) for _ in rows], [])
    elif stage == "writer":
        ingress.InboxWriter.store = lambda self, row, timeout=None: next(ids)
    else:
        raise ValueError(f"no stage {stage!r}")
    return create_app()
