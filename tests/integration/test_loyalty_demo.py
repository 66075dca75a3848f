"""The demo's program: a seeded sandbox shop, installed, gets the program on with three tiers, and once
its first sync is done, its history imported; seeding again changes nothing."""
from sqlalchemy import func, select

from plugin.jobs.models import JobRun
from plugin.loyalty.demo import seed_program
from plugin.loyalty.importing import IMPORT_JOB
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Tier
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
