"""The Polish catalogue is complete: every string marked for translation in the app (the Python code and
the templates babel.cfg maps: admin, connect pages, storefront...) has a real Polish translation."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "plugin" / "translations" / "pl" / "LC_MESSAGES" / "messages.po"
# The keywords of the extract command in babel.cfg (pybabel extract -k lazy_gettext -k N_).
KEYWORDS = dict(DEFAULT_KEYWORDS, lazy_gettext=None, N_=None)
# A %-placeholder as gettext/ngettext fill them in: %(name)s, %(num)d, %s (not a literal %%).
PLACEHOLDER = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrs%])")


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


def _placeholders(text: str) -> list[str]:
    return sorted(f"%({name}){kind}" if name else f"%{kind}"
                  for name, kind in PLACEHOLDER.findall(text) if kind != "%")


def _extracted():
    """Every message babel.cfg extracts, as ``{(msgid, context): (msgid_plural or None, [where...])}``."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    messages = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        singular, plural = message if isinstance(message, tuple) else (message, None)
        _plural, where = messages.setdefault((singular, context), (plural, []))
        where.append(f"{filename}:{lineno}")
    return messages


def test_every_marked_string_has_a_polish_translation():
    """What ``pybabel extract`` finds in plugin/ (Python and templates) is in the .po, translated, not fuzzy,
    singular or plural as the code calls it, with the same placeholders, so no page shows English in Polish."""
    catalog = _catalog()
    extracted = _extracted()
    files = {where.split(":")[0] for _plural, places in extracted.values() for where in places}
    assert any(f.endswith(".py") for f in files) and any(f.endswith(".html") for f in files), \
        "babel.cfg extracted no Python or no templates: is it right?"

    problems = []
    for (msgid, context), (plural, places) in sorted(extracted.items(), key=lambda item: item[0][0]):
        message = catalog.get(msgid, context=context)
        if message is None:
            problems.append((msgid, "missing", places[0]))
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if "fuzzy" in message.flags or not all(form and form.strip() for form in forms):
            problems.append((msgid, "untranslated or fuzzy", places[0]))
            continue
        if (plural is None) == message.pluralizable:
            problems.append((msgid, "plural in the code but not in the .po, or the other way", places[0]))
            continue
        sources = (msgid,) if plural is None else (msgid,) + (plural,) * (len(forms) - 1)
        for source, form in zip(sources, forms, strict=True):
            if _placeholders(form) != _placeholders(source):
                problems.append((msgid, f"placeholders {_placeholders(form)} != {_placeholders(source)}",
                                 places[0]))
    assert problems == []
