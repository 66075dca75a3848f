"""Per-shop settings in typed sections: a feature declares one, the admin's Settings page edits it.

A feature declares ``Feature(settings=SettingsSection(name, label, schema, template, defaults))``
(plugin/features.py). Its values are kept per shop in ``shop_settings`` (one row per shop and section,
``plugin.admin.models.ShopSetting``) as the JSON its schema dumps:

- ``save(db, shop_id, name, data)`` loads ``data`` through the schema (``ValidationError`` with a
  message per field if it is bad: nothing is written) and stores what the schema dumps, calls the
  section's ``on_save(session, shop_id, before, after)`` if it has one (in the same transaction: a
  feature reacts to a change, such as a program turned on, together with it), then commits;
- ``read(db, shop_id, name)`` loads the stored values over the section's defaults through the schema
  again, so a feature always gets typed values; a stored value the schema no longer accepts (a field
  whose rules changed) gives way to its default, and fields the schema no longer has are dropped.

The schema is a ``SettingsSchema`` (marshmallow) whose dump is JSON (``fields.Decimal(as_string=True)``
for amounts): its error messages are in the merchant's language
(English and Polish), also those of the ``Range``, ``Length`` and ``OneOf`` validators a field uses
without an ``error`` of its own. The section's template draws the form's fields with the macros of
``admin/_forms.html``; the Settings page (``plugin.admin.views``) wraps it in a form, saves it, and on
bad input shows it again with what the merchant typed and a message at each field.
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from flask import Flask, has_request_context
from flask_babel import gettext, ngettext
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.admin.models import ShopSetting
from plugin.db import utcnow
from plugin.upsert import insert_for

log = logging.getLogger(__name__)
SECTIONS_KEY = "storecare.settings_sections"
SECTION_FIELD = "settings_section"  # the hidden field naming the section a form saves


class SettingsSchema(Schema):
    """Base of a settings section's schema: unknown input is left out, and what a field says when the
    input is wrong is said in the merchant's language. A schema instance speaks the language of the
    request it is made in (make one per request: ``read`` and ``save`` do); outside a request it keeps
    marshmallow's English."""

    class Meta:
        unknown = EXCLUDE

    def __init__(self, *args, translated: bool = True, **kwargs) -> None:
        self._translated = translated  # read before marshmallow binds the fields (in __init__)
        super().__init__(*args, **kwargs)

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        if not getattr(self, "_translated", True) or not has_request_context():  # nobody reads these messages
            return
        field_obj.error_messages = {**field_obj.error_messages, **_field_messages(field_obj)}
        field_obj.validators = [_translated(validator, field_obj) for validator in field_obj.validators]


def _field_messages(field_obj: fields.Field) -> dict:
    messages = {"required": gettext("Fill in this field."), "null": gettext("Fill in this field."),
                "validator_failed": gettext("This value is not allowed.")}
    if isinstance(field_obj, fields.Boolean):
        messages["invalid"] = gettext("Choose yes or no.")
    elif isinstance(field_obj, fields.Integer):
        messages["invalid"] = gettext("Enter a whole number.")
    elif isinstance(field_obj, fields.Number):
        messages["invalid"] = gettext("Enter a number.")
        messages["special"] = gettext("Enter a number.")
    elif isinstance(field_obj, fields.Email):
        messages["invalid"] = gettext("Enter an email address.")
    elif isinstance(field_obj, fields.URL):
        messages["invalid"] = gettext("Enter a web address starting with https://.")
    elif isinstance(field_obj, fields.String):
        messages["invalid"] = gettext("Enter text.")
    if isinstance(field_obj, fields.Number):
        messages["too_large"] = gettext("This number is too large.")
    return messages


def _translated(validator, field_obj: fields.Field):
    """A copy of a marshmallow validator that says its message in the merchant's language, unless the
    feature gave it a message of its own (``error=``)."""
    baked = isinstance(validator, (validate.Email, validate.URL)) \
        and validator.error == field_obj.default_error_messages.get("invalid")  # the field's own check
    if getattr(validator, "error", None) and not baked:
        return validator
    if isinstance(validator, validate.Range):
        low, high = validator.min, validator.max
        if low is not None and high is not None:
            message = gettext("Enter a number from %(min)s to %(max)s.", min=low, max=high)
        elif low is not None:
            message = gettext("Enter %(min)s or more.", min=low)
        else:
            message = gettext("Enter %(max)s or less.", max=high)
    elif isinstance(validator, validate.Length):
        if validator.equal is not None:
            message = ngettext("Use exactly %(num)d character.", "Use exactly %(num)d characters.",
                               validator.equal)
        elif validator.min is not None and validator.max is not None:
            message = gettext("Use %(min)d to %(max)d characters.", min=validator.min, max=validator.max)
        elif validator.max is not None:
            message = ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.",
                               validator.max)
        else:
            message = ngettext("Use at least %(num)d character.", "Use at least %(num)d characters.",
                               validator.min)
    elif isinstance(validator, (validate.OneOf, validate.ContainsOnly)):
        message = gettext("Choose one of the options.")
    elif isinstance(validator, validate.Email):
        message = gettext("Enter an email address.")
    elif isinstance(validator, validate.URL):
        message = gettext("Enter a web address starting with https://.")
    else:
        return validator
    translated = copy.copy(validator)
    translated.error = message.replace("{", "{{").replace("}", "}}")  # validators .format() their message
    return translated


@dataclass(frozen=True)
class Section:
    """A section installed in an app: the feature's declaration and its schema class."""

    name: str
    label: object
    schema: type[SettingsSchema]
    template: str
    defaults: dict = field(hash=False)
    on_save: Callable[[Session, int, dict, dict], None] | None = field(default=None, hash=False)

    def make_schema(self) -> SettingsSchema:
        return self.schema()

    @cached_property
    def reader(self) -> SettingsSchema:
        """One schema for ``read``, shared by every request: reading shows nobody a message, so it needs
        no translated one, and making a translated schema per read cost half of the loyalty widget's
        rewards request (bench/loyalty_storefront.py). Loading keeps no state in the schema."""
        return self.schema(translated=False)


def register_section(app: Flask, declared, schema, on_save=None) -> Section:
    """Install a feature's ``SettingsSection`` (plugin/features.py); ValueError if its name is taken or its
    defaults are not valid for its schema, TypeError if the schema is no ``SettingsSchema``."""
    sections: dict[str, Section] = app.extensions.setdefault(SECTIONS_KEY, {})
    if declared.name in sections:
        raise ValueError(f"settings section {declared.name!r} is declared twice")
    if not (isinstance(schema, type) and issubclass(schema, SettingsSchema)):
        raise TypeError(f"settings section {declared.name!r}: {declared.schema} is not a SettingsSchema")
    try:
        schema().load(dict(declared.defaults))
    except ValidationError as exc:
        raise ValueError(f"settings section {declared.name!r}: defaults are not valid: {exc.messages}") from None
    if on_save is not None and not callable(on_save):
        raise TypeError(f"settings section {declared.name!r}: its on_save is not a function")
    section = Section(declared.name, declared.label, schema, declared.template, dict(declared.defaults), on_save)
    sections[declared.name] = section
    return section


def sections(app: Flask) -> list[Section]:
    """The app's settings sections, in the order their features were installed."""
    return list(app.extensions.get(SECTIONS_KEY, {}).values())


def section(app: Flask, name: str) -> Section | None:
    return app.extensions.get(SECTIONS_KEY, {}).get(name)


def _stored(db: Session, shop_id: int, name: str) -> dict:
    values = db.scalar(select(ShopSetting.values).where(ShopSetting.shop_id == shop_id,
                                                        ShopSetting.section == name))
    return dict(values) if isinstance(values, dict) else {}


def read(db: Session, shop_id: int, of: Section) -> dict:
    """The shop's values of section ``of``, typed by its schema, defaults where nothing (valid) is stored."""
    schema = of.reader
    known = set(schema.load_fields)
    stored = {key: value for key, value in _stored(db, shop_id, of.name).items() if key in known}
    try:
        return schema.load({**of.defaults, **stored})
    except ValidationError as exc:
        bad = set(exc.messages) if isinstance(exc.messages, dict) else set(stored)
        log.warning("shop %s: stored settings %r no longer valid for %s; their defaults are used",
                    shop_id, sorted(bad), of.name)
        return schema.load({**of.defaults, **{k: v for k, v in stored.items() if k not in bad}})


def save(db: Session, shop_id: int, of: Section, data: dict) -> dict:
    """Validate ``data`` with the section's schema and store it for the shop, replacing what was stored
    (one row per shop and section: saving again updates it); commits. ValidationError, with a message
    per field, if the data is not valid: then nothing is written. Returns the typed values."""
    schema = of.make_schema()
    loaded = schema.load(data)
    values = schema.dump(loaded)
    before = read(db, shop_id, of) if of.on_save is not None else None
    now = utcnow()
    stmt = insert_for(db, ShopSetting.__table__).values(shop_id=shop_id, section=of.name, values=values,
                                                         updated_at=now)
    db.execute(stmt.on_conflict_do_update(index_elements=["shop_id", "section"],
                                          set_={"values": values, "updated_at": now}))
    if of.on_save is not None:
        try:
            of.on_save(db, shop_id, before, loaded)
        except BaseException:
            db.rollback()
            raise
    db.commit()
    return loaded


def form_data(of: Section, form) -> dict:
    """What a section's form sent, for ``save``: the schema's fields only; a checkbox left unticked
    (browsers send nothing for it) is false; a list of nested rows comes as repeatable rows
    (``<field>-<n>-<name>``), none sent: an empty list."""
    schema = of.make_schema()
    data = {}
    for name, field_obj in schema.load_fields.items():
        key = field_obj.data_key or name
        if isinstance(field_obj, fields.Boolean):
            data[key] = "true" if form.get(key) in ("true", "on", "1", "yes") else "false"
        elif isinstance(field_obj, fields.List) and isinstance(field_obj.inner, fields.Nested):
            data[key] = _rows(form, key)
        elif key in form:
            data[key] = form.get(key)
    return data


def _rows(form, key: str) -> list[dict]:
    """A list of nested rows as a form sends them, one field per ``<key>-<n>-<name>`` (repeatable rows),
    in the order of ``n``; a row whose fields are all blank is left out."""
    found: dict[int, dict] = {}
    prefix = f"{key}-"
    for name in form:
        if not name.startswith(prefix):
            continue
        index, _, inner = name[len(prefix):].partition("-")
        if index.isdigit() and len(index) <= 4 and inner:
            found.setdefault(int(index), {})[inner] = form.get(name, "").strip()
    return [row for _index, row in sorted(found.items()) if any(row.values())]


def form_values(of: Section, values: dict) -> dict:
    """Typed values as a form shows them (what the schema dumps)."""
    return of.make_schema().dump(values)
