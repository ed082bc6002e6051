"""PostgreSQL: a message's words become a stored generated column (search/indexes.py, BODY_WORDS),
indexed in place of the expression index of 0001. The column is computed by the database on every
insert and body update, as the expression index was; the Inbox reads it instead of computing it per
row. Adding it rewrites inbox_message and rebuilds its indexes once: 11 minutes for a million small
messages on a loaded 2-core machine, far longer for large bodies (README, "Full-text filters")."""

from django.db import migrations

from kindling.search.indexes import BODY_WORDS, BODY_WORDS_COLUMN, BODY_WORDS_INDEX, POSTGRES_INDEXES


def store(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # The old index first: the rewrite would otherwise rebuild it, only to drop it after.
        cursor.execute("DROP INDEX IF EXISTS search_body_words")
        cursor.execute(BODY_WORDS_COLUMN)
        cursor.execute(BODY_WORDS_INDEX)


def compute(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS search_body_words")
        cursor.execute(f"ALTER TABLE inbox_message DROP COLUMN IF EXISTS {BODY_WORDS}")
        cursor.execute(POSTGRES_INDEXES["search_body_words"])


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_indexes")]

    operations = [migrations.RunPython(store, compute)]
