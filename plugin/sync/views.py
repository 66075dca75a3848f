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

from adapters.base import LoweredHeaders
from plugin.problems import problem_response
from plugin.sync import inbox

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/<platform>")
def receive(platform: str):
    body = request.get_data(cache=False)  # raw bytes: the signature covers them exactly; 413 past the limit
    answer = acknowledge(platform, lowered_headers(request.environ), body)
    if isinstance(answer, bytes):
        return Response(answer, status=200, mimetype="application/json")
    return answer


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
