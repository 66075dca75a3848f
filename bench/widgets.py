"""Storefront weight: the loader and every registered widget against its budget, as browsers get them.

The loader runs on every storefront page, so it has one fixed budget (``LOADER_BUDGET``, 2 KB gzipped),
however many widgets there are: it learns them from the shop's manifest. Each widget declares its own
budget (``Widget.budget``: its script and style together, gzipped), checked here rather than by a unit
test, so that a feature landing never breaks another's test. The sizes are those of the files the app
serves (its build: plugin/assets.py), gzip -9 and brotli as WhiteNoise sends them. The manifest is
measured for the shop as it is and with ``--widgets`` more registered: only the manifest grows (one
small, cached request per page), never the loader.

    .venv/bin/python bench/widgets.py [--widgets 10]

Prints one line per file; exits 1 when anything is over its budget or the Shopify extension's copy of
the loader differs from static/loader.js.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
LOADER_BUDGET = 2048
EXTENSION_LOADER = ROOT / "adapters" / "shopify" / "extension" / "assets" / "loader.js"


def served(root: Path, name: str) -> tuple[int, int, int]:
    """(raw, gzip, brotli) bytes of a built file; a variant the build skipped counts as the raw size."""
    raw = (root / name).stat().st_size
    sizes = [(root / f"{name}{suffix}").stat().st_size if (root / f"{name}{suffix}").exists() else raw
             for suffix in (".gz", ".br")]
    return raw, sizes[0], sizes[1]


def line(label: str, raw: int, gz: int, br: int, budget: int) -> bool:
    ok = gz <= budget
    print(f"{label:<34} {raw:>7,} B raw  {gz:>6,} B gzip  {br:>6,} B brotli  "
          f"budget {budget:>6,} B gzip  {gz / budget:5.2f}  {'ok' if ok else 'OVER BUDGET'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widgets", type=int, default=10, help="extra widgets for the manifest figure")
    args = parser.parse_args()

    from plugin import create_app
    from plugin.assets import ASSETS_KEY
    from plugin.models import metadata
    from plugin.settings import Settings
    from plugin.shops.models import Shop
    from plugin.storefront.widgets import Widget, register_widget, registered

    work = Path(tempfile.mkdtemp(prefix="storecare-bench-widgets-"))
    app = create_app(Settings(env="test", database_url=f"sqlite:///{work / 'bench.db'}",
                              queue_path=str(work / "queue.db"), assets_path=str(work / "assets"),
                              log_level="WARNING").validated())
    metadata.create_all(app.extensions["storecare.db"].engine)
    assets = app.extensions[ASSETS_KEY]
    ok = True

    print(f"loader and widgets as served (gzip -9 / brotli), ratio = gzip / budget; {len(registered(app))} widget(s)")
    ok &= line("loader.js (every storefront page)", *served(assets.root, "loader.js"), LOADER_BUDGET)
    same = EXTENSION_LOADER.read_bytes() == (ROOT / "static" / "loader.js").read_bytes()
    print(f"{'  Shopify extension copy':<34} {'identical' if same else 'DIFFERS: run make extension'}")
    ok &= same
    for entry in registered(app):
        widget = entry.widget
        files = [widget.script] + ([widget.style] if widget.style else [])
        sizes = [served(assets.root, name) for name in files]
        total = tuple(sum(s[i] for s in sizes) for i in range(3))
        ok &= line(f"{widget.name} ({entry.feature}, {widget.mount})", *total, widget.budget)
        for name, size in zip(files, sizes, strict=True):
            print(f"{'  ' + name:<34} {size[0]:>7,} B raw  {size[1]:>6,} B gzip  {size[2]:>6,} B brotli")

    with app.app_context():
        db = app.extensions["storecare.db"]
        with db.uow() as session:
            session.add(Shop(platform="sandbox", domain="bench.sandbox.test", name="Bench", currency="PLN",
                             locale="pl", status="installed"))
            session.commit()
        client = app.test_client()

        def manifest() -> bytes:
            return client.get("/storefront/api/v1/manifest?shop=bench.sandbox.test").get_data()

        one = manifest()
        for i in range(args.widgets):
            register_widget(app, "bench", Widget(f"bench-{i}", script="widgets/orders.js",
                                                 style="widgets/orders.css", label=f"Widget {i}",
                                                 icon="M4 4h16v12H4Z"))
        many = manifest()
    count = len(registered(app))
    print(f"manifest, {count - args.widgets} widget(s): {len(one):,} B raw, {len(gzip.compress(one, 9)):,} B gzip; "
          f"{count} widgets: {len(many):,} B raw, {len(gzip.compress(many, 9)):,} B gzip "
          f"(+{(len(gzip.compress(many, 9)) - len(gzip.compress(one, 9))) / args.widgets:.0f} B gzip a widget; "
          f"the loader stays {served(assets.root, 'loader.js')[1]:,} B)")
    app.extensions["storecare.db"].dispose()
    print("all within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
