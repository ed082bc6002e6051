"""PostgreSQL: a message's stored words are computed with a regular expression instead of translate()
(search/indexes.py, words_sql): the same words, three times faster to compute on a long body, which
every message pays on insert (issue 17: a 40 KB body cost 24 ms of the database's CPU for its words,
now 10). A database where 0002 already added the column the old way gets it again: that rewrites
inbox_message and rebuilds its indexes once, as 0002 did (docs/deploy.md, "Upgrades"); one migrated
afresh has it right already and is left alone."""

from django.db import migrations

from kindling.search.indexes import BODY_WORDS, BODY_WORDS_COLUMN, BODY_WORDS_INDEX


def generated_as(cursor) -> str:
    cursor.execute(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
        "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = 'inbox_message'::regclass AND a.attname = %s",
        [BODY_WORDS],
    )
    row = cursor.fetchone()
    return row[0] if row else ""


def recompute(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if "translate(" not in generated_as(cursor):
            return
        cursor.execute("DROP INDEX IF EXISTS search_body_words")
        cursor.execute(f"ALTER TABLE inbox_message DROP COLUMN {BODY_WORDS}")
        cursor.execute(BODY_WORDS_COLUMN)
        cursor.execute(BODY_WORDS_INDEX)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_stored_body_words")]

    # Backwards there is nothing to undo: both expressions give the same words.
    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
