"""Errors -> application/problem+json (RFC 9457), and the request id every log line carries.

A browser (one that prefers HTML) gets a page instead, drawn by the function an app keeps under
``ERROR_PAGE_KEY`` in its extensions (the admin's: ``plugin.admin.kit.browser_error_page``); API clients,
and browsers when no page can be drawn, get the problem document.
"""
from __future__ import annotations

import logging
import random
import re

from flask import Flask, g, has_app_context, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("storecare")
PROBLEM = "application/problem+json"
ERROR_PAGE_KEY = "storecare.error_page"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class Problem(Exception):
    """Raise from a view or service to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None, type_: str = "about:blank",
                 errors: dict | None = None, headers: dict | None = None):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
        self.errors, self.headers = errors, headers or {}


def problem_response(status: int, title: str, detail: str | None = None, type_: str = "about:blank",
                     errors: dict | None = None, headers: dict | None = None):
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if has_app_context() and "request_id" in g:  # set by the request hook, or by the webhook lane
        body["request_id"] = g.request_id
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_app_context() else "-"
        return True


def prefers_html() -> bool:
    """Whether this request comes from a browser page (HTML first) rather than an API client."""
    return request.accept_mimetypes.best_match([PROBLEM, "application/json", "text/html"]) == "text/html"


def configure_logging(app: Flask, level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    logger = logging.getLogger("storecare")
    if not any(isinstance(f, RequestIdFilter) for h in logger.handlers for f in h.filters):
        logger.addHandler(handler)
    logger.setLevel(level)
    for name in ("plugin", "adapters"):
        sub = logging.getLogger(name)
        sub.setLevel(level)
        if not sub.handlers:
            sub.addHandler(handler)


def new_request_id() -> str:
    """128 random bits as hex, for telling one request's log lines from another's; not a secret.

    Python's own generator, not the system's: ``uuid4`` asks the kernel (a system call, which lets go of
    the interpreter lock), and in a web process with a dozen request threads every such hand-over is a
    thread switch (about 10 µs of CPU, measured with twelve threads). ``random`` is re-seeded in every
    forked worker, so two workers do not repeat each other."""
    return f"{random.getrandbits(128):032x}"


def request_id_for(environ: dict) -> str:
    """The id a request goes by: the caller's X-Request-Id if it is a sane one, else a new one."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.match(given) else new_request_id()


def unexpected_error_response():
    """A 500 that says nothing of our internals; the error itself goes to the log, with the request id."""
    log.exception("unhandled error")
    return problem_response(500, "Internal Server Error",
                            "Something went wrong on our side; quote the request id if you contact us.")


def _page_for_browser(app: Flask, status: int, title: str, detail: str | None, headers: dict,
                      exc: BaseException):
    """The app's error page for a browser, or None (an API client, or no page to draw)."""
    draw = app.extensions.get(ERROR_PAGE_KEY)
    if draw is None or not prefers_html():
        return None
    return draw(status, title, detail, headers, exc)


def init_problems(app: Flask) -> None:
    @app.before_request
    def _assign_request_id():
        g.request_id = request_id_for(request.environ)

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        page = _page_for_browser(app, exc.status, exc.title, exc.detail, exc.headers, exc)
        if page is not None:
            return page
        return problem_response(exc.status, exc.title, exc.detail, exc.type, exc.errors, exc.headers)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return problem_response(422, "Unprocessable Content", "The request has invalid fields.", errors=messages)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        detail = exc.description
        if exc.code == 413:
            detail = f"The request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes."
        page = _page_for_browser(app, exc.code or 500, exc.name, detail, headers, exc)
        if page is not None:
            return page
        return problem_response(exc.code or 500, exc.name, detail, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        response = unexpected_error_response()
        page = _page_for_browser(app, 500, "Internal Server Error", None, {}, exc)
        return page if page is not None else response
