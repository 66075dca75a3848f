"""A member's tier and approved balance on the platform: published by a coalesced job, only what
changed; a platform that refuses for want of a permission stops publishing until the merchant retries
(the sandbox and Shopify's simulator, SQLite and PostgreSQL)."""
from decimal import Decimal

import pytest
import responses
from sqlalchemy import select

from adapters.base import CustomerLoyalty
from plugin.jobs.models import JobRun
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember, Tier
from plugin.loyalty.publishing import PUBLISH_JOB, publish_shop, request_publish
from plugin.shops import service
from plugin.shops.models import Shop
from plugin.sync.models import Customer
from tests.contract.shopify_simulator import ShopifySimulator
from tests.contract.shopify_store import build_shop
from tests.factories import T0, make_customer, make_shop
from tests.sandbox_support import install


def on_platform(db, shop_id, platform_id) -> CustomerLoyalty:
    with db.uow() as s:
        return service.adapter_for(s.get(Shop, shop_id)).customer_loyalty(platform_id)


def test_tier_and_balance_are_published_once_and_again_only_when_they_change(app, db, queue):
    sandbox = install(app, db, customers=4, orders=6)
    queue.drain()
    with db.uow() as s:
        customer = s.scalars(select(Customer).where(Customer.shop_id == sandbox.shop_id).order_by(Customer.id)).first()
        silver = Tier(shop_id=sandbox.shop_id, name="Silver", position=1)
        s.add(silver)
        s.flush()
        member = ensure_member(s, sandbox.shop_id, customer.id)
        member.tier_id = silver.id
        ledger.credit(s, member, 40, source="signup", source_id="s", reason="r")
        assert request_publish(s, sandbox.shop_id) is not None
        assert request_publish(s, sandbox.shop_id) is None  # one job waiting: coalesced
        s.commit()
        platform_id, member_id = customer.platform_id, member.id
    queue.drain()
    assert on_platform(db, sandbox.shop_id, platform_id) == CustomerLoyalty(tier="Silver", balance=Decimal(40))
    with db.uow() as s:
        row = s.get(LoyaltyMember, member_id)
        assert (row.published_tier, row.published_balance) == ("Silver", 40)
    assert publish_shop(db, sandbox.shop_id) == 0  # nothing changed
    with db.uow() as s:
        ledger.debit(s, s.get(LoyaltyMember, member_id), 15, state="spent", source="redemption", source_id="1",
                     reason="r")
        s.commit()
    assert publish_shop(db, sandbox.shop_id) == 1
    assert on_platform(db, sandbox.shop_id, platform_id) == CustomerLoyalty(tier="Silver", balance=Decimal(25))


@pytest.fixture
def shopify():
    simulator = ShopifySimulator()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        yield simulator


def test_a_platform_refusing_for_want_of_a_permission_stops_publishing_until_retried(app, db, queue, shopify):
    domain, token = "loyal.myshopify.com", "shpat_loyal"
    with db.uow() as s:
        shop = make_shop(s, domain=domain, platform="shopify", status="installed", scopes=["read_customers"])
        service.store_credentials(shop, {"access_token": token, "scope": "read_customers"})
        s.commit()
        shop_id = shop.id
    sim = shopify.add_shop(build_shop(domain, token, seed=1, orders=1, customers=1, id_base=0, now=T0))
    sim.granted_scopes = {"read_customers", "read_orders"}  # no write_customers: no tags, no metafields
    with db.uow() as s:
        customer = make_customer(s, s.get(Shop, shop_id), email="anna@example.com")
        customer.platform_id = str(min(sim.customers))
        member = ensure_member(s, shop_id, customer.id)
        ledger.credit(s, member, 10, source="signup", source_id="s", reason="r")
        request_publish(s, shop_id)
        s.commit()
        member_id = member.id
    queue.drain()
    with db.uow() as s:
        run = s.scalars(select(JobRun).where(JobRun.name == PUBLISH_JOB)).one()
        assert run.status == "failed" and "permission" in run.last_error.lower()
        assert s.get(LoyaltyMember, member_id).published_balance is None
        assert request_publish(s, shop_id) is None  # stopped: no new job while the last one is failed
    sim.granted_scopes |= {"write_customers"}  # the merchant granted it; Retry on the Jobs page
    with db.uow() as s:
        queue.retry(s, run.id)
        s.commit()
    queue.drain()
    with db.uow() as s:
        assert s.get(LoyaltyMember, member_id).published_balance == 10
