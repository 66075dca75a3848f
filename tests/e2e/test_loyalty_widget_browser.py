"""The loyalty widget on the demo store in a real browser: nothing loaded before the shopper's first
interaction, opened from the keyboard, a member's balance, tier, progress, rewards and history in
English and Polish, a guest's view of how the program works, redeeming a reward (code shown and copied)
and refusals and failures told in words. The widget talks to the app's own storefront endpoints; codes
are made on the sandbox store, which also refuses them."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import Redemption, Tier
from tests import loyalty_support as support
from tests.factories import make_customer, make_order, make_shop
from tests.loyalty_support import program_on

pytestmark = pytest.mark.browser
API = "/storefront/api/v1/loyalty/"


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


PROGRAM = {"earn_points": "1", "earn_per": "10", "primary_colour": "#7a1f5c"}


@pytest.fixture
def store(app, db):
    with db.uow() as s:
        shop = make_shop(s, domain="amber.sandbox.test", name="Amber & Oak", currency="PLN", locale="en")
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "e2e-storefront-secret-0123456789"})
        anna = make_customer(s, shop, first_name="Anna", last_name="Kowalska")
        s.add_all([Tier(shop_id=shop.id, name="Bronze", position=0, entry_threshold=0),
                   Tier(shop_id=shop.id, name="Silver", position=1, entry_threshold=500, earn_multiplier="1.5")])
        make_order(s, shop, anna, total="200.00")
        s.commit()
        member = ensure_member(s, shop.id, anna.id)
        member.tier_id = s.query(Tier).filter_by(shop_id=shop.id, name="Bronze").one().id
        ledger.credit(s, member, 35, source="order", source_id="1", reason="Points for order %(number)s",
                      reason_params={"number": "#1001"}, pending=True)
        ledger.credit(s, member, 250, source="signup", source_id="s", reason="Welcome to the program")
        s.commit()
        shop_id, domain, customer = shop.id, shop.domain, anna.platform_id
    offer_rewards(db, shop_id)  # before the program is on: a shop with rewards gets no default ones
    program_on(db, shop_id, **PROGRAM)
    return {"shop": shop_id, "domain": domain, "anna": customer}


def offer_rewards(db, shop_id: int) -> dict[str, int]:
    """The rewards the widget lists: one a 250-point member can afford, a variable one (a slider) and
    one too dear, whose name carries markup that must show as text."""
    return {"fixed": support.reward(db, shop_id, name="10 zł off", cost=100, value="10.00"),
            "variable": support.reward(db, shop_id, name="Money off, you choose", kind="variable", cost=10,
                                       value="1.00", min_points=50, max_points=500),
            "tote": support.reward(db, shop_id, name="A <b>tote</b> bag", kind="free_product", cost=5000,
                                   value="0", free_product_id="1")}


@pytest.fixture
def sandbox_member(app, db, queue):
    """A shop of the sandbox store (where reward codes are made), its program on, and a member with
    250 points and the same rewards."""
    from plugin.sync.models import Customer

    shop = support.program(app, db, queue, points=250)
    rewards = offer_rewards(db, shop.shop_id)
    with db.uow() as s:
        customer = s.get(Customer, shop.customer_id).platform_id
    return {"domain": shop.sandbox.domain, "customer": customer, "program": shop, "rewards": rewards}


def open_store(page, live_server, store, customer=None, lang="en"):
    query = f"?lang={lang}" + (f"&customer={customer}" if customer else "")
    page.goto(f"{live_server}/demo/store/{store['domain']}{query}")


def loyalty_traffic(url: str) -> bool:
    """The panel's file or its API calls (the inline "earn N points" block loads when in view)."""
    return "/static/widgets/loyalty" in url or (API in url and f"{API}earn" not in url)


def test_nothing_loads_before_the_first_interaction_and_the_keyboard_opens_the_members_view(
        page, live_server, store):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    open_store(page, live_server, store, customer=store["anna"])
    launcher = page.get_by_role("button", name="Rewards")
    expect(launcher).to_be_visible()
    page.wait_for_timeout(500)  # idle time in which an eager loader would fetch more
    assert not [url for url in requested if loyalty_traffic(url)]

    launcher.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("dialog", name="Rewards")
    expect(panel).to_be_visible()
    expect(panel.get_by_text("Hi, Anna")).to_be_visible()
    expect(panel.locator(".sc-available")).to_contain_text("250 points")
    expect(panel.get_by_text("35 points").first).to_be_visible()
    expect(panel.get_by_text("Your tier: Bronze")).to_be_visible()
    expect(panel.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "40")
    expect(panel.get_by_text(re.compile(r"300\.00 to Silver"))).to_be_visible()
    expect(panel.get_by_text("1 point for every PLN 10.00 spent")).to_be_visible()
    expect(panel.get_by_text("Points for order #1001")).to_be_visible()
    expect(panel.get_by_text("Welcome to the program")).to_be_visible()
    expect(panel.get_by_text("A <b>tote</b> bag")).to_be_visible()  # the server's text, as text
    colour = panel.locator(".sc-head").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(122, 31, 92)"  # the merchant's colour
    page.screenshot(path="/tmp/loyalty-widget.png", animations="disabled")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()


def test_the_member_redeems_and_copies_the_code(page, live_server, db, sandbox_member):
    sent = []
    page.on("request", lambda request: sent.append((request.headers.get("idempotency-key"), request.post_data_json))
            if request.method == "POST" and f"{API}redemptions" in request.url else None)
    open_store(page, live_server, sandbox_member, customer=sandbox_member["customer"])
    page.get_by_role("button", name="Rewards").click()
    panel = page.get_by_role("dialog", name="Rewards")
    reward = panel.locator(".sc-reward", has_text="10 zł off")
    reward.get_by_role("button", name="Redeem").click()
    shown = reward.get_by_role("textbox", name="Your code")
    expect(shown).to_have_value(re.compile(r"^LOYAL-"))
    code = shown.input_value()
    expect(panel.locator(".sc-live")).to_have_text(f"Your code {code} is ready. Use it at checkout.")
    reward.get_by_role("button", name="Copy").click()
    expect(panel.locator(".sc-live")).to_have_text("Copied to the clipboard")
    (key, body), = sent
    assert re.fullmatch(r"[0-9a-f-]{36}", key) and body == {"reward_id": sandbox_member["rewards"]["fixed"]}
    with db.uow() as s:  # the widget's key is the redemption's: a retry would continue it
        assert s.query(Redemption.key, Redemption.code).one() == (key, code)

    slider = panel.locator(".sc-reward", has_text="you choose").get_by_role("slider")
    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(panel.get_by_text("60 points = PLN 6.00")).to_be_visible()
    tote = panel.locator(".sc-reward", has_text="tote")
    expect(tote.get_by_role("button", name="Redeem")).to_be_disabled()


def test_a_refused_redemption_is_told_in_words(page, live_server, db, sandbox_member):
    program = sandbox_member["program"]
    support.reward(db, program.shop_id, name="A free mug", kind="free_product", cost=100, value="0",
                   free_product_id="987654321")  # the sandbox store sells no such product: it refuses the code
    open_store(page, live_server, sandbox_member, customer=sandbox_member["customer"])
    page.get_by_role("button", name="Rewards").click()
    panel = page.get_by_role("dialog", name="Rewards")
    mug = panel.locator(".sc-reward", has_text="A free mug")
    mug.get_by_role("button", name="Redeem").click()
    expect(panel.get_by_role("alert")).to_have_text("The product of this reward is no longer in the store.")
    expect(mug.get_by_role("button", name="Redeem")).to_be_enabled()
    assert support.balance(db, program.member_id)["approved"] == 250  # the points are given back


# Every layout shift from now on (value, hadRecentInput, the boxes that moved), whatever hadRecentInput
# says: the panel's content arrives within 500 ms of the click here, so Chrome marks its shifts as
# input-driven and CLS leaves them out, but a slower store brings them later, where they count.
WATCH_SHIFTS = """() => { window.__shifts = [];
  window.__shiftObserver = new PerformanceObserver(list => window.__shifts.push(...list.getEntries()));
  window.__shiftObserver.observe({type: "layout-shift"}); }"""
READ_SHIFTS = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
  window.__shifts.push(...window.__shiftObserver.takeRecords());
  const box = r => [r.x, r.y, r.width, r.height].map(Math.round);
  done(window.__shifts.map(e => [e.value, e.hadRecentInput,
    e.sources.map(s => [box(s.previousRect), box(s.currentRect)])]));
})))"""

LAYOUT_BOX = "e => [e.offsetLeft, e.offsetTop, e.offsetWidth, e.offsetHeight]"  # without the opening animation


def test_the_panel_keeps_its_place_and_size_while_its_content_arrives(page, live_server, store):
    """Opened on a slow store (the app's answers held until the loading panel is measured), nothing in
    the panel moves when they arrive."""
    held, measured = [], []

    def slow_store(route):
        if measured:
            route.continue_()
        else:
            held.append(route)

    open_store(page, live_server, store, customer=store["anna"])
    launcher = page.get_by_role("button", name="Rewards")
    expect(launcher).to_be_visible()
    page.route(lambda url: API in url and f"{API}earn" not in url, slow_store)
    page.evaluate(WATCH_SHIFTS)
    launcher.click()
    panel = page.get_by_role("dialog", name="Rewards")
    content = panel.get_by_role("region", name="Rewards program")
    expect(panel.get_by_text("Loading your rewards…")).to_be_visible()
    opened = [panel.evaluate(LAYOUT_BOX), content.evaluate(LAYOUT_BOX)]
    measured.append(opened)
    for route in held:
        route.continue_()
    for text in ("Hi, Anna", "10 zł off", "Your referral link", "Welcome to the program"):
        expect(panel.get_by_text(text).or_(panel.get_by_role("textbox", name=text)).first).to_be_visible()
    shifts = page.evaluate(READ_SHIFTS)
    assert sum(value for value, _recent, _moved in shifts) < 0.001, shifts
    assert [panel.evaluate(LAYOUT_BOX), content.evaluate(LAYOUT_BOX)] == opened  # the greeting's line was kept


@pytest.mark.parametrize("side", ["right", "left"])
def test_the_launcher_and_its_panel_are_on_the_side_the_merchant_chose(page, live_server, db, store, side):
    program_on(db, store["shop"], **PROGRAM, launcher_position=side)
    open_store(page, live_server, store, customer=store["anna"])
    launcher, orders = page.get_by_role("button", name="Rewards"), page.get_by_role("button", name="Your orders")
    expect(launcher).to_be_visible()
    launcher.click()
    panel = page.get_by_role("dialog", name="Rewards")
    expect(panel).to_be_visible()
    width = page.viewport_size["width"]

    def half(box) -> str:
        return "left" if box["x"] + box["width"] <= width / 2 else "right" if box["x"] >= width / 2 else "both"

    assert [half(launcher.bounding_box()), half(panel.bounding_box())] == [side, side]
    order_box = orders.bounding_box()
    assert order_box["x"] + order_box["width"] == width - 20  # the orders launcher keeps its corner
    if side == "right":
        assert launcher.bounding_box()["x"] + launcher.bounding_box()["width"] < order_box["x"]  # beside it


def test_a_failed_load_says_so_and_retries(page, live_server, store):
    open_store(page, live_server, store, customer=store["anna"])
    page.route(f"**{API}me*", lambda route: route.abort())
    page.get_by_role("button", name="Rewards").click()
    expect(page.get_by_text("We couldn't load the rewards program. Please try again.")).to_be_visible()
    page.unroute(f"**{API}me*")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_text("Your tier: Bronze")).to_be_visible()


def test_polish(page, live_server, store):
    open_store(page, live_server, store, customer=store["anna"], lang="pl")
    page.get_by_role("button", name="Nagrody").click()
    panel = page.get_by_role("dialog", name="Nagrody")
    expect(panel.locator(".sc-available")).to_contain_text("250 punktów")
    expect(panel.get_by_text("Twój poziom: Bronze")).to_be_visible()
    expect(panel.get_by_text("Witamy w programie")).to_be_visible()
    expect(panel.get_by_text("Punkty za zamówienie #1001")).to_be_visible()
    expect(panel.get_by_text("Oczekujące", exact=True).first).to_be_visible()
    expect(panel.get_by_text(re.compile(r"1 punkt za każde wydane 10,00\s+zł"))).to_be_visible()
    page.screenshot(path="/tmp/loyalty-widget-pl.png", animations="disabled")


def test_a_guest_sees_how_it_works_and_is_asked_to_sign_in(page, live_server, store):
    requested, errors = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    open_store(page, live_server, store)
    page.get_by_role("button", name="Rewards").click()
    panel = page.get_by_role("dialog", name="Rewards")
    expect(panel.get_by_text("Earn points every time you shop")).to_be_visible()
    expect(panel.get_by_text("Create an account", exact=True)).to_be_visible()
    expect(panel.get_by_text("+50 points").first).to_be_visible()
    expect(panel.get_by_text("Silver")).to_be_visible()
    expect(panel.get_by_text("×1.5 points")).to_be_visible()
    assert not [url for url in requested if f"{API}me" in url or f"{API}history" in url]
    assert errors == []


def test_products_show_the_points_they_earn_without_moving_the_page(page, live_server, store):
    open_store(page, live_server, store)
    card = page.locator(".product-card", has_text="Product 1")
    block = card.locator("[data-storecare-widget=earn]")
    height = block.evaluate("e => e.getBoundingClientRect().height")
    assert height > 0  # its line is there before its text
    expect(block.get_by_text("Earn 20 points")).to_be_visible()
    assert block.evaluate("e => e.getBoundingClientRect().height") == height
    open_store(page, live_server, store, lang="pl")
    expect(page.locator(".product-card", has_text="Product 1").get_by_text("Zdobądź 20 punktów")).to_be_visible()


def test_axe_finds_nothing_in_the_members_panel(page, live_server, store):
    from axe_playwright_python.sync_playwright import Axe

    open_store(page, live_server, store, customer=store["anna"])
    page.get_by_role("button", name="Rewards").click()
    panel = page.get_by_role("dialog", name="Rewards")
    expect(panel.get_by_text("Welcome to the program")).to_be_visible()
    expect(panel.get_by_role("slider")).to_be_visible()
    results = Axe().run(page, context={"include": [["[data-storecare=loyalty]"]]},
                        options={"resultTypes": ["violations"]})
    found = [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]
    assert found == []


def test_a_real_redemption_on_the_sandbox_store_shows_a_code_and_the_new_balance(page, live_server, app, db, queue):
    """The rewards' own endpoints and the sandbox store's discount codes, no stand-in."""
    from plugin.sync.models import Customer
    from tests import loyalty_support as support

    shop = support.program(app, db, queue, points=900)
    support.reward(db, shop.shop_id, name="10 zł off", cost=500, value="10.00")
    with db.uow() as s:
        customer = s.get(Customer, shop.customer_id).platform_id
    open_store(page, live_server, {"domain": shop.sandbox.domain}, customer=customer)
    page.get_by_role("button", name="Rewards").click()
    panel = page.get_by_role("dialog", name="Rewards")
    expect(panel.locator(".sc-available")).to_contain_text("900 points")
    reward = panel.locator(".sc-reward", has_text="10 zł off")
    reward.get_by_role("button", name="Redeem").click()
    expect(reward.get_by_role("textbox", name="Your code")).to_have_value(re.compile(r"^LOYAL-"))
    expect(panel.locator(".sc-available")).to_contain_text("400 points")
    code = reward.get_by_role("textbox", name="Your code").input_value()
    from adapters.sandbox import discounts

    with shop.sandbox.store.writing() as conn:
        assert discounts.find_code(conn, shop.sandbox.domain, code) is not None  # made on the store


LONG_CODE = "LOYAL-" + "7QX2M9KD4R" * 5  # longer than the code box is wide
CAPTURE_COPIES = """() => { window.__copied = [];
  navigator.clipboard.writeText = text => (window.__copied.push(text), Promise.resolve()); }"""
FITS = """e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight"""
INSIDE = """(e, outer) => { const a = e.getBoundingClientRect(), b = outer.getBoundingClientRect();
  return a.left >= b.left && a.right <= b.right; }"""


def test_a_long_code_is_shown_whole_inside_the_panel_and_copied_whole(page, live_server, store):
    """A code longer than its box wraps within the panel (nothing cut off, nothing wider than the
    panel), and Copy copies all of it."""
    redeemed = {"id": 1, "code": LONG_CODE, "reward": 1, "reward_name": "10 zł off", "points": 100,
                "kind": "fixed_amount", "value": "10.00", "expires_at": None, "status": "issued"}
    open_store(page, live_server, store, customer=store["anna"])
    page.evaluate(CAPTURE_COPIES)
    page.route(f"**{API}redemptions*", lambda route: route.fulfill(status=201, json=redeemed))
    page.get_by_role("button", name="Rewards").click()
    panel = page.get_by_role("dialog", name="Rewards")
    reward = panel.locator(".sc-reward", has_text="10 zł off")
    width = panel.evaluate(LAYOUT_BOX)[2]
    reward.get_by_role("button", name="Redeem").click()
    shown = reward.get_by_role("textbox", name="Your code")
    expect(shown).to_have_value(LONG_CODE)
    assert shown.evaluate(FITS), "the code is cut off in its box"
    content = panel.get_by_role("region", name="Rewards program")
    assert shown.evaluate(INSIDE, content.element_handle())
    for part in (content, panel.locator(".sc-live")):  # nothing wider than the panel, the message neither
        assert part.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert panel.evaluate(LAYOUT_BOX)[2] == width
    reward.get_by_role("button", name="Copy").click()
    expect(panel.locator(".sc-live")).to_have_text("Copied to the clipboard")
    assert page.evaluate("() => window.__copied") == [LONG_CODE]


def test_a_guests_panel_has_no_empty_line_under_its_title(page, live_server, store):
    """The member's greeting line is not an empty band at the top of a guest's panel."""
    open_store(page, live_server, store)
    page.get_by_role("button", name="Rewards").click()
    panel = page.get_by_role("dialog", name="Rewards")
    expect(panel.get_by_text("Earn points every time you shop")).to_be_visible()
    greeting = panel.locator(".sc-greeting")
    empty = greeting.evaluate("e => !e.textContent.trim() && e.getBoundingClientRect().height > 0")
    assert not empty, "an empty greeting line above a guest's panel"
    open_store(page, live_server, store, lang="pl")
    page.get_by_role("button", name="Nagrody").click()
    greeting = page.get_by_role("dialog", name="Nagrody").locator(".sc-greeting")
    expect(greeting).to_have_text("Cześć!")
