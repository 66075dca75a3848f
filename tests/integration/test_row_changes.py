"""plugin/row_changes.py: on PostgreSQL a web process keeps the members and customer ids its storefront
reads, and drops one as soon as any process, or a tool, commits a write to it; nothing is kept while
notifications may be lost. On SQLite a member is read every time. Two apps on one database are two
processes here (a gunicorn worker and the worker), each with its own cache and listener."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from flask import current_app
from sqlalchemy import event, select, text, update

from plugin import create_app
from plugin.admin.shop_settings import save, section
from plugin.loyalty import ledger
from plugin.loyalty.members import ensure_member
from plugin.loyalty.models import LoyaltyMember
from plugin.loyalty.settings import DEFAULTS
from plugin.models import metadata
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from plugin.sync.mirror import mark_customer_deleted
from plugin.sync.models import Customer
from tests.conftest import only_on
from tests.factories import make_customer, make_shop

REWARDS = "/storefront/api/v1/loyalty/rewards"
# what is kept, and the triggers that make keeping it safe, exist on PostgreSQL only
postgresql_only = only_on("postgresql", "PostgreSQL's notifications")


@pytest.fixture
def kept(two):
    """The web process listening, a shop with one member of 900 points, and that member read once (so kept,
    with the shopper's customer id)."""
    web, worker = two
    changes = _listening(web)
    shop_id, [(customer_id, token)] = _shop_with_members(worker)
    client = web.test_client()
    assert _balance(client, token) == 900
    return SimpleNamespace(web=web, worker=worker, changes=changes, shop_id=shop_id, customer_id=customer_id,
                           balance=lambda: _balance(client, token))


@pytest.fixture
def two(settings_with):
    """The web process (whose storefront reads) and the worker (which writes), on one database."""
    web, worker = create_app(settings_with()), create_app(settings_with())
    metadata.create_all(worker.extensions["storecare.db"].engine)
    with worker.app_context():
        yield web, worker
    web.extensions["storecare.db"].dispose()
    worker.extensions["storecare.db"].dispose()


def _shop_with_members(app, members: int = 1) -> tuple[int, list[tuple[int, str]]]:
    """A shop with its program on and ``members`` members with 900 points: (shop id, [(customer id, token)])."""
    db = app.extensions["storecare.db"]
    with db.uow() as session:
        shop = make_shop(session, domain="rows.sandbox.test")
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "storefront-secret-" + "0" * 16})
        customers = [make_customer(session, shop) for _ in range(members)]
        session.commit()
        save(session, shop.id, section(current_app, "loyalty"), {**DEFAULTS, "enabled": True, "history": "zero"})
    with db.uow() as session:
        for customer in customers:
            ledger.credit(session, ensure_member(session, shop.id, customer.id), 900, source="manual",
                          source_id=f"test-{customer.id}", reason="Test")
        session.commit()
        return shop.id, [(c.id, issue_shopper_token(shop, c.platform_id)) for c in customers]


def _balance(client, token) -> int:
    answer = client.get(REWARDS, headers={TOKEN_HEADER: token})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["balance"]


def _until(condition, seconds: float = 10.0):
    """Waits for what another thread does (the listener); fails after ``seconds``, far above the
    milliseconds it takes, and far below the 30 s a kept member would otherwise stay."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.01)


def _listening(app):
    changes = app.extensions["storecare.db"].row_changes()
    _until(changes.listening)
    return changes


def _statements(app) -> list[str]:
    seen: list[str] = []
    event.listen(app.extensions["storecare.db"].engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(statement))
    return seen


def test_points_another_process_credits_show_on_the_next_read(two):
    """Both databases: on SQLite the member is read every time; on PostgreSQL the kept one is dropped
    when the worker's commit notifies."""
    web, worker = two
    shop_id, [(customer_id, token)] = _shop_with_members(worker)
    client = web.test_client()
    assert _balance(client, token) == 900
    with worker.extensions["storecare.db"].uow() as session:
        member = session.scalar(select(LoyaltyMember).where(LoyaltyMember.customer_id == customer_id))
        ledger.credit(session, member, 100, source="manual", source_id="more", reason="More")
        session.commit()
    _until(lambda: _balance(client, token) == 1000)


@postgresql_only
def test_a_kept_member_is_read_without_a_statement_until_a_write_anywhere_names_it(kept):
    sent = _statements(kept.web)
    assert kept.balance() == 900
    assert sent == []  # the member and the customer id were kept: nothing went to the database

    # a tool outside the app (psql, a script): the trigger names the member all the same
    with kept.worker.extensions["storecare.db"].engine.begin() as conn:
        conn.execute(text("UPDATE loyalty_members SET approved = 5 WHERE customer_id = :c"), {"c": kept.customer_id})
    _until(lambda: kept.balance() == 5)
    assert kept.changes.listening()


@postgresql_only
def test_a_statement_writing_many_members_drops_every_kept_member_of_its_shop(two):
    web, worker = two
    _listening(web)
    shop_id, members = _shop_with_members(worker, members=101)
    client = web.test_client()
    assert {_balance(client, token) for _, token in members[:3]} == {900}
    with worker.extensions["storecare.db"].uow() as session:
        written = session.execute(update(LoyaltyMember).where(LoyaltyMember.shop_id == shop_id)
                                  .values(approved=LoyaltyMember.approved + 1)).rowcount
        session.commit()
    assert written == 101  # more than 100: the notification names the shop, not each member
    _until(lambda: {_balance(client, token) for _, token in members[:3]} == {901})


@postgresql_only
def test_a_customer_deleted_by_another_process_is_not_a_member_any_more_at_once(kept):
    with kept.worker.extensions["storecare.db"].uow() as session:
        platform_id = session.get(Customer, kept.customer_id).platform_id
        assert mark_customer_deleted(session, kept.shop_id, platform_id)
        session.commit()
    _until(lambda: kept.balance() == 0)  # the kept customer id is gone: no member, no points


@postgresql_only
def test_while_the_listener_is_down_nothing_is_kept_and_what_was_kept_is_dropped(kept):
    """Its connection killed: a write in that time may never be notified, so the member kept before is
    dropped and read again, on every read until it listens again."""
    changes = kept.changes
    changes.RETRY = 60  # stays down until the test says so (the wait ends at once when it is stopped)
    with kept.worker.extensions["storecare.db"].engine.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": changes.backend_pid}).scalar()
    _until(lambda: not changes.listening())
    with kept.worker.extensions["storecare.db"].engine.begin() as conn:  # nobody hears this one
        conn.execute(text("UPDATE loyalty_members SET approved = 7 WHERE customer_id = :c"), {"c": kept.customer_id})
    sent = _statements(kept.web)
    assert kept.balance() == 7
    assert kept.balance() == 7
    assert len(sent) == 2  # a statement each time (the customer and the member in one): nothing is kept


@postgresql_only
def test_a_write_made_while_the_listener_was_down_is_seen_once_it_listens_again(kept):
    changes = kept.changes
    listened_by = changes.backend_pid
    with kept.worker.extensions["storecare.db"].engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listened_by})
        conn.execute(text("UPDATE loyalty_members SET approved = 8 WHERE customer_id = :c"), {"c": kept.customer_id})
    _until(lambda: changes.listening() and changes.backend_pid != listened_by)
    assert kept.balance() == 8


@postgresql_only
def test_the_migrated_schema_notifies_as_the_created_one_does_and_downgrades_cleanly(settings):
    """Migration 0012 makes the triggers the tests' ``create_all`` makes (its statements); a member
    written names its shop and customer on the channel, and a downgrade takes them away."""
    import psycopg

    from plugin.migrate import downgrade, upgrade
    from plugin.row_changes import CHANNEL

    upgrade(settings.database_url)
    app = create_app(settings)
    db = app.extensions["storecare.db"]
    conninfo = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as listener, app.app_context():
            listener.execute(f"LISTEN {CHANNEL}")
            schema = listener.execute("SELECT current_schema()").fetchone()[0]
            with db.uow() as session:
                shop = make_shop(session, domain="migrated.sandbox.test")
                customer = make_customer(session, shop)
                ensure_member(session, shop.id, customer.id)
                session.commit()
            heard = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
            assert heard == [f"{schema}|loyalty_members|{shop.id}:{customer.id}"]
    finally:
        db.dispose()
    downgrade(settings.database_url, "0011_tiers_referral_welcome_and")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = current_schema() AND NOT t.tgisinternal").fetchone()[0] == 0
