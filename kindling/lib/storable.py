"""Text that a database cannot store: a NUL character (PostgreSQL's text and jsonb refuse it; SQLite
keeps it, but its text functions stop there) and an unpaired UTF-16 surrogate (not UTF-8 at all:
PostgreSQL refuses it, and so does SQLite's driver).
JavaScript strings and JSON's `\\u` escapes can hold both, so a job's log lines and final state, and
an inbox message, may carry them.

(A Python string decoded from JSON or UTF-16 holds a surrogate code point only when it was unpaired:
a pair becomes the one character it encodes.)
"""

import json
import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The same characters in JSON text as Python's json.dumps writes it (ASCII, lower-case escapes). A
# surrogate pair written as two escapes matches too: this only says that a closer look is needed.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(0000|d[89a-f])")


def escaped(text: str) -> str:
    """`text` with each NUL and unpaired surrogate written out as its JSON escape (`\\u0000`,
    `\\ud83d`): visible in a log, and storable in both databases."""
    if UNSTORABLE.search(text) is None:
        return text
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def what(character: str) -> str:
    if character == "\x00":
        return "a NUL character (\\u0000)"
    return f"an unpaired UTF-16 surrogate (\\u{ord(character):04x})"


def unstorable_text(value, root: str = "") -> str | None:
    """Where parsed JSON `value` holds text that cannot be stored, and what, e.g. "a NUL character
    (\\u0000) in data.note"; None when it can be stored. Keys count as text too (and are named
    escaped: the answer is stored in turn)."""
    stack = [(value, root)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                key = str(key)
                inner = f"{path}.{escaped(key)}" if path else escaped(key)
                if (found := UNSTORABLE.search(key)) is not None:
                    return f"{what(found.group())} in the key {inner}"
                stack.append((child, inner))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str) and (found := UNSTORABLE.search(item)) is not None:
            return f"{what(found.group())} in {path or 'the value'}"
    return None


def unstorable_json(value, root: str = "") -> str | None:
    """unstorable_text, for a value that is usually fine: one pass of the C encoder over it first, and
    the walk only when that finds an escape worth a look."""
    if _UNSTORABLE_ESCAPE.search(json.dumps(value)) is None:
        return None
    return unstorable_text(value, root)
