"""The trigger filter as SQLite SQL must decide exactly like lib/jsonmatch (PostgreSQL's `@>`)."""

import json
import random
import sqlite3

import pytest

from kindling.lib.jsonmatch import contains, matches
from kindling.lib.jsonsql import contains_sql, matches_sql
from tests.domain.test_jsonmatch import CONTAINMENT_RULES, WORKED_CASES


@pytest.fixture(scope="module")
def sqlite():
    db = sqlite3.connect(":memory:")
    yield db
    db.close()


def decide(db, sql, params, body) -> bool:
    # The placeholders of `sql` come first in the text, the body's last.
    return bool(
        db.execute(f"SELECT {sql} FROM (SELECT ? AS body)", [*params, json.dumps(body)]).fetchone()[0]
    )


@pytest.mark.parametrize(("body", "inclusion", "exclusion", "expected"), WORKED_CASES)
def test_every_worked_case(sqlite, body, inclusion, exclusion, expected):
    sql, params = matches_sql("body", inclusion, exclusion, placeholder="?")

    assert decide(sqlite, sql, params, body) is expected


@pytest.mark.parametrize(("container", "contained", "expected"), CONTAINMENT_RULES)
def test_every_containment_rule(sqlite, container, contained, expected):
    sql, params = contains_sql("body", contained, placeholder="?")

    assert decide(sqlite, sql, params, container) is expected


def random_json(rng, depth=0):
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice([0, 1, 1.0, 2, True, False, None, "a", "A", "", "a b", 2**70, -3.5])
    if roll < 0.7:
        return {rng.choice("abc"): random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def test_it_agrees_with_jsonmatch_on_random_values(sqlite):
    rng = random.Random(20261128)
    agreed = hits = 0
    for _ in range(3000):
        body, wanted = random_json(rng), random_json(rng)
        if isinstance(body, dict) and body and rng.random() < 0.4:
            key = rng.choice(list(body))
            wanted = {key: body[key]}  # often a hit, so both answers get exercised
        sql, params = contains_sql("body", wanted, placeholder="?")
        expected = contains(body, wanted)
        agreed += decide(sqlite, sql, params, body) is expected
        hits += expected
    assert agreed == 3000
    assert hits > 300


def test_unicode_and_quotes_in_keys_and_values(sqlite):
    body = {'we"ird': "Zürich", "emoji": ["🙂", "x"]}

    for wanted, expected in [
        ({'we"ird': "Zürich"}, True),
        ({"emoji": ["🙂"]}, True),
        ({'we"ird': "zürich"}, False),
    ]:
        sql, params = matches_sql("body", wanted, placeholder="?")
        assert decide(sqlite, sql, params, body) is expected
        assert matches(body, wanted) is expected
