"""The Search Console's and the full-text filters' indexes (search/indexes.py): on PostgreSQL GIN
indexes on the inbox and runs tables, on SQLite FTS5 tables kept in step by triggers."""

from django.db import migrations, transaction

from kindling.search.indexes import POSTGRES_INDEXES, sqlite_drop_statements, sqlite_statements


def create(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in sqlite_statements():
                cursor.execute(statement)
            return
        if connection.vendor != "postgresql":
            return
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            trigram = True
        except Exception:  # noqa: BLE001 - without the extension the search works, only slower
            trigram = False
        for name, statement in POSTGRES_INDEXES.items():
            if trigram or "gin_trgm_ops" not in statement:
                cursor.execute(statement)


def drop(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in sqlite_drop_statements():
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            for name in POSTGRES_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("inbox", "0002_body_search_indexes"),
        ("runs", "0003_logline_run_seq_unique"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
