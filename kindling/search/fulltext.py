"""The full-text filters: Inbox "Body text" and Activity "Log text" (syntax in lib/websearch.py).

PostgreSQL matches the tsvector expression its GIN index holds against websearch_to_tsquery; SQLite
asks its FTS5 unicode61 tables. Both get the query as lib/websearch.py parsed it, so they find the
same rows. A message is one document (its body); a run's document is its log, where each term must be
on some line (and a -term on none): words of one line, as they were logged, make a phrase.
"""

import operator
import time
from functools import reduce

from django.db import connections
from django.db.models import BigIntegerField, BooleanField, F, Func, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.lookups import In

from kindling.lib.websearch import Query, Term, fts5_groups, fts5_phrase, websearch_text
from kindling.search.indexes import BODY_WORDS, words_sql


class TsMatch(Func):
    """PostgreSQL: `expression`'s indexed tsvector matches a websearch query."""

    output_field = BooleanField()

    def __init__(self, expression, websearch: str):
        super().__init__(expression, Value(websearch))

    def words(self, compiler) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        return words_sql(column), params

    def as_sql(self, compiler, connection, **extra):
        words, words_params = self.words(compiler)
        query, query_params = compiler.compile(self.source_expressions[1])
        sql = f"{words} @@ websearch_to_tsquery('simple'::regconfig, {query})"
        return sql, [*words_params, *query_params]


class BodyWordsMatch(TsMatch):
    """PostgreSQL: a message's stored words (search/indexes.py, BODY_WORDS) match a websearch query."""

    def __init__(self, websearch: str):
        super().__init__(F("body"), websearch)

    def words(self, compiler) -> tuple[str, list]:
        body, params = compiler.compile(self.source_expressions[0])  # "alias"."body", whatever the alias
        table = body.rsplit(".", 1)[0] + "." if "." in body else ""
        return f"{table}{compiler.connection.ops.quote_name(BODY_WORDS)}", params


# SQLite plans `id IN (matches)` from the matches: it reads every matching row and sorts them, which
# is instant for a rare word and slow for a common one (thousands of rows). `+id IN (matches)` makes
# it walk the project's newest-first index instead and check each id against the matches, read once:
# a page of a common word stops after a few dozen rows, while a rare word walks the whole window.
# A bounded count of the matches picks the plan.
COMMON_MATCHES = 500
UNINDEXED_PK = Func(F("pk"), template="(+%(expressions)s)", output_field=BigIntegerField())


def _in(ids: RawSQL, table: str, expression: str, using: str) -> Q:
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH %s LIMIT %s)",
            [expression, COMMON_MATCHES],
        )
        common = cursor.fetchone()[0] >= COMMON_MATCHES
    return Q(In(UNINDEXED_PK, ids)) if common else Q(pk__in=ids)


def _fts5_ids(table: str, expression: str) -> RawSQL:
    return RawSQL(f"SELECT rowid FROM {table} WHERE {table} MATCH %s", [expression])


def _sqlite_groups(query: Query, matching) -> Q:
    """OR of the alternatives; `matching(fts5 expression)` is the condition of the rows that match it."""
    groups = []
    for positive, negative in fts5_groups(query):
        if positive and negative:
            groups.append(matching(f"({positive}) NOT ({negative})"))
        elif positive:
            groups.append(matching(positive))
        else:
            groups.append(~matching(negative))
    return reduce(operator.or_, groups)


_common: dict[str, tuple[float, frozenset[str]]] = {}
COMMON_WORDS_TTL = 60.0


# Where ANALYZE keeps each text's statistics: an expression index's under the index's name, a
# column's under its table.
WORDS_STATISTICS = {
    "search_body_words": ("inbox_message", BODY_WORDS),
    "search_log_words": ("search_log_words", None),
}


def common_words(index: str, using: str = "default") -> frozenset[str]:
    """PostgreSQL: the words ANALYZE found common in a text index's words (its statistics' most common
    elements), read again at most once a minute."""
    now = time.monotonic()
    key = f"{using}:{index}"
    cached = _common.get(key)
    if cached and now - cached[0] < COMMON_WORDS_TTL:
        return cached[1]
    with connections[using].cursor() as cursor:
        table, column = WORDS_STATISTICS[index]
        cursor.execute(
            "SELECT most_common_elems::text::text[] FROM pg_stats WHERE tablename = %s "
            "AND (%s::text IS NULL OR attname = %s)",
            [table, column, column],
        )
        row = cursor.fetchone()
    words = frozenset(row[0] or ()) if row else frozenset()
    _common[key] = (now, words)
    return words


def at_most(values, most: int) -> list | None:
    """The values of a `values_list` query, in no order, when there are at most `most`; None when
    there are more (the probe of a rare word's matches: a bitmap scan of the text index)."""
    found = list(values.order_by()[: most + 1])
    return found if len(found) <= most else None


def has_rare_word(query: Query, common: frozenset[str]) -> bool:
    """Every alternative asks for a word that is not common: the matches are few, or ANALYZE has not
    seen the word often enough to say so."""
    return all(
        any(not term.negated and any(word not in common for word in term.words) for term in group)
        for group in query
    )


def message_condition(query: Query, using: str = "default") -> Q:
    """Messages whose body matches the query."""
    if connections[using].vendor == "postgresql":
        return Q(BodyWordsMatch(websearch_text(query)))
    table = "search_body_words"
    return _sqlite_groups(
        query, lambda expression: _in(_fts5_ids(table, expression), table, expression, using)
    )


def _line_ids_to_runs(expression: str) -> RawSQL:
    return RawSQL(
        "SELECT l.run_id FROM runs_logline l WHERE l.id IN "
        "(SELECT rowid FROM search_log_words WHERE search_log_words MATCH %s)",
        [expression],
    )


# Up to this many matching lines, a log-text filter hands the list their runs' ids.
LINE_PROBE = 5_000


def run_condition(query: Query, using: str = "default") -> Q:
    """Runs whose log matches the query: every term on some line, no -term on any line."""
    postgres = connections[using].vendor == "postgresql"

    def has_line(term: Term) -> Q:
        if postgres:
            from kindling.runs.models import LogLine

            # IN, not a correlated EXISTS: the planner then reads the matching lines from the GIN
            # index once, where EXISTS had it compute the tsvector of every run's lines in turn.
            lines = LogLine.objects.using(using).filter(
                TsMatch(F("message"), websearch_text([[Term(term.words)]]))
            )
            if has_rare_word([[Term(term.words)]], common_words("search_log_words", using)):
                # As the Inbox's body text (inbox/filters.py:rare_first): the planner takes any word
                # it has no statistics for as 0.5% of the lines, and a word that no line holds took
                # 16 s. The index's few matches are read first.
                runs = at_most(lines.values_list("run_id", flat=True), LINE_PROBE)
                if runs is not None:
                    return Q(pk__in=set(runs))
            return Q(pk__in=lines.values("run_id"))
        expression = fts5_phrase(term)
        return _in(_line_ids_to_runs(expression), "search_log_words", expression, using)

    return reduce(
        operator.or_,
        (
            reduce(operator.and_, (~has_line(term) if term.negated else has_line(term) for term in group))
            for group in query
        ),
    )
