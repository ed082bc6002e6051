"""PostgreSQL `jsonb @>` containment, as a pure function, and the v1 message filter built on it.

A message matches a filter when `body @> inclusion AND NOT (exclusion is set AND body @> exclusion)`.
"""

from typing import Any


def _kind(value: Any) -> str:
    # bool is a subclass of int in Python, but `true` is not `1` in JSON.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _scalar_equal(a: Any, b: Any) -> bool:
    return _kind(a) == _kind(b) and a == b


def _contains(container: Any, contained: Any) -> bool:
    kind_a, kind_b = _kind(container), _kind(contained)
    if kind_b == "object":
        return kind_a == "object" and all(
            key in container and _contains(container[key], value) for key, value in contained.items()
        )
    if kind_b == "array":
        # Every element wanted must be contained by some element present; order and duplicates don't matter.
        return kind_a == "array" and all(any(_contains(x, want) for x in container) for want in contained)
    return _scalar_equal(container, contained)


def contains(container: Any, contained: Any) -> bool:
    """`container @> contained` with PostgreSQL's rules."""
    # Only at the top level does an array contain a bare scalar: `[1,2] @> 1`, but not `{"a":[3]} @> {"a":3}`.
    if _kind(container) == "array" and _kind(contained) not in ("array", "object"):
        return any(_kind(x) not in ("array", "object") and _scalar_equal(x, contained) for x in container)
    return _contains(container, contained)


def matches(body: Any, inclusion: Any, exclusion: Any = None) -> bool:
    if inclusion is None or not contains(body, inclusion):
        return False
    return exclusion is None or not contains(body, exclusion)
