"""Indexes for Activity: runs by job and by status newest first, and on PostgreSQL a trigram index
that answers `ILIKE '%text%'` over log lines (the log-text filter) without reading every line."""

from django.db import migrations, models, transaction


def create_trigram_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        try:
            # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - without the extension the search works, only slower
            return
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS logline_message_trgm ON runs_logline USING gin (message gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS logline_message_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="run",
            index=models.Index(fields=["job", "-created_at", "-id"], name="run_job_recent"),
        ),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(fields=["project", "status", "-created_at", "-id"], name="run_project_status_recent"),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
