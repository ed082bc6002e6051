"""PostgreSQL's `jsonb @>` as SQLite SQL (JSON1 functions), with the rules of `jsonmatch.contains`.

PostgreSQL filters messages by a trigger with `body @> criteria` in SQL; SQLite has no such operator,
and testing millions of bodies in Python is slow. This builds an equivalent SQLite expression:
objects match key by key, each wanted array element must be contained by some element present,
scalars compare with their JSON type (1 equals 1.0; true is not 1).
"""

from typing import Any

from kindling.lib.jsonmatch import _kind

# The range SQLite's integers hold; larger JSON numbers are REAL there, so compare as floats.
INT64 = range(-(2**63), 2**63)
SCALAR_TYPES = {"string": "('text')", "number": "('integer','real')"}


class _Builder:
    def __init__(self, placeholder: str):
        self.params: list[Any] = []
        self.aliases = 0
        self.p = placeholder

    def alias(self) -> str:
        self.aliases += 1
        return f"kdl_j{self.aliases}"

    def scalar(self, type_sql: str, value_sql: str, want) -> str:
        kind = _kind(want)
        if kind == "boolean":
            return f"{type_sql} = '{'true' if want else 'false'}'"
        if kind == "null":
            return f"{type_sql} = 'null'"
        if kind == "number" and isinstance(want, int) and want not in INT64:
            want = float(want)
        self.params.append(want)
        return f"({type_sql} IN {SCALAR_TYPES[kind]} AND {value_sql} = {self.p})"

    def node(self, json_sql: str, type_sql: str, value_sql: str, want) -> str:
        """SQL true when the JSON value described by (json text, json type, SQL value) contains `want`."""
        kind = _kind(want)
        if kind not in ("object", "array"):
            return self.scalar(type_sql, value_sql, want)
        # json_each() fails on text that is not JSON (a string value): give it an empty container
        # instead, since SQLite may evaluate the EXISTS before the type test that makes it moot.
        container = f"CASE WHEN {type_sql} IN ('object','array') THEN {json_sql} ELSE '[]' END"
        parts = [f"{type_sql} = '{kind}'"]
        items = want.items() if kind == "object" else ((None, element) for element in want)
        for key, element in items:
            a = self.alias()
            if kind == "object":
                self.params.append(key)
                key_test = f"{a}.key = {self.p} AND "
            else:
                key_test = ""
            inner = self.node(f"{a}.value", f"{a}.type", f"{a}.value", element)
            parts.append(f"EXISTS (SELECT 1 FROM json_each({container}) AS {a} WHERE {key_test}{inner})")
        return "(" + " AND ".join(parts) + ")"


def contains_sql(column: str, want, placeholder: str = "%s") -> tuple[str, list]:
    """(sql, params): SQLite SQL that is true when the JSON text in `column` contains `want`.

    `placeholder`: "%s" for Django's cursors and RawSQL, "?" for the sqlite3 module itself.
    """
    b = _Builder(placeholder)
    type_sql, value_sql = f"json_type({column})", f"json_extract({column}, '$')"
    sql = b.node(column, type_sql, value_sql, want)
    if _kind(want) not in ("object", "array"):
        # Only at the top level does an array contain a bare scalar: `[1,2] @> 1`.
        a = b.alias()
        element = b.scalar(f"{a}.type", f"{a}.value", want)
        sql = (
            f"({sql} OR ({type_sql} = 'array' AND EXISTS (SELECT 1 FROM json_each({column}) AS {a} "
            f"WHERE {element})))"
        )
    return sql, b.params


def matches_sql(column: str, inclusion, exclusion=None, placeholder: str = "%s") -> tuple[str, list]:
    """`column @> inclusion AND NOT (exclusion is set AND column @> exclusion)` for SQLite."""
    sql, params = contains_sql(column, inclusion, placeholder)
    if exclusion is not None:
        excluded, more = contains_sql(column, exclusion, placeholder)
        sql, params = f"({sql} AND NOT {excluded})", params + more
    return sql, params
