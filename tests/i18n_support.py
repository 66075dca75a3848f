"""Compile the translation catalogues for tests: the .mo files are build output (git ignores them).

``compile_catalogs()`` compiles every ``plugin/translations/<lang>/LC_MESSAGES/*.po`` whose ``.mo``
is missing or older, the same as ``pybabel compile -d plugin/translations`` (the Makefile's step), and
is safe when several test workers call it at once (each writes a temporary file, then renames it).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "plugin" / "translations"


class CatalogError(Exception):
    pass


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile stale catalogues; returns the .mo files written. Raises CatalogError on a broken .po."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        errors = [f"{message.id!r}: {error}" for message, errs in catalog.check() for error in errs]
        if errors:
            raise CatalogError(f"{po_path}: " + "; ".join(errors))
        fd, tmp = tempfile.mkstemp(dir=mo_path.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as mo_file:
                write_mo(mo_file, catalog)
            os.chmod(tmp, 0o644)  # as pybabel writes it, not mkstemp's 0600
            os.replace(tmp, mo_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(mo_path)
    return written
