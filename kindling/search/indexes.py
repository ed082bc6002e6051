"""The search indexes, one definition for the migration that builds them and the queries that use them.

PostgreSQL: trigram GIN indexes answer the Search Console's substring search (`ILIKE '%text%'`; those
on message bodies and log lines come from the inbox and runs migrations, the one on headers from
ours), and tsvector GIN expression indexes answer the full-text filters. A query uses an expression
index only when it writes the very same expression: `words_sql` is that expression.

SQLite: FTS5 tables kept in step by triggers, so every writer (the inbox, message edits, the worker
writing log lines while a run executes, bulk loads) feeds them without knowing: a trigram table per
kind for the substring search, a unicode61 table for the full-text filters. Message tables index the
keys and values of the body (json_tree), not its stored text, where Django writes non-ASCII letters as
\\u escapes that would neither match nor fold case.
"""

import string

# Full-text filters read this much of a body or log line: a tsvector holds at most 1 MB, and a body
# may be 8 MB; an index expression that failed on a large body would refuse the message.
FULLTEXT_CHARS = 200_000

# Punctuation becomes space before PostgreSQL's parser sees the text, so that it cuts words where
# SQLite's unicode61 does (letters and digits) instead of keeping hosts, emails, paths and numbers
# like 10.0.0.5 as one token. `%` is a separator for the parser already, and left out: it would need
# escaping in every query that carries parameters.
PUNCTUATION = string.punctuation.replace("%", "")
_TRANSLATE = "'" + PUNCTUATION.replace("'", "''") + "', '" + " " * len(PUNCTUATION) + "'"
# JSON escapes in jsonb's text (\n, \", \u0007) are separators too: json_tree gives SQLite the
# unescaped value, where a newline separates words and an "n" does not start the next one.
_JSON_ESCAPES = r"'\\(u[0-9a-fA-F]{4}|.)'"


# The same punctuation as one regular expression's class (`]`, `[` and `\\` escaped, `-` last). On a
# long text it is three times faster than translate(), whose cost grows with the length of the text
# times the 31 characters it looks for: for a 40 KB body, 4 ms against 12 (issue 17).
_PUNCTUATION_CLASS = (
    "'[" + "".join("\\" + c if c in "[]\\" else c for c in PUNCTUATION if c != "-").replace("'", "''") + "-]'"
)


def words_sql(column: str, json: bool = False) -> str:
    """PostgreSQL: the tsvector of a text column (or of a jsonb's text), as the index writes it.

    A log line's punctuation goes through translate() (its index was built so: a query must write the
    very same expression); a body's, stored once per message (BODY_WORDS), through the regular
    expression, which gives the same text faster on long ones.
    """
    text = f"left({column}, {FULLTEXT_CHARS})"
    if not json:
        return f"to_tsvector('simple'::regconfig, translate({text}, {_TRANSLATE}))"
    text = f"regexp_replace({text}, {_JSON_ESCAPES}, ' ', 'g')"
    return f"to_tsvector('simple'::regconfig, regexp_replace({text}, {_PUNCTUATION_CLASS}, ' ', 'g'))"


# A message's words are stored (migration search 0002): the Inbox walks its newest messages testing
# several filters, and computing the words of each body it passed cost ~30-100 us a row (4 s for the
# text + trigger + state page at 1,000,000 messages); reading them costs ~1 us.
BODY_WORDS = "body_words"
BODY_WORDS_COLUMN = (
    f"ALTER TABLE inbox_message ADD COLUMN IF NOT EXISTS {BODY_WORDS} tsvector "
    f"GENERATED ALWAYS AS ({words_sql('(body)::text', json=True)}) STORED"
)
BODY_WORDS_INDEX = f"CREATE INDEX IF NOT EXISTS search_body_words ON inbox_message USING gin ({BODY_WORDS})"

# As migration search 0001 built them; 0002 replaced search_body_words with BODY_WORDS_INDEX.
POSTGRES_INDEXES = {
    "search_header_trgm": "CREATE INDEX IF NOT EXISTS search_header_trgm ON inbox_message "
    "USING gin ((headers::text) gin_trgm_ops)",
    "search_body_words": "CREATE INDEX IF NOT EXISTS search_body_words ON inbox_message "
    f"USING gin (({words_sql('(body)::text', json=True)}))",
    "search_log_words": "CREATE INDEX IF NOT EXISTS search_log_words ON runs_logline "
    f"USING gin (({words_sql('message')}))",
}


def json_text_sql(column: str) -> str:
    """SQLite: the keys and values of a JSON column as one text, as json_tree reads them (unescaped)."""
    value = (
        "CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' "
        "WHEN 'object' THEN '' WHEN 'array' THEN '' ELSE atom END"
    )
    return (
        "(SELECT group_concat(coalesce(CASE WHEN typeof(key) = 'text' THEN key END, '') || ' ' || "
        f"coalesce({value}, ''), ' ') FROM json_tree({column}))"
    )


TRIGRAM = "tokenize='trigram'"
WORDS = "tokenize='unicode61 remove_diacritics 0'"

# table -> (source table, source column, JSON?, tokenizer)
SQLITE_TABLES = {
    "search_body_trgm": ("inbox_message", "body", True, TRIGRAM),
    "search_body_words": ("inbox_message", "body", True, WORDS),
    "search_header_trgm": ("inbox_message", "headers", True, TRIGRAM),
    "search_log_trgm": ("runs_logline", "message", False, TRIGRAM),
    "search_log_words": ("runs_logline", "message", False, WORDS),
}


def sqlite_statements() -> list[str]:
    """Create the FTS5 tables, fill them from the rows already there, and keep them in step."""
    statements = []
    for table, (source, column, is_json, tokenizer) in SQLITE_TABLES.items():
        if is_json:
            # Contentless: the text is derived, and never read back (excerpts come from the row).
            statements.append(f"CREATE VIRTUAL TABLE {table} USING fts5(text, content='', {tokenizer})")
            new, old = json_text_sql(f"NEW.{column}"), json_text_sql(f"OLD.{column}")
            field = "text"
        else:
            statements.append(
                f"CREATE VIRTUAL TABLE {table} USING fts5({column}, content='{source}', "
                f"content_rowid='id', {tokenizer})"
            )
            new, old, field = f"NEW.{column}", f"OLD.{column}", column
        source_text = json_text_sql(column) if is_json else column
        statements.append(f"INSERT INTO {table}(rowid, {field}) SELECT id, {source_text} FROM {source}")
        insert = f"INSERT INTO {table}(rowid, {field}) VALUES (NEW.id, {new});"
        delete = f"INSERT INTO {table}({table}, rowid, {field}) VALUES ('delete', OLD.id, {old});"
        statements += [
            f"CREATE TRIGGER {table}_insert AFTER INSERT ON {source} BEGIN {insert} END",
            f"CREATE TRIGGER {table}_delete AFTER DELETE ON {source} BEGIN {delete} END",
            f"CREATE TRIGGER {table}_update AFTER UPDATE OF {column} ON {source} BEGIN {delete} {insert} END",
        ]
    return statements


def sqlite_drop_statements() -> list[str]:
    statements = []
    for table in SQLITE_TABLES:
        for event in ("insert", "delete", "update"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_{event}")
        statements.append(f"DROP TABLE IF EXISTS {table}")
    return statements
