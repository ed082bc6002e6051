"""Message filters: PostgreSQL `jsonb @>` containment, and inclusion/exclusion (spec section 2)."""

import json

import pytest
from django.db import connection

from kindling.lib.jsonmatch import contains, matches

DATA_ROWS = {"data": [{"outlet_call": "TRUE", "new_existing": "Existing"}]}

# (body, inclusion, exclusion, match): the worked cases of the spec, in its order.
WORKED_CASES = [
    pytest.param(
        {"formID": "patient_registration_v7", "name": "Jack", "medications": ["a", "b"]},
        {"formID": "patient_registration_v7"},
        None,
        True,
        id="extra-keys-ignored",
    ),
    pytest.param(
        {"formID": "patient_registration_v8"},
        {"formID": "patient_registration_v7"},
        None,
        False,
        id="different-value",
    ),
    pytest.param(
        {"name": "john doe", "dob": "1986-05-16"},
        {"name": "john doe"},
        {"allowedToShare": False},
        True,
        id="exclusion-absent",
    ),
    pytest.param(
        {"name": "john doe", "allowedToShare": False},
        {"name": "john doe"},
        {"allowedToShare": False},
        False,
        id="exclusion-present",
    ),
    pytest.param(
        {"data": [{"outlet_call": "TRUE", "new_existing": "Existing", "x": 1}, {"y": 2}]},
        DATA_ROWS,
        None,
        True,
        id="object-in-array-element",
    ),
    pytest.param(
        {"data": [{"outlet_call": "TRUE"}, {"new_existing": "Existing"}]},
        DATA_ROWS,
        None,
        False,
        id="pairs-split-across-elements",
    ),
    pytest.param(
        {"form": {"@xmlns": "http://openrosa.org/formdesigner/X", "q1": "a"}},
        {"form": {"@xmlns": "http://openrosa.org/formdesigner/X"}},
        None,
        True,
        id="xmlns-key",
    ),
    pytest.param({"tags": ["x", "y", "z"]}, {"tags": ["z", "x"]}, None, True, id="array-order-free"),
    pytest.param({"n": 1.0}, {"n": 1}, None, True, id="int-equals-float"),
    pytest.param({"n": True}, {"n": 1}, None, False, id="true-is-not-1"),
    pytest.param([{"a": 1}], {"a": 1}, None, False, id="array-never-contains-object"),
]


@pytest.mark.parametrize(("body", "inclusion", "exclusion", "expected"), WORKED_CASES)
def test_it_decides_every_worked_case_of_the_spec(body, inclusion, exclusion, expected):
    assert matches(body, inclusion, exclusion) is expected


# (container, contained, expected): the listed rules of `@>`.
CONTAINMENT_RULES = [
    pytest.param([1, 2], 1, True, id="top-level-array-contains-scalar"),
    pytest.param([1, 2], 3, False, id="top-level-array-lacks-scalar"),
    pytest.param({"a": [3, 4]}, {"a": 3}, False, id="nested-array-does-not-contain-scalar"),
    pytest.param({"a": 1}, {}, True, id="empty-object-in-object"),
    pytest.param({}, {}, True, id="empty-object-in-empty-object"),
    pytest.param({"a": {"b": {"c": 1}}}, {}, True, id="empty-object-in-nested-object"),
    pytest.param({"foo": {"bar": 1}}, {"bar": 1}, False, id="no-deep-search"),
    pytest.param({"foo": {"bar": 1, "baz": 2}}, {"foo": {"bar": 1}}, True, id="nested-object-subset"),
    pytest.param({"n": True}, {"n": 1}, False, id="true-is-not-1"),
    pytest.param({"n": 1}, {"n": True}, False, id="1-is-not-true"),
    pytest.param({"n": False}, {"n": 0}, False, id="false-is-not-0"),
    pytest.param({"n": 1}, {"n": 1.0}, True, id="1-equals-1.0"),
    pytest.param({"n": 1}, {"n": "1"}, False, id="number-is-not-string"),
    pytest.param({"n": None}, {"n": None}, True, id="null-equals-null"),
    pytest.param({"n": None}, {"n": False}, False, id="null-is-not-false"),
    pytest.param({"s": "Jack"}, {"s": "jack"}, False, id="strings-case-sensitive"),
    pytest.param({"s": "Jack"}, {"s": "Jack "}, False, id="strings-exact"),
    pytest.param([{"a": 1}], {"a": 1}, False, id="array-never-contains-object"),
    pytest.param({"a": [{"b": 1}]}, {"a": {"b": 1}}, False, id="nested-array-never-contains-object"),
    pytest.param({"a": {"b": 1}}, {"a": [{"b": 1}]}, False, id="object-never-contains-array"),
    pytest.param({"t": ["x", "y"]}, {"t": ["x", "x", "x"]}, True, id="duplicates-irrelevant"),
    pytest.param({"t": ["x", "x"]}, {"t": ["x", "y"]}, False, id="each-element-needed"),
    pytest.param({"t": ["x"]}, {"t": []}, True, id="empty-array-in-array"),
    pytest.param([[1, 2], [3]], [[2, 1]], True, id="nested-arrays"),
    pytest.param([[1, 2], [3]], [[1, 3]], False, id="nested-array-elements-must-share-one-element"),
    pytest.param([[1, 2]], [1], False, id="nested-array-does-not-flatten"),
    pytest.param([1, [2]], [2], False, id="scalar-not-found-inside-nested-array"),
    pytest.param({"a": [[{"b": 1, "c": 2}]]}, {"a": [[{"b": 1}]]}, True, id="objects-in-nested-arrays"),
    pytest.param("abc", "abc", True, id="scalar-contains-equal-scalar"),
    pytest.param(1, [1], False, id="scalar-never-contains-array"),
    pytest.param({"a": 1}, [], False, id="object-never-contains-array-top-level"),
]


@pytest.mark.parametrize(("container", "contained", "expected"), CONTAINMENT_RULES)
def test_it_applies_the_rules_of_postgresql_containment(container, contained, expected):
    assert contains(container, contained) is expected


@pytest.mark.parametrize(("container", "contained", "expected"), CONTAINMENT_RULES)
def test_postgresql_itself_agrees_with_every_rule(on_postgresql, container, contained, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb @> %s::jsonb", [json.dumps(container), json.dumps(contained)])
        assert cursor.fetchone()[0] is expected


@pytest.mark.parametrize(("body", "inclusion", "exclusion", "expected"), WORKED_CASES)
def test_postgresql_itself_agrees_with_every_worked_case(on_postgresql, body, inclusion, exclusion, expected):
    # The spec's SQL form of the filter; an unset exclusion is SQL NULL.
    exclusion = None if exclusion is None else json.dumps(exclusion)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT body @> inclusion AND NOT (exclusion IS NOT NULL AND body @> exclusion)"
            " FROM (SELECT %s::jsonb AS body, %s::jsonb AS inclusion, %s::jsonb AS exclusion) AS filter",
            [json.dumps(body), json.dumps(inclusion), exclusion],
        )
        assert cursor.fetchone()[0] is expected


def test_it_matches_without_exclusion():
    assert matches({"formID": "intake", "x": 1}, {"formID": "intake"}) is True


def test_it_rejects_a_message_that_meets_the_exclusion():
    assert matches({"formID": "intake", "test": True}, {"formID": "intake"}, {"test": True}) is False


def test_exclusion_does_not_matter_when_inclusion_fails():
    assert matches({"formID": "other"}, {"formID": "intake"}, {"test": True}) is False


def test_a_partly_met_exclusion_does_not_exclude():
    assert matches({"formID": "intake", "test": True}, {"formID": "intake"}, {"test": True, "x": 1}) is True


def test_empty_inclusion_matches_every_object_body():
    assert matches({"anything": [1, 2]}, {}) is True


def test_empty_inclusion_does_not_match_an_array_body():
    assert matches([1, 2], {}) is False


def test_a_filter_without_inclusion_matches_nothing():
    assert matches({"a": 1}, None) is False
