"""What the loader costs a storefront page: Chromium's Lighthouse-style numbers (LCP, CLS, total blocking
time) for the demo store page with the loader and without it, measured in the same run.

A test app (SQLite in a temporary directory) with a seeded sandbox shop, its loyalty program on (the
demo's program: tiers, rewards, history imported), is served on a loopback port; Debian's Chromium loads
the demo storefront page as a signed-in member, with the CPU slowed 4x as Lighthouse does for mobile.
"Without the loader" serves the page unchanged but answers the loader's request with an empty script,
so the two differ by the loader alone. Each variant is loaded ``--runs`` times in a fresh browser
context; medians are printed, and the ratio with/without. Then the shopper opens the loyalty launcher:
the time until the panel shows, and the layout shift it causes: what CLS counts (a shift more than
500 ms after the click) and any shift at all (the panel's own content moving counts there).

    .venv/bin/python bench/storefront_vitals.py [--runs 7]

LCP from ``largest-contentful-paint`` entries, CLS the sum of ``layout-shift`` values without recent
input, TBT the sum over long tasks after the first contentful paint of their time beyond 50 ms (to
the load event plus one second): the definitions Lighthouse uses, read from the page's own
PerformanceObserver entries rather than a Lighthouse run (no Node.js tool is installed here).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHROMIUM = "/usr/bin/chromium"
LAUNCHER = "Rewards"  # the loyalty launcher the shopper opens (its accessible name, English)
ARGS = ["--no-sandbox", "--disable-background-networking"]
OBSERVE = """
const v = window.__vitals = {lcp: 0, cls: 0, raw: 0, longtasks: [], fcp: 0};
const watch = (type, each) => new PerformanceObserver(l => l.getEntries().forEach(each))
  .observe({type, buffered: true});
watch('largest-contentful-paint', e => { v.lcp = e.renderTime || e.loadTime || e.startTime; });
watch('layout-shift', e => { v.raw += e.value; if (!e.hadRecentInput) v.cls += e.value; });
watch('longtask', e => v.longtasks.push([e.startTime, e.duration]));
watch('paint', e => { if (e.name === 'first-contentful-paint') v.fcp = e.startTime; });
"""
READ = """() => { const v = window.__vitals;
  const end = performance.timing.loadEventEnd - performance.timing.navigationStart + 1000;
  const tbt = v.longtasks.filter(([s]) => s >= v.fcp && s <= end).reduce((t, [s, d]) => t + Math.max(0, d - 50), 0);
  return {lcp: v.lcp, cls: v.cls, tbt: tbt}; }"""


def seeded_app(work: Path):
    from plugin import create_app
    from plugin.loyalty.demo import seed_program
    from plugin.loyalty.models import LoyaltyMember
    from plugin.models import metadata
    from plugin.settings import Settings
    from plugin.sync.models import Customer
    from tests.sandbox_support import install

    app = create_app(Settings(env="test", database_url=f"sqlite:///{work / 'bench.db'}",
                              queue_path=str(work / "queue.db"), assets_path=str(work / "assets"),
                              sandbox_path=str(work / "sandbox.db"), log_level="WARNING").validated())
    with app.app_context():
        db, queue = app.extensions["storecare.db"], app.extensions["storecare.queue"]
        metadata.create_all(db.engine)
        sandbox = install(app, db, customers=40, orders=300)
        queue.drain()
        with db.uow() as session:
            seed_program(session, sandbox.shop_id)
        queue.drain()
        with db.uow() as session:
            customer = session.get(Customer, session.query(LoyaltyMember.customer_id).filter(
                LoyaltyMember.shop_id == sandbox.shop_id).order_by(LoyaltyMember.approved.desc()).limit(1).scalar())
            return app, sandbox.domain, customer.platform_id


def serve(app) -> str:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def measure(browser, url: str, with_loader: bool, open_widget: bool) -> dict:
    context = browser.new_context(viewport={"width": 412, "height": 823})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    if not with_loader:
        page.route("**/loader*.js", lambda route: route.fulfill(status=200, content_type="text/javascript", body=""))
    page.add_init_script(OBSERVE)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(1000)
    figures = page.evaluate(READ)
    if open_widget:
        before = page.evaluate("() => [window.__vitals.cls, window.__vitals.raw]")
        started = page.evaluate("() => performance.now()")
        page.get_by_role("button", name=LAUNCHER).first.click()
        page.get_by_role("dialog").first.wait_for(state="visible")
        figures["open_ms"] = page.evaluate("() => performance.now()") - started
        page.wait_for_timeout(500)
        after = page.evaluate("() => [window.__vitals.cls, window.__vitals.raw]")
        figures["open_cls"], figures["open_raw"] = after[0] - before[0], after[1] - before[1]
    context.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="storecare-bench-vitals-"))
    app, domain, customer = seeded_app(work)
    base = serve(app)
    url = f"{base}/demo/store/{domain}?customer={customer}"
    results: dict[str, list[dict]] = {"without": [], "with": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        measure(browser, url, True, False)  # warm the app's caches once
        for _ in range(args.runs):  # alternated, so both see the same machine
            results["without"].append(measure(browser, url, False, False))
            results["with"].append(measure(browser, url, True, True))
        browser.close()

    def med(variant: str, key: str) -> float:
        return statistics.median(r[key] for r in results[variant])

    print(f"demo storefront, {args.runs} loads each, CPU 4x slower, 412x823, Chromium {CHROMIUM}")
    for key, unit, label in (("lcp", "ms", "LCP"), ("cls", "", "CLS"), ("tbt", "ms", "total blocking time")):
        without, with_ = med("without", key), med("with", key)
        ratio = f"{with_ / without:5.2f} x" if without else "  n/a"
        print(f"{label:<22} without loader {without:8.3f} {unit:<2}  with loader {with_:8.3f} {unit:<2}  {ratio}")
    print(f"{'opening the widget':<22} {med('with', 'open_ms'):8.1f} ms to the panel (median); layout shift "
          f"counted by CLS (not within 500 ms of the click) {max(r['open_cls'] for r in results['with']):.4f}, "
          f"any shift inside the page {max(r['open_raw'] for r in results['with']):.4f} (largest of the runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
