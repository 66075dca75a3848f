"""The loyalty program's admin pages (under /admin/loyalty): members with their ledger and manual
adjustments, the program's settings with a preview of the widget, CSV exports. A blueprint of the
admin kit: sign-in, CSRF, the layout and error pages come with it; the views only do their work."""
from __future__ import annotations

import csv
import io
import re
import uuid
from decimal import Decimal

from flask import Response, current_app, flash, g, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext, lazy_gettext, ngettext
from marshmallow import ValidationError

from plugin.admin import embedded, shop_settings
from plugin.admin.auth import request_session
from plugin.admin.kit import ID32, admin_blueprint
from plugin.loyalty import admin_service as service
from plugin.loyalty import ledger
from plugin.loyalty.adjustments import MAX_REASON, AdjustmentRefused
from plugin.loyalty.settings import SECTION

bp = admin_blueprint("loyalty_admin", __name__, url_prefix="/admin/loyalty")
NONCE = re.compile(r"^[0-9a-f]{32}$")


# A ledger entry's state and source in the merchant's words.
LABELS = {
    "pending": lazy_gettext("Pending"), "approved": lazy_gettext("Approved"), "spent": lazy_gettext("Spent"),
    "expired": lazy_gettext("Expired"), "reversed": lazy_gettext("Reversed"),
    "order": lazy_gettext("Order"), "refund": lazy_gettext("Refund"), "signup": lazy_gettext("Sign-up"),
    "birthday": lazy_gettext("Birthday"), "first_order": lazy_gettext("First order"),
    "review": lazy_gettext("Review"), "referral": lazy_gettext("Referral"), "social": lazy_gettext("Social follow"),
    "manual": lazy_gettext("Manual"), "import": lazy_gettext("Import"), "custom_event": lazy_gettext("Custom event"),
    "redemption": lazy_gettext("Reward"), "expiry": lazy_gettext("Expiry"), "tier": lazy_gettext("Tier"),
}


def label(value: str | None) -> str:
    return str(LABELS.get(value or "", value or "—"))


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def actor() -> str:
    """Who is signed in to the admin, for the ledger: the Shopify user inside Shopify, else the shop's
    admin (a sign-in link knows the shop only)."""
    identity = embedded.identity()
    user = getattr(identity, "user_id", None) if identity is not None else None
    return f"admin (Shopify user {user})" if user else f"admin ({g.shop.domain})"


def describe(entry) -> str:
    """An entry's reason in the reader's language: a manual entry's note as typed, else the catalogue
    message with its values."""
    if entry.note:
        return entry.note
    params = dict(entry.reason_params or {})
    try:
        return gettext(entry.reason, **params) if params else gettext(entry.reason)
    except (KeyError, ValueError, TypeError):
        return entry.reason


# -- members

@bp.get("/members")
def members():
    search = request.args.get("q", "")[:100]
    tier = request.args.get("tier", type=int)
    sort = request.args.get("sort", "balance_desc")
    sort = sort if sort in service.SORTS else "balance_desc"
    page = service.list_members(request_session(), g.shop.id, search, tier, sort, _page())
    return render_template("loyalty/members.html", page=page, search=search.strip(), tier=tier, sort=sort,
                           tiers=service.tiers(request_session(), g.shop.id))


@bp.get("/members/<id:member_id>")
def member(member_id: int):
    return _member_page(member_id)


def _member_page(member_id: int, typed: dict | None = None, errors: dict | None = None):
    detail = service.member_detail(request_session(), g.shop.id, member_id, _page())
    return render_template("loyalty/member.html", detail=detail, describe=describe, label=label, typed=typed or {},
                           errors=errors or {}, nonce=uuid.uuid4().hex, max_reason=MAX_REASON)


@bp.post("/members/<id:member_id>/adjust")
def adjust(member_id: int):
    """A manual adjustment: points (+ or -) and a reason, once per form (its nonce); bad input shows the
    page again with the message at the field (422), and nothing is written."""
    service.get_member(request_session(), g.shop.id, member_id)  # another shop's member: 404
    typed = {"points": request.form.get("points", "").strip()[:20],
             "reason": request.form.get("reason", "")[:MAX_REASON + 50]}
    nonce = request.form.get("key", "")
    errors: dict[str, str] = {}
    points = None
    if not re.fullmatch(r"[+-]?\d{1,10}", typed["points"]):
        errors["points"] = gettext("Enter a whole number of points, for example 50 or -20.")
    else:
        points = int(typed["points"])
        if points == 0 or abs(points) > ledger.MAX_POINTS:
            errors["points"] = gettext("Enter a number of points other than 0, at most %(max)s either way.",
                                       max=ledger.MAX_POINTS)
    if not typed["reason"].strip():
        errors["reason"] = gettext("Write the reason: the member reads it in their history.")
    elif len(typed["reason"].strip()) > MAX_REASON:
        errors["reason"] = ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.",
                                    MAX_REASON)
    if not NONCE.match(nonce):
        errors["form"] = gettext("The form is out of date. Reload the page and try again.")
    if not errors:
        try:
            posted = service.adjust_member(request_session(), g.shop.id, member_id, points,
                                           reason=typed["reason"], actor=actor(), key=nonce)
        except ledger.InsufficientPoints as exc:
            errors["points"] = ngettext("The member has %(num)d point to take from: a balance never goes below 0.",
                                        "The member has %(num)d points to take from: a balance never goes below 0.",
                                        exc.available)
        except AdjustmentRefused as exc:
            errors[exc.field] = gettext("This value is not allowed.")
        else:
            if posted.created:
                flash(ngettext("%(num)d point recorded.", "%(num)d points recorded.", abs(points)) if points > 0
                      else ngettext("%(num)d point taken.", "%(num)d points taken.", abs(points)), "success")
            else:
                flash(gettext("This adjustment was recorded already: it counts once."), "warning")
            return redirect(url_for(".member", member_id=member_id))
    return _member_page(member_id, typed, errors), 422


@bp.post("/members/<id:member_id>/tier")
def manual_tier(member_id: int):
    value = request.form.get("tier", "")
    tier_id = int(value) if value.isdigit() else None
    try:
        service.set_manual_tier(request_session(), g.shop.id, member_id, tier_id, actor=actor())
    except AdjustmentRefused:
        return _member_page(member_id, errors={"tier": gettext("Choose one of the options.")}), 422
    flash(gettext("Manual tier saved."), "success")
    return redirect(url_for(".member", member_id=member_id))


# -- CSV exports

CSV_CHUNK = 500  # rows written out at a time


def _csv(filename: str, header, rows) -> Response:
    """A CSV download streamed as ``rows`` (read lazily) come: the header goes out at once and the
    answer holds one chunk of rows at a time, however many the shop has. The rows are read within the
    request's context (its shop, its language for the reasons), which the stream keeps."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def drained() -> str:
            written = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return written

        writer.writerow(header)
        yield drained()
        for number, row in enumerate(rows, 1):
            writer.writerow([service.safe_cell(cell) for cell in row])
            if number % CSV_CHUNK == 0:
                yield drained()
        yield drained()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _read(rows, *args):
    """``rows(session, *args)`` in a database session of its own, open while the download is sent and
    closed when it ends or is cut off: the request's session is closed as the view returns, before a
    streamed answer is written."""
    with current_app.extensions["storecare.db"].uow() as session:
        yield from rows(session, *args)


@bp.get("/members.csv")
def members_csv():
    return _csv("loyalty-members.csv", service.MEMBER_COLUMNS, _read(service.member_rows, g.shop.id))


@bp.get("/ledger.csv")
def ledger_csv():
    return _csv("loyalty-ledger.csv", service.LEDGER_COLUMNS, _read(service.ledger_rows, g.shop.id, describe))


# -- the program's settings

def _section():
    return shop_settings.section(current_app, SECTION)


@bp.get("/program")
def program():
    from plugin.admin.views import SectionForm

    section = _section()
    values = shop_settings.form_values(section, shop_settings.read(request_session(), g.shop.id, section))
    form = SectionForm(section.name, section.label, section.template, values, {})
    return render_template("loyalty/program.html", section=form)


@bp.post("/program")
def save_program():
    from plugin.admin.views import SectionForm

    section = _section()
    data = shop_settings.form_data(section, request.form)
    try:
        shop_settings.save(request_session(), g.shop.id, section, data)
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        form = SectionForm(section.name, section.label, section.template, data, errors)
        return render_template("loyalty/program.html", section=form), 422
    flash(gettext("Loyalty program: saved."), "success")
    return redirect(url_for(".program"))


# -- analytics

@bp.get("/analytics")
def analytics():
    return render_template("loyalty/analytics.html", data=service.analytics(request_session(), g.shop.id))


# -- referral review

HOLD_REASONS = {
    "same_email": lazy_gettext("The friend's email is the advocate's own (after ignoring case, dots and "
                               "+aliases)."),
    "same_address": lazy_gettext("The friend gave the same shipping address as the advocate."),
    "advocate_ordered": lazy_gettext("The advocate placed the friend's first order themselves."),
    "ip_limit": lazy_gettext("Many referrals came from the same IP address."),
    "order_returned": lazy_gettext("The friend's first order was refunded or cancelled."),
}


def hold_reason(value: str) -> str:
    return str(HOLD_REASONS.get(value, value))


@bp.get("/referrals")
def referrals():
    from plugin.loyalty.referrals import held_referrals

    return render_template("loyalty/referrals.html", held=held_referrals(request_session(), g.shop.id),
                           hold_reason=hold_reason)


@bp.post("/referrals/<id:referral_id>/review")
def review_referral(referral_id: int):
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        flash(gettext("Choose Approve or Reject."), "error")
        return redirect(url_for(".referrals"))
    approve = decision == "approve"
    if service.review_referral(request_session(), g.shop.id, referral_id, approve, actor()):
        flash(gettext("Referral approved: the advocate is rewarded once the friend's order passes its "
                      "pending period.") if approve else gettext("Referral rejected: nothing is credited."),
              "success")
    else:
        flash(gettext("This referral was reviewed already."), "warning")
    return redirect(url_for(".referrals"))


# -- rewards

REWARD_KIND_LABELS = {
    "fixed_amount": lazy_gettext("Fixed amount off"), "percentage": lazy_gettext("Percentage off"),
    "free_shipping": lazy_gettext("Free shipping"), "free_product": lazy_gettext("Free product"),
    "store_credit": lazy_gettext("Store credit"), "variable": lazy_gettext("Amount chosen with a slider"),
}
COMBINES = {"order": lazy_gettext("Order discounts"), "product": lazy_gettext("Product discounts"),
            "shipping": lazy_gettext("Shipping discounts")}
REWARD_TEXT = ("name", "kind", "cost", "value", "min_order", "free_product_id", "code_expiry_days", "min_points",
               "max_points", "position")
OPTIONAL = ("min_order", "free_product_id", "code_expiry_days", "min_points", "max_points")


def _reward_messages(data: dict) -> dict:
    """The rewards' own validation, its generic messages (a whole number, a field to fill in) in the
    merchant's language as the settings pages say them; a schema made per request."""
    from plugin.admin.shop_settings import SettingsSchema
    from plugin.loyalty.rewards import RewardSchema

    class TranslatedRewardSchema(RewardSchema):
        on_bind_field = SettingsSchema.on_bind_field

    return TranslatedRewardSchema().validate(data)


def _reward_form() -> tuple[dict, dict]:
    """What the merchant typed (to show again) and the values for ``plugin.loyalty.rewards``."""
    typed = {name: request.form.get(name, "").strip()[:200] for name in REWARD_TEXT}
    typed["product_ids"] = request.form.get("product_ids", "")[:5000]
    typed["collection_ids"] = request.form.get("collection_ids", "")[:5000]
    typed["combines_with"] = request.form.getlist("combines_with")
    typed["tier_ids"] = [value for value in request.form.getlist("tier_ids") if value.isdigit()]
    typed["active"] = bool(request.form.get("active"))
    data: dict = {name: (typed[name] or None) if name in OPTIONAL else typed[name] for name in REWARD_TEXT}
    data["value"] = typed["value"] or "0"
    data["position"] = typed["position"] or "0"
    for name in ("product_ids", "collection_ids"):
        data[name] = [part.strip() for part in typed[name].replace("\n", ",").split(",") if part.strip()]
    data["combines_with"] = typed["combines_with"]
    data["tier_ids"] = [int(value) for value in typed["tier_ids"]]
    data["active"] = typed["active"]
    return typed, data


def _reward_typed(reward) -> dict:
    def text_of(value):
        return "" if value is None else str(value)

    typed = {name: text_of(getattr(reward, name)) for name in REWARD_TEXT}
    typed["product_ids"] = ", ".join(reward.product_ids or [])
    typed["collection_ids"] = ", ".join(reward.collection_ids or [])
    typed["combines_with"] = list(reward.combines_with or [])
    typed["tier_ids"] = [str(t) for t in reward.tier_ids or []]
    typed["active"] = bool(reward.active)
    return typed


def _reward_page(reward=None, typed: dict | None = None, errors: dict | None = None):
    session = request_session()
    return render_template("loyalty/rewards.html", rewards=service.list_rewards(session, g.shop.id), reward=reward,
                           typed=typed if typed is not None else (_reward_typed(reward) if reward else
                                                                  {"kind": "fixed_amount", "active": True}),
                           errors=errors or {}, kinds=REWARD_KIND_LABELS, combines=COMBINES,
                           tiers=service.tiers(session, g.shop.id))


@bp.get("/rewards")
def rewards():
    return _reward_page()


@bp.get(f"/rewards/<{ID32}:reward_id>")
def reward(reward_id: int):
    return _reward_page(service.get_reward(request_session(), g.shop.id, reward_id))


def _field_errors(messages) -> dict:
    if not isinstance(messages, dict):
        return {"form": " ".join(map(str, messages))}
    errors = {}
    for name, value in messages.items():
        while isinstance(value, (list, dict)) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        errors[name if name in REWARD_TEXT or name in ("product_ids", "collection_ids", "combines_with", "tier_ids")
               else "form"] = str(value)
    return errors


@bp.post("/rewards")
@bp.post(f"/rewards/<{ID32}:reward_id>")
def save_reward(reward_id: int | None = None):
    existing = service.get_reward(request_session(), g.shop.id, reward_id) if reward_id is not None else None
    typed, data = _reward_form()
    messages = _reward_messages(data)
    if messages:
        return _reward_page(existing, typed, _field_errors(messages)), 422
    try:
        saved = service.save_reward(request_session(), g.shop.id, reward_id, data)
    except ValidationError as exc:
        return _reward_page(existing, typed, _field_errors(exc.messages)), 422
    flash(gettext("Reward saved."), "success")
    return redirect(url_for(".reward", reward_id=saved.id))


@bp.post(f"/rewards/<{ID32}:reward_id>/deactivate")
def deactivate_reward(reward_id: int):
    service.deactivate_reward(request_session(), g.shop.id, reward_id)
    flash(gettext("Reward deactivated: members no longer see it; codes issued already still work."), "success")
    return redirect(url_for(".rewards"))


# -- tiers

def _tier_typed(tier=None) -> dict:
    if tier is None:
        return {"free_shipping": False}
    typed = {"name": tier.name, "birthday_bonus": str(tier.birthday_bonus), "free_shipping": bool(tier.free_shipping)}
    for name in ("entry_threshold", "retention_threshold", "earn_multiplier"):
        value = Decimal(getattr(tier, name))  # 250.0000 shown as 250, 1.500 as 1.5
        typed[name] = str(int(value)) if value == value.to_integral_value() else str(value.normalize())
    return typed


def _tier_page(tier=None, typed: dict | None = None, errors: dict | None = None, preview=None):
    session = request_session()
    return render_template("loyalty/tiers.html", tiers=service.tiers(session, g.shop.id), tier=tier,
                           typed=typed if typed is not None else _tier_typed(tier), errors=errors or {},
                           preview=preview)


@bp.get("/tiers")
def tiers():
    return _tier_page()


@bp.get(f"/tiers/<{ID32}:tier_id>")
def tier(tier_id: int):
    return _tier_page(service.get_tier(request_session(), g.shop.id, tier_id))


@bp.post("/tiers")
@bp.post(f"/tiers/<{ID32}:tier_id>")
def save_tier(tier_id: int | None = None):
    """Preview (the default button: who would move, nothing written) or Save (writes, queues the
    recalculation)."""
    from plugin.loyalty.tiers import TierInvalid

    session = request_session()
    existing = service.get_tier(session, g.shop.id, tier_id) if tier_id is not None else None
    typed = {name: request.form.get(name, "").strip()[:100] for name in service.TIER_FIELDS}
    typed["free_shipping"] = bool(request.form.get("free_shipping"))
    try:
        if request.form.get("action") == "save":
            saved = service.save_tier(session, g.shop.id, tier_id, typed)
            flash(gettext("Tier saved. Members are moved to their tiers in a moment."), "success")
            return redirect(url_for(".tier", tier_id=saved.id))
        result = service.tier_preview(session, g.shop.id, tier_id, typed)
    except TierInvalid as exc:
        field = exc.field if exc.field in service.TIER_FIELDS else "form"
        return _tier_page(existing, typed, {field: exc.message}), 422
    return _tier_page(service.get_tier(session, g.shop.id, tier_id) if tier_id else None, typed, preview=result)


@bp.post(f"/tiers/<{ID32}:tier_id>/delete")
def delete_tier(tier_id: int):
    service.delete_tier(request_session(), g.shop.id, tier_id)
    flash(gettext("Tier deleted. Its members are placed again in a moment."), "success")
    return redirect(url_for(".tiers"))
