"""The webhook lane: the one part of Storecare that serves requests without Flask's request machinery.

In a burst, webhooks are nearly all the app serves, and a platform waits for each answer. Flask's
per-request machinery (request and app contexts, URL matching, the session, hooks and signals, a
Response object) cost about as much CPU as verifying and storing the delivery. Measured with
``bench/webhooks.py``'s set-up under gunicorn on two cores (paired rounds), the lane took Storecare from
0.63 to 0.88 of a bare Flask endpoint's throughput on SQLite, and from 0.46 to 0.54 on PostgreSQL.

What is fenced here, and only here:

- ``WebhookLane``, WSGI middleware in front of the whole app, serves ``POST /webhooks/<platform>`` with
  a Content-Length within the app's limit through ``views.acknowledge`` in an app context, with the
  request id set as Flask's hook sets it (logs and problem documents carry it, the answer echoes it).
  Every other request, and a webhook whose body ends early, goes on to Flask.
- Its writer, the inbox's group commit (``plugin.sync.ingress.InboxWriter``, made once per app by
  ``inbox._ingress``), stores deliveries and their jobs with SQL of its own on a connection of its own,
  outside any SQLAlchemy session (``jobs.models.queued_run`` defines the job row it writes).

A webhook served by the lane passes none of the app's request machinery: no ``before_request``,
``after_request`` or ``teardown_request`` hook (the app's or any blueprint's), no session or cookie, no
CSRF check, no CORS headers, no rate limit, no request logging or request signals, no URL processors
and no Flask error handler (an unexpected error is answered by ``problems.unexpected_error_response``).
A feature that must see webhooks subscribes to the events the worker records from them; an operator who
needs every request to pass the app's hooks sets ``STORECARE_WEBHOOK_LANE=0``, and webhooks then go
through the Flask view (``views.receive``) with the same answers, at Flask's cost.
"""
from __future__ import annotations

import io
import re

from flask import Flask, g

from plugin.problems import request_id_for, unexpected_error_response
from plugin.sync.views import acknowledge, lowered_headers

PREFIX = "/webhooks/"
_PLATFORM = re.compile(r"[a-z0-9_-]{1,40}")


def install_webhook_lane(app: Flask) -> None:
    """Put the lane in front of everything the app serves, unless the settings turn it off. Called last
    by ``create_app``, after every feature has wrapped ``wsgi_app`` as it needs."""
    if app.config["STORECARE_SETTINGS"].webhook_lane:
        app.wsgi_app = WebhookLane(app, app.wsgi_app)


class WebhookLane:
    """WSGI middleware: serves ``POST /webhooks/<platform>`` with a Content-Length within the app's limit
    through ``acknowledge`` in an app context, with the request id set as Flask's hook sets it (logs and
    problem documents carry it, the answer echoes it). Every other request, and a webhook whose body ends
    early, goes on to Flask."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ: dict, start_response):
        path, length = environ.get("PATH_INFO", ""), environ.get("CONTENT_LENGTH", "")
        limit = self.app.config["MAX_CONTENT_LENGTH"]
        if (environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PREFIX)
                or not _PLATFORM.fullmatch(path, len(PREFIX))
                or not (length.isascii() and length.isdigit()) or (limit is not None and int(length) > limit)
                or "HTTP_TRANSFER_ENCODING" in environ):
            return self.wsgi_app(environ, start_response)
        body = _read(environ["wsgi.input"], int(length))
        if len(body) < int(length):  # the client went away mid-body: Flask's view says so (400)
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        request_id = request_id_for(environ)
        with self.app.app_context():
            g.request_id = request_id
            try:
                answer = acknowledge(path[len(PREFIX):], lowered_headers(environ), body)
            except Exception:  # noqa: BLE001 - as Flask's handler: a 500 without internals, logged
                answer = unexpected_error_response()
            if isinstance(answer, bytes):
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(answer))), ("X-Request-Id", request_id)])
                return [answer]
            answer.headers["X-Request-Id"] = request_id
            return answer(environ, start_response)


def _read(stream, length: int) -> bytes:
    chunks, left = [], length
    while left:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

