"""The admin's Messages page: what is waiting to be sent to shoppers, and what was sent or not.

The page lives in this feature's admin blueprint (``/admin/messages``, made by the admin kit), so it
is served like the admin's own pages: sign-in, CSRF, security headers, the layout and error pages.
"""
from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from markupsafe import Markup, escape

from plugin.admin.auth import request_session
from plugin.admin.kit import admin_blueprint
from plugin.admin.service import RecordNotFound
from plugin.admin.shopper_text import shopper_text
from plugin.outbox import service
from plugin.outbox.kinds import message_kinds
from plugin.outbox.models import MESSAGE_STATUSES

bp = admin_blueprint("outbox", __name__, url_prefix="/admin/messages")


def language_name(code: str | None) -> str:
    """A language as the viewer names it ("Polish", "polski"); the code itself when it is not one."""
    try:
        return Locale.parse((code or "").replace("-", "_")).get_display_name(get_locale()) or code or ""
    except (ValueError, TypeError, UnknownLocaleError):
        return code or ""


def reason_text(message) -> Markup:
    """Why the message is sent, in the viewer's language: its catalogue message filled with its
    parameters, each escaped and isolated (they may hold what shoppers typed)."""
    template = escape(gettext(message.reason))
    params = {key: shopper_text(value) for key, value in (message.reason_params or {}).items()}
    try:
        return template % params if params else template
    except (KeyError, ValueError, TypeError):  # a message and its parameters that do not fit: show it bare
        return escape(message.reason)


@bp.get("/")
def messages():
    status = request.args.get("status", "waiting")
    status = status if status in MESSAGE_STATUSES or status == "all" else "waiting"
    kind = request.args.get("kind", "")[:64]
    session = request_session()
    kinds = message_kinds(current_app)
    in_use = service.kinds_in_use(session, g.shop.id)
    kind = kind if kind in in_use else ""
    page = service.list_messages(session, g.shop.id, None if status == "all" else status, kind or None,
                                 max(1, request.args.get("page", 1, type=int) or 1))
    return render_template("outbox/messages.html", page=page, status=status, statuses=MESSAGE_STATUSES,
                           kind=kind, kinds=[(name, kinds[name].label if name in kinds else name) for name in in_use],
                           kind_label=lambda name: kinds[name].label if name in kinds else name,
                           reason_text=reason_text, language_name=language_name)


@bp.post("/<id:message_id>/cancel")
def cancel(message_id: int):
    try:
        cancelled = service.cancel_for_merchant(request_session(), g.shop.id, message_id)
    except service.MessageNotFound:
        raise RecordNotFound("message") from None
    if cancelled:
        flash(gettext("The message is cancelled: it will not be sent."), "success")
    else:
        flash(gettext("This message is no longer waiting, so it cannot be cancelled."), "warning")
    return redirect(url_for(".messages"))
