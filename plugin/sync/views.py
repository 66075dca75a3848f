"""POST /webhooks/<platform>: answered in milliseconds; the work happens in a worker.

A webhook is served by ``WebhookLane``, a WSGI layer in front of Flask, whenever the request is the usual
kind (a POST with a Content-Length within the limit); anything else goes through the Flask view below,
which answers the same way and also knows chunked bodies, 413 and the rest of Flask's error handling.
Both call ``acknowledge``: the answer to a webhook is decided in one place.

Why a lane: in a burst, webhooks are nearly all the app serves, and a platform waits for each answer.
Flask's per-request machinery (request and app contexts, URL matching, the session, hooks and
signals, a Response object) cost about as much CPU as verifying and storing the delivery. Measured with
``bench/webhooks.py``'s set-up under gunicorn on two cores (paired rounds), the lane took Storecare from
0.63 to 0.88 of a bare Flask endpoint's throughput on SQLite, and from 0.46 to 0.54 on PostgreSQL.
"""
from __future__ import annotations

import io
import json
import re

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from adapters.base import LoweredHeaders
from plugin.problems import problem_response, request_id_for, unexpected_error_response
from plugin.sync import inbox

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
PREFIX = "/webhooks/"
_PLATFORM = re.compile(r"[a-z0-9_-]{1,40}")


@bp.post("/<platform>")
def receive(platform: str):
    answer = acknowledge(platform, _headers(request.environ), _body())
    if isinstance(answer, bytes):
        return Response(answer, status=200, mimetype="application/json")
    return answer


def _body() -> bytes:
    """The raw body (the signature covers it exactly), or 413 past ``MAX_CONTENT_LENGTH``.

    A stated Content-Length over the limit is refused by werkzeug before anything is read. A streamed
    (chunked) body is read through werkzeug's ``LimitedStream``, which stops at the limit without saying
    so: the truncated body then failed its signature, a 401 that told the platform its secret was wrong
    when its body was too big. The byte after the limit tells an oversized body from one exactly at it.
    """
    body = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(body) >= limit \
            and request.environ["wsgi.input"].read(1):  # the stream werkzeug limited: one byte more is too many
        raise RequestEntityTooLarge()
    return body


def acknowledge(platform: str, headers: LoweredHeaders, body: bytes) -> bytes | Response:
    """A webhook's answer: the 200 body, or a problem response. Runs in an app context."""
    try:
        receipt = inbox.receive(platform, headers, body)
    except inbox.InboxError as exc:
        titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
        return problem_response(exc.status, titles[exc.status], exc.message)
    except TimeoutError:  # the inbox could not commit in time: the platform retries (Shopify) or we reconcile
        response = problem_response(503, "Service Unavailable", "the webhook could not be stored in time")
        response.headers["Retry-After"] = "5"
        return response
    status = "duplicate" if receipt.duplicate else (receipt.note or "accepted")
    return _ANSWERS.get(status) or _answer(status)


def _answer(status: str) -> bytes:
    return json.dumps({"status": status}).encode() + b"\n"


# The answers a platform gets, encoded once: this route is the one a burst of webhooks hits.
_ANSWERS = {status: _answer(status) for status in ("accepted", "duplicate", "ping", "unknown shop")}


def _headers(environ: dict) -> LoweredHeaders:
    """The request's headers with lower-case names and stripped values, read straight from the WSGI
    environ (werkzeug's header view rebuilds every name on each pass), in the form the adapters read
    without copying."""
    headers = LoweredHeaders((key[5:].replace("_", "-").lower(), value.strip())
                             for key, value in environ.items() if key.startswith("HTTP_"))
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key].strip()
    return headers


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
                answer = acknowledge(path[len(PREFIX):], _headers(environ), body)
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

