"""The full-text filters' query syntax, as PostgreSQL's websearch_to_tsquery reads it: words (all
must be there), "a quoted phrase" (those words in a row), OR between alternatives, -word (must not be
there). AND binds tighter than OR: `a b or c` is (a and b) or c.

A query is parsed here once into words that both databases tokenize alike (runs of letters and
digits, lowercased), then written out for each: back as a websearch_to_tsquery string for
PostgreSQL, as an FTS5 expression for SQLite. Both see the same words, so they find the same rows.
"""

import re
from dataclasses import dataclass

# A word is a run of letters and digits: how SQLite's unicode61 tokenizer cuts text, and how the
# PostgreSQL side cuts it once punctuation is turned into spaces (search/fulltext.py).
WORD = re.compile(r"[^\W_]+")
TOKEN = re.compile(r'-?"[^"]*"?|\S+')


class EmptyQuery(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase
    negated: bool = False


# A query: alternatives (OR), each a list of terms that must all hold.
Query = list[list[Term]]


def words_of(text: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in WORD.findall(text))


def parse(text: str) -> Query:
    """The alternatives of a query; EmptyQuery when it has no word to look for."""
    groups: Query = [[]]
    for token in TOKEN.findall(text or ""):
        if token.lower() == "or":
            if groups[-1]:
                groups.append([])
            continue
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        words = words_of(body.strip('"'))
        if words:
            groups[-1].append(Term(words, negated))
    groups = [group for group in groups if group]
    if not groups:
        raise EmptyQuery("Type a word to search for: letters or digits.")
    return groups


def websearch_text(query: Query) -> str:
    """The query for PostgreSQL's websearch_to_tsquery, in words it reads the way we do."""

    def term(t: Term) -> str:
        text = t.words[0] if len(t.words) == 1 else '"' + " ".join(t.words) + '"'
        return ("-" if t.negated else "") + text

    return " or ".join(" ".join(term(t) for t in group) for group in query)


def fts5_phrase(term: Term) -> str:
    # Words are letters and digits only, so nothing in them needs escaping inside the quotes.
    return '"' + " ".join(term.words) + '"'


def fts5_groups(query: Query) -> list[tuple[str, str]]:
    """Per alternative (positive FTS5 expression or "", negative FTS5 expression or ""): FTS5 cannot
    say "not X" on its own, so a caller tests the negative part as NOT IN."""
    out = []
    for group in query:
        positive = " AND ".join(fts5_phrase(t) for t in group if not t.negated)
        negative = " OR ".join(fts5_phrase(t) for t in group if t.negated)
        out.append((positive, negative))
    return out


def describe(query: Query) -> str:
    """The query in words, for the reprocess and export dialogs."""

    def term(t: Term) -> str:
        text = " ".join(t.words)
        text = f'"{text}"' if len(t.words) > 1 else text
        return f"without {text}" if t.negated else text

    return " or ".join(" and ".join(term(t) for t in group) for group in query)
