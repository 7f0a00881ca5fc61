"""What a user types into the search box, turned into a safe full-text query.

Any text is a valid query. It is never handed to the database's query
language as is: it is parsed here into terms, and each backend renders the
terms in its own syntax with every word quoted (SQLite FTS5) or bound as a
parameter (PostgreSQL), so quotes, operators, ``*``, parentheses, emoji or
SQL fragments can neither raise a syntax error nor inject anything.

The syntax understood, close to what search engines accept:

- ``budget réunion``: both words (AND), in any order; accents and case ignored.
- ``"plan de charge"``: the words next to each other (a phrase).
- ``budg*``: words starting with ``budg`` (also ``"plan de ch"*``).
- ``budget OR devis`` (also ``|``): either word.
- ``-draft`` or ``NOT draft``: segments without that word.
- ``AND``, ``&``, ``+`` and parentheses are accepted and ignored (AND is implied).

Words are split the way the index splits them (letters, digits and marks;
everything else separates), so ``l'équipe`` or ``e-mail`` become phrases.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

MAX_TERMS = 32  # longer queries are cut: beyond this, nobody is searching any more
MAX_TOKEN_CHARS = 64

_OPEN_QUOTES = '"“”«»„‟＂'
_CLOSE_QUOTES = {'"': '"', "“": "”", "”": "”", "«": "»", "»": "«", "„": "“", "‟": "”", "＂": "＂"}
_SEPARATORS = set("()[]{},;")
_OR_WORDS = {"OR", "|", "||"}
_AND_WORDS = {"AND", "&", "&&", "+"}
_NOT_WORDS = {"NOT", "!"}


def is_token_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LNM" or category == "Co"


def tokenize(text: str) -> list[str]:
    """Split text into the words a full-text index sees (letters, digits, marks)."""
    tokens, current = [], []
    for char in unicodedata.normalize("NFC", text):
        if is_token_char(char):
            current.append(char)
        elif current:
            tokens.append("".join(current)[:MAX_TOKEN_CHARS])
            current = []
    if current:
        tokens.append("".join(current)[:MAX_TOKEN_CHARS])
    return tokens


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of words next to each other; ``prefix``: the last word is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.tokens) > 1

    def __str__(self) -> str:
        text = " ".join(self.tokens)
        return (f'"{text}"' if self.is_phrase else text) + ("*" if self.prefix else "")


@dataclass
class Query:
    """Terms to find: every group must match (one term of the group is enough); no excluded term may."""

    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.groups

    @property
    def terms(self) -> list[Term]:
        return [t for group in self.groups for t in group]

    def __str__(self) -> str:
        parts = [" OR ".join(map(str, g)) if len(g) == 1 else "(" + " OR ".join(map(str, g)) + ")"
                 for g in self.groups]
        parts += [f"-{t}" for t in self.excluded]
        return " ".join(parts)


def parse(text: str) -> Query:
    """Parse user text into a Query; never raises (an empty Query matches nothing)."""
    text = unicodedata.normalize("NFC", text or "")
    items: list[tuple[str, Term | None, bool]] = []  # (kind, term, negated); kind: term | or
    i, n = 0, len(text)
    negate_next = False
    while i < n and len(items) < 4 * MAX_TERMS:
        char = text[i]
        if char.isspace() or char in _SEPARATORS:
            i += 1
            continue
        negated = negate_next
        negate_next = False
        if char == "-" and i + 1 < n and (text[i + 1] in _OPEN_QUOTES or is_token_char(text[i + 1])):
            negated, i = True, i + 1
            char = text[i]
        if char in _OPEN_QUOTES:
            closer = _CLOSE_QUOTES.get(char, '"')
            end = i + 1
            while end < n and text[end] != closer and text[end] not in '"＂':
                end += 1
            tokens = tokenize(text[i + 1:end])
            i = end + 1
            prefix = False
            while i < n and text[i] == "*":
                prefix, i = True, i + 1
            if tokens:
                items.append(("term", Term(tuple(tokens), prefix), negated))
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] not in _SEPARATORS and text[end] not in _OPEN_QUOTES:
            end += 1
        word, i = text[i:end], end
        if word in _OR_WORDS:
            items.append(("or", None, False))
            continue
        if word in _AND_WORDS:
            continue
        if word in _NOT_WORDS:
            negate_next = True
            continue
        prefix = word.endswith("*")
        tokens = tokenize(word)
        if tokens:
            items.append(("term", Term(tuple(tokens), prefix), negated))

    query = Query()
    join_with_previous = False
    for kind, term, negated in items:
        if kind == "or":
            join_with_previous = bool(query.groups)
            continue
        assert term is not None
        if len(query.terms) + len(query.excluded) >= MAX_TERMS:
            break
        if negated:
            query.excluded.append(term)
        elif join_with_previous:
            query.groups[-1].append(term)
        else:
            query.groups.append([term])
        join_with_previous = False
    if not query.groups and query.excluded:
        # Only exclusions ("-budget"): nothing to look for, so look for the words themselves.
        query.groups = [[t] for t in query.excluded]
        query.excluded = []
    return query


def to_fts5(query: Query) -> str:
    """The FTS5 MATCH expression: every term double-quoted, so it cannot be read as syntax."""

    def term(t: Term) -> str:
        # tokens hold letters, digits and marks only: no quote can appear inside
        return '"' + " ".join(t.tokens) + '"' + ("*" if t.prefix else "")

    def group(terms: list[Term]) -> str:
        return term(terms[0]) if len(terms) == 1 else "(" + " OR ".join(map(term, terms)) + ")"

    if query.empty:
        return ""
    expression = " AND ".join(group(g) for g in query.groups)
    if query.excluded:
        expression = f"({expression}) NOT {group(query.excluded)}"
    return expression
