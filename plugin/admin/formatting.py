"""How the admin shows money, times and statuses: in the viewer's language and the shop's timezone."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time
from babel.numbers import format_currency, get_currency_symbol
from flask import g
from flask_babel import get_locale, lazy_gettext

LANGUAGES = (("en", "English"), ("pl", "Polski"))  # each named in its own language

STATUS_LABELS = {
    # orders: financial
    "pending": lazy_gettext("Pending"),
    "authorized": lazy_gettext("Authorized"),
    "partially_paid": lazy_gettext("Partially paid"),
    "paid": lazy_gettext("Paid"),
    "partially_refunded": lazy_gettext("Partially refunded"),
    "refunded": lazy_gettext("Refunded"),
    "voided": lazy_gettext("Voided"),
    # orders: fulfilment
    "unfulfilled": lazy_gettext("Unfulfilled"),
    "partial": lazy_gettext("Partially fulfilled"),
    "partially_fulfilled": lazy_gettext("Partially fulfilled"),
    "fulfilled": lazy_gettext("Fulfilled"),
    "restocked": lazy_gettext("Restocked"),
    # jobs, sync and webhook deliveries
    "queued": lazy_gettext("Queued"),
    "running": lazy_gettext("Running"),
    "retrying": lazy_gettext("Retrying"),
    "succeeded": lazy_gettext("Succeeded"),
    "failed": lazy_gettext("Failed"),
    "idle": lazy_gettext("Idle"),
    "done": lazy_gettext("Done"),
    "received": lazy_gettext("Received"),
    "processed": lazy_gettext("Processed"),
    "ignored": lazy_gettext("Ignored"),
    # messages to shoppers (the outbox)
    "waiting": lazy_gettext("Waiting"),
    "sent": lazy_gettext("Sent"),
    "cancelled": lazy_gettext("Cancelled"),
}
TONES = {
    "paid": "success", "fulfilled": "success", "succeeded": "success", "done": "success",
    "processed": "success", "sent": "success",
    "failed": "critical", "voided": "critical",
    "pending": "warning", "unfulfilled": "warning", "retrying": "warning", "partially_paid": "warning",
    "partial": "warning", "partially_fulfilled": "warning",
    "queued": "info", "waiting": "info", "running": "info", "received": "info", "authorized": "info",
}


def status_label(status: str | None) -> str:
    if not status:
        return "—"
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status.replace("_", " ").capitalize()


def status_tone(status: str | None) -> str:
    return TONES.get(status or "", "neutral")


def money(amount, currency: str) -> str:
    """An amount in the viewer's language: "PLN 210.00" in English, "210,00 zł" in Polish."""
    locale = get_locale()
    text = format_currency(Decimal(str(amount or 0)), currency, locale=locale)
    return _currency_spacing(text, get_currency_symbol(currency, locale=locale))


def _currency_spacing(text: str, symbol: str) -> str:
    # CLDR's currencySpacing, which babel does not apply: a letter symbol next to a digit gets a
    # no-break space (``PLN210.00`` -> ``PLN 210.00``), as ICU and the browsers' Intl do.
    if symbol and symbol[-1].isalpha():
        text = re.sub(rf"{re.escape(symbol)}(?=\d)", lambda m: m.group(0) + "\xa0", text)
    if symbol and symbol[0].isalpha():
        text = re.sub(rf"(?<=\d){re.escape(symbol)}", lambda m: "\xa0" + m.group(0), text)
    return text


def _shop_zone():
    shop = g.get("shop")
    try:
        return ZoneInfo(shop.timezone) if shop is not None and shop.timezone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(moment: datetime | None, date_format: str = "medium") -> str:
    """A moment in the shop's timezone and the viewer's language, to the minute; "—" when there is none."""
    if moment is None:
        return "—"
    locale = get_locale()
    local = moment.astimezone(_shop_zone())
    date_text = format_date(local.date(), format=date_format, locale=locale)
    time_text = format_time(local.time(), format="short", locale=locale)
    pattern = str(locale.datetime_formats[date_format]).replace("'", "")  # as babel's format_datetime does
    return pattern.replace("{0}", time_text).replace("{1}", date_text)


def day(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return format_date(moment.astimezone(_shop_zone()).date(), format="medium", locale=get_locale())
