"""The Polish catalogue is complete: every admin string extracted from the code has a real translation."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "plugin" / "translations" / "pl" / "LC_MESSAGES" / "messages.po"
ADMIN_SOURCES = ("plugin/admin/", "plugin/templates/admin/", "plugin/templates/base.html")


def _catalog():
    with PO.open("rb") as po_file:
        return read_po(po_file, locale="pl")


def test_every_message_has_a_polish_translation():
    catalog = _catalog()
    untranslated = []
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if "fuzzy" in message.flags or not all(form and form.strip() for form in forms):
            untranslated.append(message.id)
    assert untranslated == []
    assert len(catalog) > 100


def test_polish_has_three_plural_forms_and_plurals_fill_all_three():
    catalog = _catalog()

    assert catalog.num_plurals == 3
    plurals = [message for message in catalog if message.pluralizable]
    assert plurals and all(len(message.string) == 3 for message in plurals)


def test_placeholders_survive_translation():
    problems = [(message.id, errors) for message, errors in _catalog().check()]
    assert problems == []


def test_every_string_the_admin_shows_is_in_the_catalogue():
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = dict(DEFAULT_KEYWORDS, lazy_gettext=None)
    extracted = set()
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        if filename.startswith(ADMIN_SOURCES):
            extracted.add(message[0] if isinstance(message, tuple) else message)
    translated = {message.id[0] if isinstance(message.id, tuple) else message.id for message in _catalog()}

    assert extracted, "nothing extracted: is babel.cfg right?"
    assert sorted(extracted - translated) == []
