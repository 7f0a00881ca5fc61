"""Text compared the way people read it: case and accents ignored ("Zoé" = "zoe").

One place for the folding every stage needs (names of people and speakers,
search words, words of the minutes). Two forms, because two uses need them:

- :func:`fold`, a key for comparing names and words: ``casefold()``
  (``"ß"`` -> ``"ss"``), accents removed, white space runs as one space;
- :func:`fold_words`, the minutes' form for matching words in a transcript:
  ``lower()``, accents removed, typographic apostrophes made plain, spacing
  kept, so that it agrees character for character with :func:`fold_same_length`,
  which the minutes use to find positions in a sentence.

Both decompose with NFKD, so ligatures and compatibility forms become plain
letters ("ﬁ" -> "fi", "²" -> "2"). Standard library only: any module may import this.
"""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """The text in NFKD with its combining marks dropped: "Chloé" -> "Chloe", "ﬁn" -> "fin"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold(text: str | None, *, collapse_spaces: bool = True) -> str:
    """Case- and accent-insensitive key: "  Zoé   MARTIN " -> "zoe martin".

    ``collapse_spaces=False`` keeps the white space as it is (a single word
    folded for comparing with others, where trimming would change nothing but the cost)."""
    folded = strip_accents(text or "").casefold()
    return " ".join(folded.split()) if collapse_spaces else folded


def fold_words(text: str) -> str:
    """Lowercase, accents removed, typographic apostrophes made plain ("L’Été" -> "l'ete"), spacing kept.

    ``lower()`` rather than ``casefold()``: "ß" stays one character, as in :func:`fold_same_length`."""
    return strip_accents(text.replace("’", "'")).lower()


def fold_same_length(text: str) -> str:
    """:func:`fold_words` one character for one, so match positions in the folded text map back to the text.

    A character that decomposes into several ("ﬁ") keeps only the first; both
    typographic apostrophes (’ and ‘) become "'"."""
    out = []
    for ch in text:
        if ch in "’‘":
            out.append("'")
            continue
        base = unicodedata.normalize("NFKD", ch)[:1].lower()[:1]
        out.append(base or ch)
    return "".join(out)
