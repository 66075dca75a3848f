"""Integration fixtures: the translation catalogues are compiled once per run (.mo files are not in git)."""
from __future__ import annotations

import pytest

from tests.i18n_support import compile_catalogs


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    compile_catalogs()
