"""The admin's API keys page (/admin/api-keys): the merchant lists, creates and revokes the keys their
own scripts use for the merchant API. An admin blueprint of the API feature (plugin/admin/kit.py), so
the admin's sign-in, CSRF, security headers, layout and error pages apply."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from plugin.admin.auth import request_session
from plugin.admin.kit import ID32, admin_blueprint
from plugin.api import service
from plugin.extensions import db

bp = admin_blueprint("api_keys", __name__, url_prefix="/admin/api-keys")


def _page(status: int = 200, created: service.CreatedKey | None = None, error: str | None = None, name: str = ""):
    keys = service.list_keys(request_session(), g.shop.id)
    base = current_app.config["STORECARE_SETTINGS"].app_url
    return render_template("admin/api_keys.html", keys=keys, created=created, error=error, name=name,
                           api_base=f"{base}/api/v1", document_url=f"{base}/api/openapi.json",
                           max_name=service.MAX_NAME), status


@bp.get("")
def index():
    return _page()


@bp.post("")
def create():
    name = request.form.get("name", "")[:500]
    try:
        created = service.create_key(db, g.shop.id, name)
    except service.InvalidKeyName:
        return _page(400, error=gettext("Give the key a name of at most %(max)d characters, such as the "
                                        "script that will use it.", max=service.MAX_NAME), name=name)
    except service.TooManyKeys:
        return _page(400, error=gettext("A shop has at most %(max)d keys: revoke one you no longer use.",
                                        max=service.MAX_ACTIVE_KEYS), name=name)
    # The key is in this page only: never in a redirect, a flash message or a log.
    return _page(201, created=created)


@bp.post(f"/<{ID32}:key_id>/revoke")
def revoke(key_id: int):
    try:
        record = service.revoke_key(db, g.shop.id, key_id)
    except service.RecordNotFound:
        flash(gettext("That key is not one of your store's keys."), "warning")
    else:
        flash(gettext("The key “%(name)s” is revoked: scripts using it are refused from now on.",
                      name=record.name), "success")
    return redirect(url_for(".index"))
