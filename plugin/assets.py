"""Static files: versioned by content, precompressed, and served by WhiteNoise with the right caching.

``static/`` is the source. At start-up ``build`` lays it out in the assets directory
(``STORECARE_ASSETS_PATH``, default ``<data dir>/assets``; a directory under the system's temporary
one when unset, as in tests), one folder per content of the whole tree, made aside and renamed into
place so that processes starting together never see half a build::

    <assets>/<tree digest>/static/loader.js               the name a page that cannot know the version uses
    <assets>/<tree digest>/static/loader.3f9a1c2b7d10.js  the same bytes, named by the start of their SHA-256
    ... with .br and .gz beside each where they are smaller (WhiteNoise's Compressor: brotli, gzip -9)
    <assets>/<tree digest>/assets.json   {"files": {"loader.js": "loader.3f9a1c2b7d10.js", ...}, "kept": [...]}

A build of the same tree is reused, so a restart costs one hash per file. The versioned files of the
previous build are carried into a new one: a page or widget manifest cached before a deploy still finds
the files it names (one version back).

``init_assets`` puts WhiteNoise in front of the app for ``/static/``: a versioned name is answered
``Cache-Control: public, max-age=31536000, immutable`` (its bytes never change), any other name with a
short max-age (``SHORT_MAX_AGE``, revalidated in the background for a day), in the encoding the browser
accepts (``Vary: Accept-Encoding``), with ETag, Last-Modified and 304s. ``asset_url(name)``, the
templates' ``asset(name)``, is a file's versioned URL.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flask import Flask, current_app, url_for
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

ASSETS_KEY = "storecare.assets"
MANIFEST = "assets.json"
SERVED = "static"
HASH_LENGTH = 12
YEAR = 365 * 24 * 60 * 60
SHORT_MAX_AGE = 300  # what a changed unversioned file (the loader on WooCommerce) may take to reach browsers
REVALIDATE_WITHIN = 24 * 60 * 60  # stale-while-revalidate: a page never waits for that check


class AssetError(Exception):
    """The static files cannot be built (the message names the path)."""


@dataclass(frozen=True)
class Assets:
    """One build: where it is, and each source file's versioned name (both relative, with "/")."""

    root: Path  # the directory served as /static/
    files: dict[str, str]
    kept: tuple[str, ...] = ()  # versioned names carried from the build before
    versioned: frozenset[str] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "versioned", frozenset(self.files.values()) | frozenset(self.kept))

    def versioned_name(self, name: str) -> str:
        """``name``'s versioned name; ``AssetError`` if there is no such file."""
        try:
            return self.files[name]
        except KeyError:
            raise AssetError(f"no static file {name!r}") from None


def versioned_name(name: str, digest: str) -> str:
    """``widgets/orders.js`` -> ``widgets/orders.<first 12 hex digits>.js``."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest[:HASH_LENGTH]}{path.suffix}"))


def _sources(source: Path) -> dict[str, bytes]:
    if not source.is_dir():
        raise AssetError(f"no static directory at {source}")
    return {path.relative_to(source).as_posix(): path.read_bytes()
            for path in sorted(source.rglob("*")) if path.is_file() and not path.name.startswith(".")}


def default_root() -> Path:
    return Path(tempfile.gettempdir()) / f"storecare-assets-{os.getuid()}"


def build(source: Path, root: Path) -> Assets:
    """The build of ``source`` under ``root``: found if this tree was built before, else made."""
    contents = _sources(source)
    files = {name: versioned_name(name, hashlib.sha256(data).hexdigest()) for name, data in contents.items()}
    tree = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    target = root / tree
    if (target / MANIFEST).is_file():
        return _read(target)
    root.mkdir(parents=True, exist_ok=True)
    kept = _previous_versioned(root, exclude=target)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        compressor = Compressor(quiet=True)
        for name, data in contents.items():
            for written in (name, files[name]):
                _write(work / SERVED / written, data, compressor)
        for previous, name in kept:
            if name not in files.values():
                for suffix in ("", ".br", ".gz"):
                    if (previous / (name + suffix)).is_file():
                        (work / SERVED / name).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(previous / (name + suffix), work / SERVED / (name + suffix))
        carried = sorted({name for _, name in kept} - set(files.values()))
        (work / MANIFEST).write_text(json.dumps({"files": files, "kept": carried}, indent=1, sort_keys=True))
        try:
            work.rename(target)
        except OSError:  # another process built the same tree first: use its build
            if not (target / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _read(target)


def _write(path: Path, data: bytes, compressor: Compressor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if not compressor.should_compress(path.name):
        return
    for suffix, squeeze in ((".br", compressor.compress_brotli), (".gz", compressor.compress_gzip)):
        if suffix == ".br" and not compressor.use_brotli:
            continue
        packed = squeeze(data)
        if len(packed) < len(data) * 0.95:  # as WhiteNoise's Compressor: only when it is worth it
            path.with_name(path.name + suffix).write_bytes(packed)


def _read(target: Path) -> Assets:
    data = json.loads((target / MANIFEST).read_text())
    return Assets(root=target / SERVED, files=data["files"], kept=tuple(data.get("kept", ())))


def _previous_versioned(root: Path, exclude: Path) -> list[tuple[Path, str]]:
    """The versioned names of the newest other build (its own, not those it carried)."""
    builds = [d for d in root.iterdir() if d != exclude and not d.name.startswith(".")
              and (d / MANIFEST).is_file()]
    if not builds:
        return []
    newest = max(builds, key=lambda d: (d / MANIFEST).stat().st_mtime)
    return [(newest / SERVED, name) for name in _read(newest).files.values()]


class StaticFiles(WhiteNoise):
    """WhiteNoise with a year for versioned files (as the HTTP specification advises at most) and a short,
    background-revalidated max-age for the others."""

    FOREVER = YEAR

    def add_cache_headers(self, headers, path, url):
        if self.immutable_file_test(path, url):
            headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:
            headers["Cache-Control"] = (f"public, max-age={SHORT_MAX_AGE}, "
                                        f"stale-while-revalidate={REVALIDATE_WITHIN}")


def _nosniff(headers, path, url) -> None:
    headers["X-Content-Type-Options"] = "nosniff"


def init_assets(app: Flask, root: str | os.PathLike | None = None) -> Assets:
    """Build ``app``'s static folder and serve it through WhiteNoise, in front of ``app.wsgi_app``."""
    if not app.static_folder or not app.static_url_path:
        raise AssetError("the app has no static folder")
    assets = build(Path(app.static_folder), Path(root) if root else default_root())
    prefix = app.static_url_path.rstrip("/") + "/"
    versioned = {prefix + name for name in assets.versioned}
    app.wsgi_app = StaticFiles(app.wsgi_app, root=str(assets.root), prefix=prefix,
                               immutable_file_test=lambda path, url: url in versioned,
                               add_headers_function=_nosniff)
    app.extensions[ASSETS_KEY] = assets
    app.add_template_global(asset_url, "asset")
    return assets


def asset_url(name: str, *, _external: bool = False) -> str:
    """The versioned URL of static file ``name`` (e.g. ``"admin/admin.css"``): cached for a year."""
    return url_for("static", filename=current_app.extensions[ASSETS_KEY].versioned_name(name), _external=_external)
