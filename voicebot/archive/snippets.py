"""The snippet of a search hit: the words around what matched, with the matches marked.

Built here rather than by the database (FTS5 ``snippet()``, PostgreSQL
``ts_headline``) so both backends show the same thing, and because asking the
index again for each row shown cost more than the search itself on a large
archive. Words are compared the way the index compares them: case and accents
ignored; a prefix term (``budg*``) marks the words it starts; other words also
match their inflections (``réunions`` for ``réunion``), as PostgreSQL's stemming does.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicebot.archive.query import Query, Term, is_token_char
from voicebot.textfold import fold

SNIPPET_WORDS = 16


@dataclass
class _Token:
    start: int
    end: int
    key: str


def _tokens(text: str) -> list[_Token]:
    tokens, begin = [], None
    for i, char in enumerate(text):
        if is_token_char(char):
            if begin is None:
                begin = i
        elif begin is not None:
            tokens.append(_Token(begin, i, fold(text[begin:i], collapse_spaces=False)))
            begin = None
    if begin is not None:
        tokens.append(_Token(begin, len(text), fold(text[begin:], collapse_spaces=False)))
    return tokens


def _same_word(key: str, wanted: str, prefix: bool) -> bool:
    if key == wanted or (prefix and key.startswith(wanted)):
        return True
    if prefix or len(wanted) < 4:
        return False
    stem = wanted[:max(4, len(wanted) - 2)]  # réunion ~ réunions, valider ~ validé
    return key.startswith(stem) and abs(len(key) - len(wanted)) <= 3


def _matches(tokens: list[_Token], term: Term) -> list[tuple[int, int]]:
    """(first, last) token indexes of each occurrence of a term."""
    wanted = [fold(t, collapse_spaces=False) for t in term.tokens]
    found = []
    for i in range(len(tokens) - len(wanted) + 1):
        if all(_same_word(tokens[i + k].key, w, term.prefix and k == len(wanted) - 1)
               for k, w in enumerate(wanted)):
            found.append((i, i + len(wanted) - 1))
    return found


def highlight(text: str, query: Query, words: int = SNIPPET_WORDS) -> list[tuple[str, bool]]:
    """(piece, is_hit) pairs of the ``words``-word window of ``text`` with the most hits."""
    tokens = _tokens(text)
    hits: set[int] = set()
    spans: list[tuple[int, int]] = []
    for term in query.terms:
        for first, last in _matches(tokens, term):
            spans.append((first, last))
            hits.update(range(first, last + 1))
    if len(tokens) <= words:
        lo, hi = 0, len(tokens)
    else:
        best, lo = -1, 0
        for start in range(0, len(tokens) - words + 1):
            count = sum(1 for i in range(start, start + words) if i in hits)
            if count > best:
                best, lo = count, start
        if best > 0:  # start a little before the window's first hit, for context
            first_hit = min(i for i in range(lo, lo + words) if i in hits)
            lo = max(0, min(first_hit - 3, len(tokens) - words))
        hi = min(len(tokens), lo + words)
    if not tokens:
        return [(text, False)] if text else []
    begin = 0 if lo == 0 else tokens[lo].start
    stop = len(text) if hi >= len(tokens) else tokens[hi - 1].end
    pieces: list[tuple[str, bool]] = [("…", False)] if begin > 0 else []
    cursor = begin
    for first, last in sorted(spans):
        if first < lo or last >= hi:
            continue
        start, end = tokens[first].start, tokens[last].end
        if start < cursor:  # overlapping occurrences: extend the previous one
            if pieces and pieces[-1][1] and end > cursor:
                pieces[-1] = (pieces[-1][0] + text[cursor:end], True)
                cursor = end
            continue
        if start > cursor:
            pieces.append((text[cursor:start], False))
        pieces.append((text[start:end], True))
        cursor = end
    if stop > cursor:
        pieces.append((text[cursor:stop], False))
    if stop < len(text):
        pieces.append(("…", False))
    merged: list[tuple[str, bool]] = []
    for piece, is_hit in pieces:  # "[plan] [de]" -> "[plan de]"
        if merged and is_hit and len(merged) >= 2 and merged[-2][1] and not merged[-1][1] \
                and not merged[-1][0].strip():
            space = merged.pop()[0]
            merged[-1] = (merged[-1][0] + space + piece, True)
        else:
            merged.append((piece, is_hit))
    return merged
