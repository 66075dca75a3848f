"""The merchant admin: thin views over ``plugin.admin.service``, rendered with Jinja (autoescaped).

Errors: pages under /admin/api answer application/problem+json; the other pages answer the same
problem as JSON unless the client prefers HTML (a browser), which gets a page in the layout.
Signed-out visitors of the HTML pages always get the "Open Storecare from your store's admin" page.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import (Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request,
                   session, url_for)
from flask_babel import get_locale, gettext, refresh
from werkzeug.exceptions import NotFound

from plugin.admin import connection as connection_page
from plugin.admin import service
from plugin.admin.auth import (LoginError, LoginExpired, close_request_session, installed_shop,
                               read_login_token, request_session, require_shop, sign_in, sign_out,
                               signed_in_shop_id, signed_out)
from plugin.admin.csrf import check_csrf, csrf_token
from plugin.admin.explanations import job_label
from plugin.admin.formatting import LANGUAGES, day, money, status_label, status_tone, when
from plugin.admin.nav import nav_items
from plugin.admin.schemas import OverviewSchema
from plugin.admin.sessions import LinkAlreadyUsed, SignInLink
from plugin.admin.shopper_text import person_name, plain_text, shopper_text
from plugin.i18n import SUPPORTED
from plugin.jobs.models import JOB_STATUSES
from plugin.problems import Problem, prefers_html, problem_response
from plugin.shops import privacy
from plugin.shops.shopify_views import embedded as shopify_embedded
from plugin.shops.shopify_views import frame_ancestors

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(shopify_embedded)  # /admin/shopify: the embedded admin's entry point

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# -- request plumbing

@bp.before_request
def _start() -> None:
    g.pop("shop", None)  # an app context may outlive a request (tests): start clean
    refresh()
    check_csrf()


@bp.after_request
def _secure(response):
    for name, value in SECURITY_HEADERS.items():
        if name == "Content-Security-Policy":  # only a Shopify shop's own admin may frame its pages
            value = f"{value}; frame-ancestors {frame_ancestors(_embedding_shop())}"
        response.headers.setdefault(name, value)
    return response


def _embedding_shop() -> str | None:
    shop = g.get("shop")
    if shop is not None and shop.platform == "shopify":
        return shop.domain
    return g.get("embedded_shop_domain")  # set by the embedded entry point once it knows the shop


@bp.teardown_request
def _finish(_exc) -> None:
    g.pop("shop", None)
    refresh()


@bp.teardown_app_request
def _close_database(_exc) -> None:
    """Every request's database session closes, also outside the admin (install callbacks sign in)."""
    close_request_session()


@bp.context_processor
def _layout() -> dict:
    return {
        "csrf_token": csrf_token, "money": money, "when": when, "day": day,
        "status_label": status_label, "status_tone": status_tone, "asset": _asset,
        "languages": LANGUAGES, "current_lang": str(get_locale() or "en"), "here": _here(),
        "shop": g.get("shop"), "nav": _navigation() if g.get("shop") is not None else [],
        "bdi": shopper_text, "person": person_name, "plain_text": plain_text,
        "reauth_url": _reauth_url(g.get("shop")),
    }


def _reauth_url(shop) -> str | None:
    """Where the merchant of a shop whose platform refused our credentials goes to fix it (the banner)."""
    return connection_page.reauth_url(shop) if shop is not None and shop.needs_reauth else None


def _navigation() -> list[dict]:
    entries = [{"item": item, "url": url_for(item.endpoint)} for item in nav_items(current_app)]
    matching = [e for e in entries
                if request.path == e["url"] or request.path.startswith(e["url"].rstrip("/") + "/")]
    active = max(matching, key=lambda e: len(e["url"]), default=None)
    for entry in entries:
        entry["active"] = entry is active
    return entries


def _asset(filename: str) -> str:
    """A static file's URL with its modification time, so browsers fetch a changed file at once."""
    try:
        version = int(os.stat(os.path.join(current_app.static_folder or "", filename)).st_mtime)
    except OSError:
        version = 0
    return url_for("static", filename=filename, v=version)


def _here() -> str:
    query = request.query_string.decode("utf-8", "replace")
    return request.path + (f"?{query}" if query else "")


def _back(default: str = ".overview"):
    """Redirect to the form's ``next`` if it is a page of this admin, else to ``default``."""
    target = request.form.get("next", "")
    parts = urlsplit(target)
    root = url_for(".overview")
    if target.startswith(root) and not parts.scheme and not parts.netloc and "\\" not in target:
        return redirect(target)
    return redirect(url_for(default))


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


# -- errors

def _error(status: int, title: str, detail: str | None, headers: dict | None = None):
    is_api = request.path.startswith(url_for("admin.overview") + "api/")  # absolute: nested blueprints too
    if is_api or not (status == 401 or prefers_html()):
        return problem_response(status, title, detail, headers=headers)
    template = "admin/signed_out.html" if status == 401 else "admin/error.html"
    return render_template(template, status=status, detail=detail), status, headers or {}


@bp.errorhandler(Problem)
def _problem(exc: Problem):
    return _error(exc.status, exc.title, exc.detail, exc.headers)


@bp.app_errorhandler(NotFound)
def _unknown_page(exc: NotFound):
    """A browser at an address under /admin/ that is no page (no route matched, so no blueprint handler
    runs) gets a page to find its way back from; everything else keeps the problem document."""
    admin_root = url_for("admin.overview")
    if (request.path.startswith(admin_root) and not request.path.startswith(admin_root + "api/")
            and prefers_html()):
        return render_template("admin/unknown_page.html"), 404
    return problem_response(404, exc.name, exc.description)


@bp.errorhandler(service.RecordNotFound)
def _not_found(exc: service.RecordNotFound):
    details = {
        "order": gettext("This order is not in your store's synced orders."),
        "customer": gettext("This customer is not in your store's synced customers."),
        "job": gettext("This job is not one of your store's jobs."),
        "export": gettext("This export is not one of your store's privacy requests."),
    }
    return _error(404, "Not Found", details.get(exc.kind, gettext("We could not find that.")))


# -- signing in and out

def _sign_in_once(shop, link: SignInLink, used_detail: str):
    """Sign in with a single-use link. A link that was used before signs nobody in: the browser that
    used it and is still signed in to that shop goes on to the admin (a reload, the back button),
    any other gets ``used_detail``."""
    try:
        sign_in(shop, link=link)
    except LinkAlreadyUsed:
        if signed_in_shop_id() == shop.id:
            return redirect(url_for(".overview"))
        sign_out()
        log.info("admin sign-in link for shop %s used again", shop.id)
        raise Problem(401, "Unauthorized", used_detail) from None
    return redirect(url_for(".overview"))


@bp.get("/auth")
def login():
    try:
        link = read_login_token(request.args.get("token", ""))
    except LoginError as exc:
        sign_out()
        log.info("admin login refused: %s", exc)
        if isinstance(exc, LoginExpired):
            detail = gettext("This sign-in link has expired.")
        else:
            detail = gettext("This sign-in link is not valid.")
        raise Problem(401, "Unauthorized", detail) from exc
    shop = installed_shop(request_session(), link.shop_id)
    if shop is None:
        sign_out()
        raise signed_out()
    return _sign_in_once(shop, link.single_use, gettext(
        "This sign-in link was already used. A sign-in link works once: open Storecare from your "
        "store's admin, or ask for a new link."))


@bp.get("/auth/woocommerce")
def login_woocommerce():
    """The WordPress plugin's "Open Storecare" link: signed with the shop's storefront secret, 2 minutes,
    once (the plugin signs a new link on every click)."""
    from plugin.security import WORDPRESS_SIGN_IN_MAX_AGE, ExpiredSignature, SecurityError
    from plugin.shops.woocommerce_wordpress import shop_from_wordpress_link

    timestamp = request.args.get("ts")
    try:
        shop = shop_from_wordpress_link(request_session(), request.args.get("shop", ""), timestamp,
                                        request.args.get("sig"))
    except SecurityError as exc:
        sign_out()
        log.info("woocommerce admin link refused: %s", exc)
        expired = isinstance(exc, ExpiredSignature)
        raise Problem(401, "Unauthorized", gettext("This sign-in link has expired.") if expired
                      else gettext("This sign-in link is not valid.")) from exc
    signed_at = datetime.fromtimestamp(int(timestamp), timezone.utc)  # verified: digits, within the window
    link = SignInLink("wordpress", f"{shop.id}|{int(timestamp)}",
                      signed_at + timedelta(seconds=WORDPRESS_SIGN_IN_MAX_AGE))
    return _sign_in_once(shop, link, gettext(
        "This sign-in link was already used. Click Open Storecare in WordPress again."))


@bp.post("/sign-out")
def sign_out_view():
    """The header's Sign out button (a form with the CSRF token): ends the session on the server."""
    sign_out()
    refresh()  # the language kept may differ from the one this request started in
    flash(gettext("You have signed out of Storecare."), "info")
    return redirect(url_for(".signed_out_page"))


@bp.get("/signed-out")
def signed_out_page():
    return render_template("admin/signed_out.html", status=200)


@bp.get("/woocommerce/storecare.zip")
def woocommerce_plugin_zip():
    """The WordPress plugin, zipped in memory, with this app's address as its default."""
    from plugin.shops.woocommerce_wordpress import wordpress_plugin_zip

    return Response(wordpress_plugin_zip(), mimetype="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="storecare.zip"'})


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if lang in SUPPORTED:
        session["lang"] = lang
    return _back()


# -- pages

@bp.get("/")
@require_shop
def overview():
    return render_template("admin/overview.html", data=service.overview(request_session(), g.shop))


@bp.get("/orders")
@require_shop
def orders():
    page = service.list_orders(request_session(), g.shop.id, _page())
    return render_template("admin/orders.html", page=page)


@bp.get("/orders/<int:order_id>")
@require_shop
def order(order_id: int):
    detail = service.order_detail(request_session(), g.shop.id, order_id)
    return render_template("admin/order.html", detail=detail)


@bp.get("/customers")
@require_shop
def customers():
    search = request.args.get("q", "")[:100]
    page = service.list_customers(request_session(), g.shop.id, search, _page())
    return render_template("admin/customers.html", page=page, search=search.strip())


@bp.get("/customers/<int:customer_id>")
@require_shop
def customer(customer_id: int):
    detail = service.customer_detail(request_session(), g.shop.id, customer_id, _page())
    return render_template("admin/customer.html", detail=detail)


@bp.get("/jobs")
@require_shop
def jobs():
    status = request.args.get("status", "")
    status = status if status in JOB_STATUSES else ""
    page = service.list_jobs(request_session(), g.shop.id, status or None, _page())
    return render_template("admin/jobs.html", page=page, status=status, statuses=JOB_STATUSES)


@bp.post("/jobs/<int:job_id>/retry")
@require_shop
def retry_job(job_id: int):
    try:
        run = service.retry_job(request_session(), g.shop.id, job_id)
    except service.JobNotRetryable as exc:
        flash(gettext("This job is “%(status)s”: only failed jobs can be retried.",
                      status=status_label(exc.status)), "warning")
    else:
        flash(gettext("Job “%(name)s” is queued to run again.", name=job_label(run.name)), "success")
    return _back(".jobs")


@bp.post("/sync")
@require_shop
def resync():
    service.request_resync(request_session(), g.shop.id)
    flash(gettext("A full re-sync is queued. The numbers update as it runs."), "success")
    return _back()


@bp.get("/connection")
@require_shop
def connection():
    data = connection_page.connection(request_session(), g.shop)
    return render_template("admin/connection.html", data=data, duration=connection_page.duration)


@bp.post("/connection/reconcile")
@require_shop
def reconcile():
    service.request_reconcile(request_session(), g.shop.id)
    flash(gettext("A reconciliation is queued: missing webhooks and orders are fetched again."), "success")
    return _back(".connection")


@bp.post("/connection/replaced-keys/<key_id>/dismiss")
@require_shop
def dismiss_replaced_key(key_id: str):
    """The merchant deleted a replaced WooCommerce key themselves: it leaves the Connection page."""
    from plugin.shops import woocommerce_keys

    if woocommerce_keys.dismiss(request_session(), g.shop, key_id[:20]):
        flash(gettext("The key is off the list. Storecare no longer shows it."), "success")
    return _back(".connection")


@bp.get("/privacy/exports/<int:export_id>")
@require_shop
def download_export(export_id: int):
    try:
        download = privacy.export_download(request_session(), g.shop.id, export_id)
    except privacy.ExportNotFound:
        raise service.RecordNotFound("export") from None
    return Response(download.body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{download.filename}"'})


@bp.get("/settings")
@require_shop
def settings():
    return render_template("admin/settings.html")


# -- JSON for the embedded admin's scripts

@bp.get("/api/overview")
@require_shop
def api_overview():
    return jsonify(OverviewSchema().dump(service.overview(request_session(), g.shop)))
