"""I4 (docs/invariants.md) in the database: ledger rows are never updated or deleted.

PostgreSQL refuses UPDATE and DELETE; TRUNCATE (which only test teardown uses)
stays possible. SQLite refuses UPDATE; DELETE stays possible there because
Django's test flush empties tables with DELETE.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE FUNCTION orders_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'orders_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER orders_ledger_append_only
    BEFORE UPDATE OR DELETE ON orders_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION orders_ledger_append_only();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS orders_ledger_append_only ON orders_ledgerentry;
DROP FUNCTION IF EXISTS orders_ledger_append_only();
"""
SQLITE_FORWARD = """
CREATE TRIGGER orders_ledger_append_only BEFORE UPDATE ON orders_ledgerentry
BEGIN SELECT RAISE(ABORT, 'orders_ledgerentry is append-only: UPDATE refused'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS orders_ledger_append_only;"

SQL = {
    "postgresql": (POSTGRES_FORWARD, POSTGRES_BACKWARD),
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
}


def forward(apps, schema_editor):
    if sql := SQL.get(schema_editor.connection.vendor):
        schema_editor.execute(sql[0], params=None)


def backward(apps, schema_editor):
    if sql := SQL.get(schema_editor.connection.vendor):
        schema_editor.execute(sql[1], params=None)


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
