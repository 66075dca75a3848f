"""The admin's way to approve new permissions (the banner in admin/layout.html leads here).

- ``POST /admin/permissions/refresh``: inside Shopify, once the merchant answered App Bridge's
  ``shopify.scopes.request`` (static/admin/admin.js), ask Shopify what is granted now and say whether
  anything is still missing;
- ``POST /admin/permissions/approve``: outside Shopify, send the merchant to Shopify's grant screen for
  what is missing (the authorization-code grant; its callback is the install's).
"""
from __future__ import annotations

from flask import flash, g, redirect
from flask_babel import gettext

from adapters.errors import AdapterError
from plugin.admin.auth import request_session
from plugin.admin.kit import admin_blueprint, back
from plugin.extensions import db
from plugin.problems import Problem
from plugin.shops import permissions, shopify
from plugin.shops.service import ShopError
from plugin.shops.shopify_views import remember_state

bp = admin_blueprint("permissions", __name__)


@bp.post("/refresh")
def refresh():
    try:
        permissions.refresh_granted_scopes(db, g.shop.id)
    except (AdapterError, ShopError):
        flash(gettext("Shopify could not be asked which permissions you approved. Try again in a moment."),
              "warning")
        return back()
    session = request_session()
    session.refresh(g.shop)
    if permissions.pending_permissions(session, g.shop) is None:
        flash(gettext("Thank you: Storecare has every permission it needs."), "success")
    else:
        flash(gettext("Some permissions are still not approved, so some features stay off."), "warning")
    return back()


@bp.post("/approve")
def approve():
    pending = permissions.pending_permissions(request_session(), g.shop)
    if pending is None:
        flash(gettext("Thank you: Storecare has every permission it needs."), "success")
        return back()
    try:
        start = shopify.begin_scope_grant(db, g.shop, pending.scopes)
    except shopify.ShopifyAuthError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    return remember_state(redirect(start.authorize_url), start.nonce)
