"""WSGI apps the benchmarks serve under gunicorn: Storecare itself and a bare Flask baseline."""
from __future__ import annotations

from flask import Flask


def storecare():
    from plugin import create_app

    return create_app()


def bare():
    """The floor: a Flask endpoint that reads the body and answers 200, nothing else."""
    app = Flask(__name__)

    @app.post("/webhooks/<platform>")
    def receive(platform):
        from flask import request

        request.get_data()
        return {"status": "accepted"}

    return app
