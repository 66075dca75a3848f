"""The example feature's admin page: a blueprint from the admin kit, so sign-in, CSRF, security headers,
the layout with navigation, and the admin's error pages come with it; the views only do their work."""
from flask import current_app, flash, g, redirect, render_template, url_for

from plugin.admin.auth import request_session
from plugin.admin.kit import admin_blueprint
from plugin.admin.service import RecordNotFound
from plugin.admin.shop_settings import read, section

bp = admin_blueprint("example_admin", __name__, url_prefix="/admin/example", template_folder="templates")


@bp.get("/")
def page():
    settings = read(request_session(), g.shop.id, section(current_app, "example"))
    return render_template("example/page.html", settings=settings)


@bp.post("/greet")
def greet():
    settings = read(request_session(), g.shop.id, section(current_app, "example"))
    flash(f"{settings['greeting']}, {g.shop.name}!", "success")
    return redirect(url_for(".page"))


@bp.get("/items/<id:item_id>")
def item(item_id: int):
    raise RecordNotFound("item")  # the example holds no items: every one is unknown
