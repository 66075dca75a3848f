"""The demo's program: a seeded sandbox shop, installed, gets the program on with three tiers, and once
its first sync is done, its history imported; seeding again changes nothing."""
from sqlalchemy import func, select

from plugin.jobs.models import JobRun
from plugin.loyalty.demo import seed_program
from plugin.loyalty.importing import IMPORT_JOB
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Reward, Tier
from tests.sandbox_support import install


def test_the_demo_program_is_on_with_tiers_and_its_history_imported_after_the_sync(app, db, queue):
    sandbox = install(app, db, customers=12, orders=60)
    with db.uow() as s:
        assert seed_program(s, sandbox.shop_id) is True
        assert seed_program(s, sandbox.shop_id) is False
    queue.drain()
    with db.uow() as s:
        assert [(t.name, int(t.entry_threshold)) for t in s.scalars(
            select(Tier).where(Tier.shop_id == sandbox.shop_id).order_by(Tier.position))] == [
            ("Bronze", 0), ("Silver", 300), ("Gold", 1000)]
        assert s.scalar(select(JobRun.status).where(JobRun.name == IMPORT_JOB)) == "succeeded"
        imported = s.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.shop_id == sandbox.shop_id, LedgerEntry.source == "import"))
        members = s.scalar(select(func.count()).select_from(LoyaltyMember).where(
            LoyaltyMember.shop_id == sandbox.shop_id, LoyaltyMember.approved > 0))
    assert imported > 10 and members > 3
    with db.uow() as s:
        # the import placed the members in their tiers (a recalculation), and the shop has rewards
        assert s.scalar(select(JobRun.status).where(JobRun.name == "loyalty.recalculate_tiers")) == "succeeded"
        tiered = s.scalar(select(func.count()).select_from(LoyaltyMember).where(
            LoyaltyMember.shop_id == sandbox.shop_id, LoyaltyMember.tier_id.is_not(None)))
        assert tiered == s.scalar(select(func.count()).select_from(LoyaltyMember).where(
            LoyaltyMember.shop_id == sandbox.shop_id))
        kinds = s.scalars(select(Reward.kind).where(Reward.shop_id == sandbox.shop_id).order_by(Reward.position)).all()
    assert kinds == ["fixed_amount", "percentage", "free_shipping", "variable", "store_credit"]


def test_turning_a_program_on_gives_a_shop_without_rewards_the_default_ones_once(app, db, queue):
    from flask import current_app

    from plugin.admin import shop_settings
    from plugin.loyalty.settings import DEFAULTS

    sandbox = install(app, db, customers=2, orders=2)
    section = shop_settings.section(current_app, "loyalty")
    with db.uow() as s:
        shop_settings.save(s, sandbox.shop_id, section, {**DEFAULTS, "enabled": True, "history": "zero"})
        shop_settings.save(s, sandbox.shop_id, section, {**DEFAULTS, "enabled": False})
        shop_settings.save(s, sandbox.shop_id, section, {**DEFAULTS, "enabled": True})
        names = s.scalars(select(Reward.name).where(Reward.shop_id == sandbox.shop_id)).all()
    assert sorted(names) == sorted(["PLN\u00a010.00 off your order", "10% off your order", "Free shipping",
                                    "Points for money off"])


def test_the_demo_rewards_of_a_polish_shop_are_named_in_polish(app, db, queue):
    """The demo's shop is Polish: its shoppers read the rewards' and tiers' names in Polish."""
    from plugin.shops.models import Shop

    sandbox = install(app, db, customers=2, orders=2)
    with db.uow() as s:
        s.get(Shop, sandbox.shop_id).locale = "pl"
        s.commit()
        seed_program(s, sandbox.shop_id)
        names = s.scalars(select(Reward.name).where(Reward.shop_id == sandbox.shop_id).order_by(Reward.position)).all()
        tiers = s.scalars(select(Tier.name).where(Tier.shop_id == sandbox.shop_id).order_by(Tier.position)).all()
    assert names == ["10,00\u00a0zł rabatu na zamówienie", "10% rabatu na zamówienie", "Darmowa dostawa",
                     "Rabat za punkty", "Środki w sklepie"]
    assert tiers == ["Brązowy", "Srebrny", "Złoty"]
