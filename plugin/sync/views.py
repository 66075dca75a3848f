"""POST /webhooks/<platform>: answered in milliseconds; the work happens in a worker.

The usual webhook (a POST with a Content-Length within the limit) is served in front of Flask by the
webhook lane (plugin/sync/lane.py, which says what it bypasses); anything else, and every webhook when
the lane is off, goes through the Flask view below, which answers the same way and also knows chunked
bodies, 413 and the rest of Flask's error handling. Both call ``acknowledge``: the answer to a webhook
is decided in one place.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from adapters.base import LoweredHeaders
from plugin.problems import problem_response
from plugin.sync import inbox

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/<platform>")
def receive(platform: str):
    answer = acknowledge(platform, lowered_headers(request.environ), _body())
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


def lowered_headers(environ: dict) -> LoweredHeaders:
    """The request's headers with lower-case names and stripped values, read straight from the WSGI
    environ (werkzeug's header view rebuilds every name on each pass), in the form the adapters read
    without copying."""
    headers = LoweredHeaders((key[5:].replace("_", "-").lower(), value.strip())
                             for key, value in environ.items() if key.startswith("HTTP_"))
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key].strip()
    return headers
