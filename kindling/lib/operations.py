"""The operations a job expression calls at its top level: `upsert(...)`, `fn(...)`, `each(...)`.

An OpenFn expression is a list of operation calls; what is inside them (callbacks, arguments) is not
an operation of the job. This is a scanner, not a parser: it skips strings, template literals,
comments and regular expressions, tracks bracket depth, and takes each `name(` at depth zero that is
not a method (`a.b(`), a keyword or a declaration. Good enough to search by, and it never raises.
"""

import re

KEYWORDS = {
    "if", "for", "while", "switch", "catch", "function", "return", "typeof", "new", "do", "else",
    "await", "async", "import", "export", "const", "let", "var", "class", "with", "delete", "void",
    "in", "of", "instanceof", "yield", "throw", "case", "default", "try", "finally", "super", "this",
}  # fmt: skip
MAX_OPERATIONS = 50
NAME = re.compile(r"[A-Za-z_$][\w$]*")
# After these a "/" starts a regular expression rather than a division.
REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^")


def _skip_string(text: str, i: int, quote: str) -> int:
    n = len(text)
    i += 1
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        if quote == "`" and c == "$" and text.startswith("${", i):
            i = _skip_balanced(text, i + 1)
            continue
        if c == "\n" and quote != "`":
            return i
        i += 1
    return n


def _skip_balanced(text: str, i: int) -> int:
    """From an opening "{" (of a template literal's `${`), past its closing "}"."""
    depth, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"`":
            i = _skip_string(text, i, c)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_regex(text: str, i: int) -> int:
    n, in_class = len(text), False
    i += 1
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            return i
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            i += 1
            while i < n and (text[i].isalnum()):
                i += 1
            return i
        i += 1
    return n


def top_level_operations(expression: str) -> list[str]:
    """The names of the functions called at the top level of `expression`, in order, each once."""
    found: list[str] = []
    text = expression or ""
    n, i, depth = len(text), 0, 0
    last = ""  # the last significant character, to tell a regex from a division and a method call
    word_before = ""  # `function name(` declares, it does not call
    while i < n and len(found) < MAX_OPERATIONS:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c in "'\"`":
            i, last = _skip_string(text, i, c), "a"
            continue
        if c == "/" and (last == "" or last in REGEX_AFTER):
            i, last = _skip_regex(text, i), "a"
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        elif NAME.match(text, i):
            word = NAME.match(text, i).group()
            end = i + len(word)
            after = end
            while after < n and text[after] in " \t":
                after += 1
            calls = depth == 0 and last != "." and word not in KEYWORDS and word_before != "function"
            if calls and text.startswith("(", after) and word not in found:
                found.append(word)
            i, last, word_before = end, "a", word
            continue
        last, word_before = c, ""
        i += 1
    return found
