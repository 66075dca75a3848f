"""The loyalty admin in a real browser: the program page's widget preview follows what the merchant types;
on a phone (390 px) a member adjustment is recorded and the rewards, tiers and referrals pages fit."""
from __future__ import annotations

import pytest

from plugin.admin.auth import login_url
from plugin.loyalty import tiers
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember, Referral
from plugin.loyalty.rewards import create_reward
from tests.e2e.test_admin_narrow_browser import MEASURE, WIDTH
from tests.factories import make_customer, make_shop

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(tmp_path):
    """Browser tests check what a person sees; they run on SQLite only (the rest of the suite covers both)."""
    return f"sqlite:///{tmp_path / 'storecare.db'}"


@pytest.fixture
def store(db):
    with db.uow() as s:
        shop = make_shop(s, name="Palarnia Kawy Świeżo Palonej", currency="PLN", locale="en")
        anna = make_customer(s, shop, email="anna.kowalska-wisniewska@example.com", first_name="Anna",
                             last_name="Kowalska-Wiśniewska")
        s.commit()
        member = ensure_member(s, shop.id, anna.id)
        tiers.create_tier(s, shop.id, {"name": "Złoty klient z długą nazwą", "entry_threshold": "1000"})
        create_reward(s, shop.id, {"name": "Rabat 10 zł na następne zamówienie", "kind": "fixed_amount",
                                   "cost": 500, "value": "10"})
        s.add(Referral(shop_id=shop.id, advocate_id=member.id, friend_email="przyjaciel.z.dluga.nazwa@example.com",
                       status="held", hold_reasons=["same_address", "ip_limit"]))
        s.commit()
        return {"shop": shop.id, "member": member.id}


def test_the_program_preview_follows_what_the_merchant_types(live_server, page, store):
    page.goto(live_server + login_url(store["shop"]))
    page.goto(live_server + "/admin/loyalty/program")
    page.locator('[name="point_name"]').fill("Stars")
    assert page.locator("[data-preview-name]").inner_text() == "Stars"
    page.locator('[name="earn_points"]').fill("2.5")
    page.locator('[name="earn_per"]').fill("10")
    earn = page.locator("[data-preview-earn]").inner_text()
    assert earn.startswith("2.5 Stars per") and "10" in earn
    page.locator('[name="primary_colour"]').fill("#112233")
    assert page.locator("[data-preview-launcher]").evaluate("el => getComputedStyle(el).backgroundColor") == \
        "rgb(17, 34, 51)"
    page.set_viewport_size({"width": 860, "height": 900})  # one column: the preview is wider than its panel
    assert preview_sides(page) == ["right", "right"]  # the launcher and its panel, as on the store
    page.locator('[name="launcher_position"]').select_option("left")
    assert preview_sides(page) == ["left", "left"]


def preview_sides(page) -> list[str]:
    """The side of the preview each of the launcher and the panel leans to."""
    area = page.locator("[data-preview]").bounding_box()
    middle = area["x"] + area["width"] / 2
    boxes = [page.locator(part).bounding_box() for part in ("[data-preview-launcher]", "[data-preview-panel]")]
    return ["left" if box["x"] + box["width"] / 2 < middle else "right" for box in boxes]


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="pl-PL", viewport={"width": WIDTH, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_member_adjustment_on_a_phone_and_the_pages_fit(live_server, phone, store, db):
    phone.goto(live_server + login_url(store["shop"]))
    phone.goto(live_server + f"/admin/loyalty/members/{store['member']}")
    assert phone.evaluate(MEASURE) == []
    phone.locator("#adjust-points").fill("40")
    phone.locator("#adjust-reason").fill("Apology for the late parcel")
    phone.get_by_role("button", name="Record adjustment").click()
    assert phone.locator(".banner--success").inner_text() == "40 points recorded."
    assert phone.get_by_text("Apology for the late parcel").first.is_visible()
    with db.uow() as s:
        assert s.get(LoyaltyMember, store["member"]).approved == 40
    problems = {}
    for path in ("/admin/loyalty/rewards", "/admin/loyalty/tiers", "/admin/loyalty/referrals"):
        phone.goto(live_server + path)
        assert phone.locator("h1").count() == 1, path
        if found := phone.evaluate(MEASURE):
            problems[path] = found
            phone.screenshot(path=f"/tmp/loyalty-admin-390-{path.rsplit('/', 1)[-1]}.png", full_page=True)
    phone.goto(live_server + "/admin/loyalty/tiers")
    phone.get_by_role("link", name="Złoty klient z długą nazwą").click()
    phone.get_by_role("button", name="Preview").click()
    assert phone.locator("[data-tier-preview]").is_visible()
    if found := phone.evaluate(MEASURE):
        problems["tier preview"] = found
    assert problems == {}
