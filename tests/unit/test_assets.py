"""Building static/ for serving: each file under its name and a versioned name, compressed where it pays,
one build per tree reused across restarts, the previous version's files kept for pages cached before."""
from __future__ import annotations

import gzip
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import brotli
import pytest

from plugin.assets import AssetError, build, versioned_name

SCRIPT = b"/* a widget */\n" + b"console.log('storecare');\n" * 40


@pytest.fixture
def source(tmp_path) -> Path:
    root = tmp_path / "static"
    (root / "widgets").mkdir(parents=True)
    (root / "loader.js").write_bytes(SCRIPT)
    (root / "widgets" / "w.css").write_bytes(b".sc{color:red}\n" * 30)
    (root / "tiny.txt").write_bytes(b"hi")
    (root / "logo.png").write_bytes(b"\x89PNG" + bytes(500))
    return root


def test_a_versioned_name_carries_the_start_of_the_content_hash():
    assert versioned_name("widgets/orders.js", "ab" * 32) == "widgets/orders." + "ab" * 6 + ".js"
    assert versioned_name("a.min.css", "cd" * 32) == "a.min." + "cd" * 6 + ".css"


def test_each_file_is_laid_out_under_both_names_with_compressed_variants_where_they_pay(source, tmp_path):
    assets = build(source, tmp_path / "assets")
    name = assets.versioned_name("loader.js")
    assert name == versioned_name("loader.js", hashlib.sha256(SCRIPT).hexdigest())
    for served in ("loader.js", name):
        assert (assets.root / served).read_bytes() == SCRIPT
        assert brotli.decompress((assets.root / f"{served}.br").read_bytes()) == SCRIPT
        assert gzip.decompress((assets.root / f"{served}.gz").read_bytes()) == SCRIPT
    assert not (assets.root / "tiny.txt.gz").exists()  # two bytes do not shrink
    assert not (assets.root / "logo.png.br").exists()  # images are compressed already
    assert (assets.root / assets.versioned_name("widgets/w.css")).is_file()
    with pytest.raises(AssetError):
        assets.versioned_name("nothing.js")


def test_the_same_tree_is_built_once(source, tmp_path):
    first = build(source, tmp_path / "assets")
    stamp = (first.root / "loader.js").stat().st_mtime_ns
    again = build(source, tmp_path / "assets")
    assert again == first and (again.root / "loader.js").stat().st_mtime_ns == stamp


def test_a_changed_file_makes_a_new_build_that_keeps_the_previous_versions_files(source, tmp_path):
    old = build(source, tmp_path / "assets")
    old_name = old.versioned_name("loader.js")
    (source / "loader.js").write_bytes(SCRIPT + b"// v2\n")
    new = build(source, tmp_path / "assets")
    assert new.root != old.root
    assert (new.root / "loader.js").read_bytes().endswith(b"// v2\n")
    assert new.versioned_name("loader.js") != old_name
    assert (new.root / old_name).read_bytes() == SCRIPT  # a page cached before the deploy still works
    assert (new.root / f"{old_name}.br").is_file()
    assert old_name in new.versioned


def test_processes_building_the_same_tree_at_once_share_one_build(source, tmp_path):
    with ThreadPoolExecutor(4) as pool:
        builds = list(pool.map(lambda _: build(source, tmp_path / "assets"), range(8)))
    assert len({b.root for b in builds}) == 1
    assert [p.name for p in (tmp_path / "assets").iterdir()] == [builds[0].root.parent.name]  # no leftovers


def test_a_missing_static_directory_is_named(tmp_path):
    with pytest.raises(AssetError, match="no static directory"):
        build(tmp_path / "nope", tmp_path / "assets")
