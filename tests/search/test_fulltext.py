"""The full-text filters find the same rows on SQLite and PostgreSQL (run this file on both)."""

import pytest

from kindling.inbox.filters import filter_messages
from kindling.inbox.models import Message
from kindling.lib.websearch import EmptyQuery, Term, describe, parse, websearch_text
from kindling.runs.filters import filter_runs
from kindling.runs.models import Run
from kindling.search import fulltext
from kindling.search.fulltext import has_rare_word
from tests.conftest import make_job, post_message
from tests.portal.conftest import make_run

BODIES = {
    "india": {"country": "India", "district": "Kisumu", "note": "sent to DHIS2"},
    "kenya": {"country": "Kenya", "district": "Kisumu", "note": "not sent"},
    "zurich": {"city": "Zürich", "note": "ZÜRICH weiß"},
    "ip": {"server": "10.0.0.5:443", "note": "line one\nline two", "email": "ops@example.org"},
    "percent": {"note": "50% of_rows", "flag": True},
}

CASES = [
    ("india", ["india"]),
    ("INDIA", ["india"]),
    ("kisumu", ["india", "kenya"]),
    ("kisumu -kenya", ["india"]),
    ("kenya or india", ["india", "kenya"]),
    ('"not sent"', ["kenya"]),
    ('"sent not"', []),
    ("sent", ["india", "kenya"]),
    ("india kenya", []),
    ("zürich", ["zurich"]),
    ("Zürich", ["zurich"]),
    ("WEISS", []),  # no stemming or folding beyond case: weiß is its own word
    ("weiß", ["zurich"]),
    ("10.0.0.5", ["ip"]),
    ("443", ["ip"]),
    ('"line two"', ["ip"]),
    ("nline", []),  # the \n of the stored JSON is no letter
    ("example", ["ip"]),
    ("50%", ["percent"]),
    ("of_rows", ["percent"]),
    ("rows", ["percent"]),
    ("true", ["percent"]),
    ("kis", []),  # words, not substrings: the Search Console finds substrings
    ("-kisumu", ["zurich", "ip", "percent"]),
    ("-kisumu -zürich", ["ip", "percent"]),
    ("dhis2 or -kisumu", ["india", "zurich", "ip", "percent"]),
]


@pytest.fixture
def bodies(project):
    return {post_message(project, body)[0].pk: name for name, body in BODIES.items()}


@pytest.mark.parametrize(("query", "found"), CASES)
def test_body_text_filter(project, bodies, query, found):
    messages = filter_messages(Message.objects.filter(project=project), text=query)

    assert sorted(bodies[pk] for pk in messages.values_list("pk", flat=True)) == sorted(found)


@pytest.mark.parametrize("probe", [0, 1, 100])
@pytest.mark.parametrize(
    ("query", "found"), [("india", ["india"]), ("kisumu -kenya", ["india"]), ("sent", ["india", "kenya"])]
)
def test_body_text_filter_finds_the_same_whether_the_matches_are_few_or_many(
    project, bodies, monkeypatch, probe, query, found
):
    # PostgreSQL reads the matching ids from the text index when there are at most TEXT_PROBE of them
    monkeypatch.setattr("kindling.inbox.filters.TEXT_PROBE", probe)
    messages = filter_messages(Message.objects.filter(project=project), text=query)

    assert sorted(bodies[pk] for pk in messages.values_list("pk", flat=True)) == sorted(found)


@pytest.mark.parametrize("probe", [0, 1, 100])
@pytest.mark.parametrize(
    ("query", "found"), [("india", ["india"]), ("kisumu -kenya", ["india"]), ("sent", ["india", "kenya"])]
)
def test_log_text_filter_finds_the_same_whether_the_matching_lines_are_few_or_many(
    project, monkeypatch, probe, query, found
):
    # PostgreSQL reads the runs of the matching lines from the text index when there are few
    monkeypatch.setattr("kindling.search.fulltext.LINE_PROBE", probe)
    job = make_job(project)
    runs = {
        make_run(job, logs=[("JOB", "info", f"{key} {value}") for key, value in body.items()]).pk: name
        for name, body in BODIES.items()
    }

    found_runs = filter_runs(Run.objects.filter(project=project), text=query)

    assert sorted(runs[pk] for pk in found_runs.values_list("pk", flat=True)) == sorted(found)


@pytest.mark.parametrize(("query", "found"), CASES)
def test_log_text_filter_takes_each_log_line_as_a_body_would(project, query, found):
    job = make_job(project)
    runs = {}
    for name, body in BODIES.items():
        # one line per value: a run's log matches when each term is on some line
        lines = [("JOB", "info", f"{key} {value}") for key, value in body.items()]
        runs[make_run(job, logs=lines).pk] = name

    found_runs = filter_runs(Run.objects.filter(project=project), text=query)

    assert sorted(runs[pk] for pk in found_runs.values_list("pk", flat=True)) == sorted(found)


def test_a_phrase_does_not_run_across_log_lines(project):
    job = make_job(project)
    split = make_run(job, logs=[("JOB", "info", "connect"), ("R/T", "error", "ECONNREFUSED")])
    together = make_run(job, logs=[("R/T", "error", "connect ECONNREFUSED 10.0.0.5")])

    assert list(filter_runs(Run.objects.all(), text='"connect econnrefused"')) == [together]
    assert set(filter_runs(Run.objects.all(), text="connect econnrefused")) == {split, together}


def test_a_query_without_words_is_refused():
    with pytest.raises(EmptyQuery):
        parse(' "" - or !! ')


def test_the_query_is_written_out_for_websearch_to_tsquery_in_our_words():
    query = parse('Kisumu -"Not sent" or 10.0.0.5 OR')

    assert query == [[Term(("kisumu",)), Term(("not", "sent"), negated=True)], [Term(("10", "0", "0", "5"))]]
    assert websearch_text(query) == 'kisumu -"not sent" or "10 0 0 5"'
    assert describe(query) == 'kisumu and without "not sent" or "10 0 0 5"'


def test_messages_edited_later_are_found_by_their_new_body(project):
    message, _ = post_message(project, {"country": "India"})
    message.body = {"country": "Kenya"}
    message.save()

    assert list(filter_messages(Message.objects.all(), text="kenya")) == [message]
    assert list(filter_messages(Message.objects.all(), text="india")) == []


def test_a_query_is_rare_when_each_alternative_asks_for_an_uncommon_word():
    common = frozenset({"kisumu", "sent"})

    assert has_rare_word(parse("zanzibar"), common)
    assert has_rare_word(parse("kisumu zanzibar"), common)
    assert has_rare_word(parse('"sent zanzibar"'), common)
    assert not has_rare_word(parse("kisumu"), common)
    assert not has_rare_word(parse("kisumu -zanzibar"), common)
    assert not has_rare_word(parse("zanzibar or sent"), common)


def test_postgresql_reads_the_common_words_from_the_text_index_statistics(project):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics (SQLite's FTS5 starts from its index anyway)")
    for n in range(30):
        post_message(project, {"district": "Kisumu", "n": n})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inbox_message")
    fulltext._common.clear()

    assert "kisumu" in fulltext.common_words("search_body_words")
    assert "zanzibar" not in fulltext.common_words("search_body_words")


def old_body_words_sql() -> str:
    """The expression of a message's words as migration search 0002 first stored them (translate())."""
    from kindling.search.indexes import _JSON_ESCAPES, _TRANSLATE, FULLTEXT_CHARS

    text = f"regexp_replace(left((body)::text, {FULLTEXT_CHARS}), {_JSON_ESCAPES}, ' ', 'g')"
    return f"to_tsvector('simple'::regconfig, translate({text}, {_TRANSLATE}))"


PUNCTUATED = {
    "every": "a!b\"c#d$e%f&g'h(i)j*k+l,m-n.o/p:q;r<s=t>u?v@w[x\\y]z^A_B`C{D|E}F~G",
    "brackets": "[[x]] \\\\ ^start end- -mid- ]first",
    "unicode": "Zürich–Genève «quoted» 東京 naïve",
}


def test_postgresql_stores_the_words_translate_gave(project):
    # The stored words come from a regular expression since migration search 0003 (faster on long
    # bodies); they must be the very words the translate() of 0002 gave, punctuation and all.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's stored body_words column (SQLite's FTS5 tables are fed by triggers)")
    for name, body in {**BODIES, **PUNCTUATED}.items():
        post_message(project, {name: body})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), count(*) FILTER (WHERE body_words = {old_body_words_sql()}) FROM inbox_message"
        )
        total, same = cursor.fetchone()

    assert total == len(BODIES) + len(PUNCTUATED) and same == total


def test_migration_0003_computes_the_words_of_an_older_database_again(project):
    import importlib

    from django.db import connection

    from kindling.search.indexes import BODY_WORDS_INDEX

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's stored body_words column (SQLite's FTS5 tables are fed by triggers)")
    migration = importlib.import_module("kindling.search.migrations.0003_faster_body_words")
    message, _ = post_message(project, {"note": "sent to DHIS2", "server": "10.0.0.5:443"})
    with connection.cursor() as cursor:  # the column as 0002 added it (undone with the test's transaction)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's inserts' checks, before ALTER TABLE
        cursor.execute("DROP INDEX search_body_words")
        cursor.execute("ALTER TABLE inbox_message DROP COLUMN body_words")
        cursor.execute(
            "ALTER TABLE inbox_message ADD COLUMN body_words tsvector "
            f"GENERATED ALWAYS AS ({old_body_words_sql()}) STORED"
        )
        cursor.execute(BODY_WORDS_INDEX)

        migration.recompute(None, connection.schema_editor())

        assert "translate(" not in migration.generated_as(cursor)
        assert "regexp_replace" in migration.generated_as(cursor)
    found = filter_messages(Message.objects.filter(project=project), text="dhis2 10.0.0.5")
    assert list(found.values_list("pk", flat=True)) == [message.pk]
