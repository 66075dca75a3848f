"""On PostgreSQL, a statement writing loyalty members, or deleting customers, notifies what it wrote

Each web process keeps the members and customer ids it has read (plugin/row_changes.py) and drops them
as soon as a notification names them, whichever process or tool wrote them. The triggers fire once a
statement, not once a row: a statement writing more than 100 members (a tier recalculation, an import)
names their shops instead, and one marking customers deleted (or deleting them) names every customer.
SQLite has no notifications and nothing is created there. ``metadata.create_all`` runs this file's
``CREATE_TRIGGERS`` too (plugin/row_changes.py), so a change to them comes with a migration of its own.

Revision ID: 0012_loyalty_members_notify
Revises: 0011_tiers_referral_welcome_and
Create Date: 2026-12-06 09:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0012_loyalty_members_notify'
down_revision: str | Sequence[str] | None = '0011_tiers_referral_welcome_and'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A payload is "<schema>|loyalty_members|<shop>:<customer>,...", "...|<shop>:*,..." (more than 100 members in one
# statement) or "<schema>|<table>|*" (every row of the table).
_MEMBERS_WRITTEN = """
CREATE FUNCTION storecare_members_written() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named text;
BEGIN
    SELECT CASE WHEN count(*) > 100
                THEN (SELECT string_agg(DISTINCT shop_id::text || ':*', ',') FROM written)
                ELSE string_agg(DISTINCT shop_id::text || ':' || customer_id::text, ',') END
      INTO named FROM written;
    IF named IS NOT NULL THEN
        PERFORM pg_notify('storecare_rows', current_schema() || '|loyalty_members|' || named);
    END IF;
    RETURN NULL;
END $$
"""
_ALL_ROWS = """
CREATE FUNCTION storecare_rows_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('storecare_rows', current_schema() || '|' || TG_TABLE_NAME || '|*');
    RETURN NULL;
END $$
"""
_MEMBER_TRIGGERS = (("loyalty_members_inserted", "INSERT", "NEW"), ("loyalty_members_updated", "UPDATE", "NEW"),
                    ("loyalty_members_deleted", "DELETE", "OLD"))
CREATE_TRIGGERS = (
    _MEMBERS_WRITTEN,
    _ALL_ROWS,
    *(f"CREATE TRIGGER {name} AFTER {event} ON loyalty_members REFERENCING {rows} TABLE AS written "
      "FOR EACH STATEMENT EXECUTE FUNCTION storecare_members_written()" for name, event, rows in _MEMBER_TRIGGERS),
    "CREATE TRIGGER loyalty_members_truncated AFTER TRUNCATE ON loyalty_members "
    "FOR EACH STATEMENT EXECUTE FUNCTION storecare_rows_all()",
    # a customer's id is kept by the shopper's platform id (plugin/storefront/identity.py) until the
    # customer is gone; the sync's upserts never write deleted_at, so this fires only for the rare deletion
    "CREATE TRIGGER customers_gone AFTER UPDATE OF deleted_at OR DELETE OR TRUNCATE ON customers "
    "FOR EACH STATEMENT EXECUTE FUNCTION storecare_rows_all()",
)
DROP_TRIGGERS = (
    "DROP TRIGGER customers_gone ON customers",
    *(f"DROP TRIGGER {name} ON loyalty_members" for name in (*(t[0] for t in _MEMBER_TRIGGERS),
                                                            "loyalty_members_truncated")),
    "DROP FUNCTION storecare_members_written()",
    "DROP FUNCTION storecare_rows_all()",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in CREATE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP_TRIGGERS:
            op.execute(statement)
