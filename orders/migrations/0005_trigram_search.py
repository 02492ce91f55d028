"""Substring search on PostgreSQL: trigram (pg_trgm) indexes for order numbers and for
the customer fields the order center searches. SQLite scans, which is fine at its scale.

The expressions match what Django generates: `contains` is `col::text LIKE '%x%'`,
`icontains` is `UPPER(col::text) LIKE UPPER('%x%')`.
"""

from django.db import migrations

INDEXES = {
    "order_no_trgm": "orders_order USING gin ((order_no::text) gin_trgm_ops)",
    "customer_name_trgm": "orders_customer USING gin (UPPER(name::text) gin_trgm_ops)",
    "customer_mobile_trgm": "orders_customer USING gin (UPPER(mobile::text) gin_trgm_ops)",
    "user_username_trgm": "auth_user USING gin (UPPER(username::text) gin_trgm_ops)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_ledger_kind_indexes"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, drop)]
