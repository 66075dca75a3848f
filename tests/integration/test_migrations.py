"""Migrations on SQLite and PostgreSQL (one schema per test): upgrade, downgrade, drift check, CLI."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, create_engine, inspect
from sqlalchemy.engine import Inspector
from sqlalchemy.pool import NullPool

from plugin import migrate
from plugin.models import metadata
from plugin.settings import Settings

MODEL_TABLES = set(metadata.tables)

HEAD = sorted(p.stem for p in (migrate.MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))[-1]


@contextmanager
def inspected(database_url: str) -> Iterator[Inspector]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield inspect(connection)
    finally:
        engine.dispose()


def tables(database_url: str) -> set[str]:
    """Tables in the database's default schema: on PostgreSQL, the test's own schema (search_path)."""
    with inspected(database_url) as inspector:
        return set(inspector.get_table_names())


def test_upgrade_to_head_creates_every_table(database_url: str) -> None:
    assert migrate.current(database_url) == ()

    migrate.upgrade(database_url)

    assert tables(database_url) == MODEL_TABLES | {"alembic_version"}
    assert migrate.current(database_url) == migrate.heads() == (HEAD,)


def test_upgrade_keeps_named_constraints_and_indexes(database_url: str) -> None:
    migrate.upgrade(database_url)

    with inspected(database_url) as inspector:
        for table in metadata.sorted_tables:
            assert inspector.get_pk_constraint(table.name)["name"] in (f"pk_{table.name}", None)
            expected = {index.name for index in table.indexes}
            assert {index["name"] for index in inspector.get_indexes(table.name)} >= expected
            expected_fks = {fk.name for fk in table.foreign_key_constraints}
            assert {fk["name"] for fk in inspector.get_foreign_keys(table.name)} == expected_fks
            expected_uniques = {c.name for c in table.constraints if isinstance(c, UniqueConstraint)}
            assert {uq["name"] for uq in inspector.get_unique_constraints(table.name)} == expected_uniques


def test_downgrade_to_base_removes_every_table_and_upgrade_works_again(database_url: str) -> None:
    migrate.upgrade(database_url)

    migrate.downgrade(database_url, "base")

    assert tables(database_url) <= {"alembic_version"}
    assert migrate.current(database_url) == ()

    migrate.upgrade(database_url)
    assert tables(database_url) == MODEL_TABLES | {"alembic_version"}
    migrate.check(database_url)


def test_models_and_migrations_match(database_url: str) -> None:
    migrate.upgrade(database_url)

    migrate.check(database_url)  # autogenerate finds nothing to do


def test_check_detects_models_ahead_of_migrations(database_url: str) -> None:
    migrate.upgrade(database_url)
    ahead = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(ahead)
    ahead.tables["shops"].append_column(Column("loyalty_tier", String(20), nullable=True))
    Table("rewards", ahead, Column("id", Integer, primary_key=True))

    with pytest.raises(migrate.SchemaDrift) as raised:
        migrate.check(database_url, ahead)

    operations = {(d[0], migrate.describe_difference(d)) for d in raised.value.differences}
    assert operations == {("add_column", "add column shops.loyalty_tier"),
                          ("add_table", "add table rewards")}
    assert "shops.loyalty_tier" in str(raised.value)


def test_check_refuses_a_database_behind_head(database_url: str) -> None:
    with pytest.raises(migrate.NotAtHead, match="flask db upgrade"):
        migrate.check(database_url)


def test_unknown_revision_is_a_migration_error(database_url: str) -> None:
    with pytest.raises(migrate.MigrationError, match="nope"):
        migrate.upgrade(database_url, "nope")


def test_flask_db_commands_on_an_empty_database(settings: Settings) -> None:
    from plugin import create_app

    app = create_app(settings)
    runner = app.test_cli_runner()
    try:
        result = runner.invoke(args=["db", "current"])
        assert result.exit_code == 0, result.output
        assert f"base (no revision applied); head is {HEAD}" in result.output

        result = runner.invoke(args=["db", "check"])
        assert result.exit_code == 1
        assert "run `flask db upgrade`" in result.output

        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert f"Database is at {HEAD}." in result.output
        assert tables(settings.database_url) == MODEL_TABLES | {"alembic_version"}

        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "nothing to do" in result.output

        result = runner.invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output
        assert "Models and migrations match" in result.output

        result = runner.invoke(args=["db", "current"])
        assert result.exit_code == 0, result.output
        assert f"{HEAD}; up to date" in result.output

        result = runner.invoke(args=["db", "downgrade", "base"])
        assert result.exit_code == 0, result.output
        assert tables(settings.database_url) <= {"alembic_version"}

        result = runner.invoke(args=["db", "downgrade", "nope"])
        assert result.exit_code == 1
        assert "Error:" in result.output
    finally:
        app.extensions["storecare.db"].dispose()


def test_revision_files_are_self_contained_and_numbered() -> None:
    versions = sorted((migrate.MIGRATIONS_DIR / "versions").glob("*.py"))
    assert versions
    for path in versions:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {name for name in imported if name.split(".")[0] == "plugin"}, path.name
        assert path.stem[:4].isdigit() and len(path.stem) <= migrate.MAX_REVISION_ID, path.name


def test_next_revision_id_is_numbered_and_fits_alembic_version() -> None:
    highest = max(int(path.stem[:4]) for path in (migrate.MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    prefix = f"{highest + 1:04d}_"

    assert migrate.next_revision_id("Add loyalty ledger!") == f"{prefix}add_loyalty_ledger"
    long_id = migrate.next_revision_id("a very long message " * 5)
    assert long_id.startswith(prefix) and len(long_id) <= migrate.MAX_REVISION_ID
    assert not long_id.endswith("_")


def test_events_recorded_before_0005_are_numbered_per_shop_and_get_the_payloads_of_today(database_url: str) -> None:
    """The data part of 0005: old events get their shop's numbers in the order they were recorded, a
    stream at the last one, and the payload shape of plugin/sync/payloads.py read from the mirror."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    migrate.upgrade(database_url, "0004_customer_figures_from_paid")
    installed, before, after = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC),
                                datetime(2026, 7, 1, tzinfo=UTC))
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as c:
            for shop_id, domain in ((1, "a.sandbox.test"), (2, "b.sandbox.test")):
                c.execute(text("INSERT INTO shops (id, platform, domain, name, currency, timezone, locale, status, "
                               "scopes, installed_at, created_at, updated_at, needs_reauth) VALUES (:id, 'sandbox', "
                               ":d, 'S', 'PLN', 'UTC', 'en', 'installed', '[]', :i, :i, :i, false)"),
                          {"id": shop_id, "d": domain, "i": installed})
            c.execute(text("INSERT INTO customers (id, shop_id, platform_id, accepts_marketing, orders_count, "
                           "total_spent, synced_at, platform_created_at) VALUES (7, 1, 'c1', false, 1, 10, :t, :t)"),
                      {"t": before})
            for order_id, pid, created in ((11, "o1", before), (12, "o2", after)):
                c.execute(text("INSERT INTO orders (id, shop_id, platform_id, number, customer_id, currency, "
                               "subtotal, total, total_discounts, total_tax, total_refunded, financial_status, "
                               "fulfillment_status, discount_codes, created_at, paid_at, platform_updated_at, "
                               "synced_at) VALUES (:id, 1, :pid, :pid, 7, 'PLN', 20, 20, 0, 0, 5, 'paid', "
                               "'unfulfilled', '[]', :t, :t, :t, :t)"), {"id": order_id, "pid": pid, "t": created})
            c.execute(text("INSERT INTO line_items (id, shop_id, order_id, platform_id, product_id, title, quantity, "
                           "unit_price, total) VALUES (1, 1, 12, 'li1', 'p9', 'Mug', 2, 10, 20)"))
            c.execute(text("INSERT INTO refunds (id, shop_id, order_id, platform_id, amount, created_at) "
                           "VALUES (1, 1, 12, 'r1', 5, :t)"), {"t": after})
            old = [(1, "CustomerCreated", "c1", '{"customer_platform_id": "c1", "source": "backfill"}'),
                   (2, "OrderPaid", "x1", '{"order_platform_id": "x1", "source": "webhook"}'),
                   (1, "OrderPaid", "o1", '{"order_platform_id": "o1", "source": "backfill", "total": "20"}'),
                   (1, "OrderPaid", "o2", '{"order_platform_id": "o2", "source": "webhook", "total": "20"}'),
                   (1, "OrderRefunded", "r1", '{"order_platform_id": "o2", "source": "webhook", "amount": "5"}')]
            for event_id, (shop_id, name, key, payload) in enumerate(old, start=1):
                c.execute(text("INSERT INTO domain_events (id, shop_id, name, key, payload, occurred_at) "
                               "VALUES (:id, :s, :n, :k, :p, :t)"),
                          {"id": event_id, "s": shop_id, "n": name, "k": key, "p": payload, "t": after})

        migrate.upgrade(database_url)

        with engine.connect() as c:
            rows = c.execute(text("SELECT shop_id, seq, name, key, payload FROM domain_events ORDER BY id")).all()
            heads = dict(c.execute(text("SELECT shop_id, head FROM event_streams")).all())
    finally:
        engine.dispose()
    import json

    payloads = [(r.shop_id, r.seq, r.name, json.loads(r.payload) if isinstance(r.payload, str) else r.payload)
                for r in rows]
    assert [(shop, seq, name) for shop, seq, name, _ in payloads] == [
        (1, 1, "CustomerCreated"), (2, 1, "OrderPaid"), (1, 2, "OrderPaid"), (1, 3, "OrderPaid"),
        (1, 4, "OrderRefunded")]
    assert heads == {1: 4, 2: 1}
    assert payloads[0][3] == {"customer_id": 7, "customer_platform_id": "c1", "source": "backfill",
                              "historical": True, "occurred_at": before.isoformat()}
    assert payloads[1][3] == {"order_platform_id": "x1", "source": "webhook"}  # no such order: left as it was
    paid_o2 = payloads[3][3]
    assert paid_o2 == {"order_id": 12, "order_platform_id": "o2", "order_number": "o2", "customer_id": 7,
                       "customer_platform_id": "c1", "currency": "PLN", "total": "20.00", "source": "webhook",
                       "historical": False, "occurred_at": after.isoformat(), "subtotal": "20.00",
                       "total_tax": "0.00", "total_discounts": "0.00",
                       "line_items": [{"product_id": "p9", "title": "Mug", "quantity": 2, "unit_price": "10.00",
                                       "total": "20.00"}]}
    assert payloads[2][3]["historical"] is True and payloads[2][3]["line_items"] == []
    assert {k: payloads[4][3][k] for k in ("order_id", "refund_platform_id", "amount", "total_refunded",
                                           "historical")} == {"order_id": 12, "refund_platform_id": "r1",
                                                              "amount": "5.00", "total_refunded": "5.00",
                                                              "historical": False}
