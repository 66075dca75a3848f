"""The merchant admin: thin views over ``plugin.admin.service``, rendered with Jinja (autoescaped).

The blueprint comes from ``plugin.admin.kit.admin_blueprint`` like any feature's admin pages: every
view needs a signed-in shop (``g.shop``) unless marked ``@public``, every POST its CSRF token, and errors
are pages for browsers and problem documents under /admin/api (see the kit).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Response, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, refresh
from marshmallow import ValidationError

from plugin.admin import connection as connection_page
from plugin.admin import service, shop_settings
from plugin.admin.auth import (
    LoginError,
    LoginExpired,
    installed_shop,
    read_login_token,
    request_session,
    sign_in,
    sign_out,
    signed_in_shop_id,
    signed_out,
)
from plugin.admin.explanations import job_label
from plugin.admin.formatting import status_label
from plugin.admin.kit import admin_blueprint, back, public
from plugin.admin.schemas import OverviewSchema
from plugin.admin.sessions import LinkAlreadyUsed, SignInLink
from plugin.api.operations import operation
from plugin.i18n import SUPPORTED
from plugin.jobs.models import JOB_STATUSES
from plugin.privacy import service as privacy
from plugin.problems import Problem
from plugin.shops.shopify_views import embedded as shopify_embedded

log = logging.getLogger(__name__)
bp = admin_blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(shopify_embedded)  # /admin/shopify: the embedded admin's entry point


def _back(default: str = ".overview"):
    return back(f"admin{default}" if default.startswith(".") else default)


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


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
@public
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
@public
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
    signed_at = datetime.fromtimestamp(int(timestamp), UTC)  # verified: digits, within the window
    link = SignInLink("wordpress", f"{shop.id}|{int(timestamp)}",
                      signed_at + timedelta(seconds=WORDPRESS_SIGN_IN_MAX_AGE))
    return _sign_in_once(shop, link, gettext(
        "This sign-in link was already used. Click Open Storecare in WordPress again."))


@bp.post("/sign-out")
@public
def sign_out_view():
    """The header's Sign out button (a form with the CSRF token): ends the session on the server."""
    sign_out()
    refresh()  # the language kept may differ from the one this request started in
    flash(gettext("You have signed out of Storecare."), "info")
    return redirect(url_for(".signed_out_page"))


@bp.get("/signed-out")
@public
def signed_out_page():
    return render_template("admin/signed_out.html", status=200)


@bp.get("/woocommerce/storecare.zip")
@public
def woocommerce_plugin_zip():
    """The WordPress plugin, zipped in memory, with this app's address as its default."""
    from plugin.shops.woocommerce_wordpress import wordpress_plugin_zip

    return Response(wordpress_plugin_zip(), mimetype="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="storecare.zip"'})


@bp.post("/language")
@public
def set_language():
    lang = request.form.get("lang", "")
    if lang in SUPPORTED:
        session["lang"] = lang
    return _back()


# -- pages

@bp.get("/")
def overview():
    return render_template("admin/overview.html", data=service.overview(request_session(), g.shop))


@bp.get("/orders")
def orders():
    page = service.list_orders(request_session(), g.shop.id, _page())
    return render_template("admin/orders.html", page=page)


@bp.get("/orders/<id:order_id>")
def order(order_id: int):
    detail = service.order_detail(request_session(), g.shop.id, order_id)
    return render_template("admin/order.html", detail=detail)


@bp.get("/customers")
def customers():
    search = request.args.get("q", "")[:100]
    page = service.list_customers(request_session(), g.shop.id, search, _page())
    return render_template("admin/customers.html", page=page, search=search.strip())


@bp.get("/customers/<id:customer_id>")
def customer(customer_id: int):
    detail = service.customer_detail(request_session(), g.shop.id, customer_id, _page())
    return render_template("admin/customer.html", detail=detail)


@bp.get("/jobs")
def jobs():
    status = request.args.get("status", "")
    status = status if status in JOB_STATUSES else ""
    page = service.list_jobs(request_session(), g.shop.id, status or None, _page())
    stops = service.subscriber_stops(request_session(), g.shop.id, page.items)
    return render_template("admin/jobs.html", page=page, status=status, statuses=JOB_STATUSES, stops=stops)


@bp.post("/jobs/<id:job_id>/retry")
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
def resync():
    service.request_resync(request_session(), g.shop.id)
    flash(gettext("A full re-sync is queued. The numbers update as it runs."), "success")
    return _back()


@bp.get("/connection")
def connection():
    data = connection_page.connection(request_session(), g.shop)
    return render_template("admin/connection.html", data=data, duration=connection_page.duration)


@bp.post("/connection/reconcile")
def reconcile():
    service.request_reconcile(request_session(), g.shop.id)
    flash(gettext("A reconciliation is queued: missing webhooks and orders are fetched again."), "success")
    return _back(".connection")


@bp.post("/connection/replaced-keys/<key_id>/dismiss")
def dismiss_replaced_key(key_id: str):
    """The merchant deleted a replaced WooCommerce key themselves: it leaves the Connection page."""
    from plugin.shops import woocommerce_keys

    if woocommerce_keys.dismiss(request_session(), g.shop, key_id[:20]):
        flash(gettext("The key is off the list. Storecare no longer shows it."), "success")
    return _back(".connection")


@bp.get("/privacy/exports/<id:export_id>")
def download_export(export_id: int):
    try:
        download = privacy.export_download(request_session(), g.shop.id, export_id)
    except privacy.ExportNotFound:
        raise service.RecordNotFound("export") from None
    return Response(download.body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{download.filename}"'})


@bp.get("/settings")
def settings():
    return _settings_page()


@bp.post("/settings")
def save_settings():
    """Save one section of the Settings page (the form names it); bad input shows the page again with
    what the merchant typed and a message at each field (422)."""
    section = shop_settings.section(current_app, request.form.get(shop_settings.SECTION_FIELD, ""))
    if section is None:
        raise Problem(404, "Not Found", gettext("These settings are not part of Storecare."))
    data = shop_settings.form_data(section, request.form)
    try:
        shop_settings.save(request_session(), g.shop.id, section, data)
    except ValidationError as exc:
        return _settings_page(failed=section.name, typed=data, errors=exc.messages), 422
    flash(gettext("%(section)s: saved.", section=section.label), "success")
    return redirect(url_for(".settings", _anchor=f"settings-{section.name}"))


def _settings_page(failed: str | None = None, typed: dict | None = None, errors: dict | None = None):
    """The Settings page: the store's facts, the admin's language, and each feature's section with its
    form, showing the stored values (or, for the section that failed, what was typed and why)."""
    forms = []
    for section in shop_settings.sections(current_app):
        if section.name == failed:
            values, messages = typed or {}, errors if isinstance(errors, dict) else {"_schema": errors}
        else:
            values = shop_settings.form_values(section, shop_settings.read(request_session(), g.shop.id, section))
            messages = {}
        forms.append(SectionForm(section.name, section.label, section.template, values, messages))
    return render_template("admin/settings.html", sections=forms, section_field=shop_settings.SECTION_FIELD)


@dataclass(frozen=True)
class SectionForm:
    """One section as the Settings page draws it (``admin/_forms.html`` macros take it)."""

    name: str
    label: object
    template: str
    values: dict
    errors: dict

    def value(self, key: str):
        value = self.values.get(key)
        return "" if value is None else value

    def error(self, key: str) -> list[str]:
        found = self.errors.get(key) or []
        return [str(m) for m in found] if isinstance(found, list) else [str(found)]


# -- JSON for the embedded admin's scripts

@bp.get("/api/overview")
@operation(summary="The overview's figures", tag="Admin", response=OverviewSchema, security=("adminSession",))
def api_overview():
    return service.overview(request_session(), g.shop)
