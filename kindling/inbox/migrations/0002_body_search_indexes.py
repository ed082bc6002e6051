"""PostgreSQL indexes for the Inbox filters: GIN (jsonb_path_ops) on the body answers the trigger
filter `body @> criteria`, and a trigram index on the body's text answers the body-text filter."""

from django.db import migrations, transaction


def create_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS message_body_path ON inbox_message USING gin (body jsonb_path_ops)"
        )
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - without the extension the search works, only slower
            return
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS message_body_trgm ON inbox_message USING gin ((body::text) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS message_body_trgm")
            cursor.execute("DROP INDEX IF EXISTS message_body_path")


class Migration(migrations.Migration):

    dependencies = [
        ("inbox", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
