"""The support check: does the transcript, at an item's source span, say it?

Every decision and action item carries a source span. An item is supported
when the sentences in that span
- exist (the span holds speech) and are not the whole meeting (at most
  ``MAX_SPAN`` seconds),
- contain the item's words: most of its content words (crude stems, so
  "updated" matches "update"), and every number it states,
- for an action item: name the owner or are spoken by the owner, and hold a
  date expression that resolves (against the meeting date) to the due date.

Each check returns None when supported, else the reason in plain words. The
model engines' output goes through it item by item; the extractive engine's
too (it never invents, and this makes sure of it).
"""

from __future__ import annotations

import re
from datetime import date

from voicebot.minutes import dates
from voicebot.minutes.people import People
from voicebot.minutes.text import Sentence, content_words, fold_same_length, span_text, stem

MAX_SPAN = 120.0  # seconds: a span longer than this cannot back one item
MIN_SHARE = 0.6  # share of an item's content words that its span must contain


def _stems(text: str) -> set[str]:
    """Content word stems; numbers (digits or number words) are left to ``_numbers``."""
    return {stem(w) for w in content_words(text) if not any(c.isdigit() for c in w) and w not in dates.NUMBERS}


def _numbers(text: str) -> set[int]:
    """Numbers written or spoken in a text ("7th", "seventh", "sept" -> 7); years and times included."""
    folded = fold_same_length(text)
    found = {int(n) for n in re.findall(r"\d+", folded)}
    for word in re.findall(r"[a-z]+(?:[- ][a-z]+)?", folded):
        if word in dates.NUMBERS and word not in ("a", "an", "une", "un"):
            found.add(dates.NUMBERS[word])
        for part in word.replace("-", " ").split():
            if part in dates.NUMBERS and part not in ("a", "an", "une", "un"):
                found.add(dates.NUMBERS[part])
    return found


def _span(sentences: list[Sentence], start: float, end: float) -> tuple[list[Sentence], str | None]:
    if end < start:
        return [], "its time span ends before it starts"
    if end - start > MAX_SPAN:
        return [], f"its time span is too long to check ({end - start:.0f} s)"
    found = span_text(sentences, start, end)
    if not found:
        return [], "nothing was said in its time span"
    return found, None


def _words_supported(text: str, said: str) -> str | None:
    item = _stems(text)
    if not item:
        return "it has no content words"
    spoken = _stems(said)
    share = len(item & spoken) / len(item)
    if share < MIN_SHARE:
        missing = ", ".join(sorted(item - spoken)[:4])
        return f"its words are not in the transcript there (missing: {missing})"
    missing_numbers = _numbers(text) - _numbers(said)
    if missing_numbers:
        return f"its numbers are not in the transcript there ({', '.join(map(str, sorted(missing_numbers)))})"
    return None


def check_decision(text: str, start: float, end: float, sentences: list[Sentence]) -> str | None:
    found, problem = _span(sentences, start, end)
    if problem:
        return problem
    return _words_supported(text, " ".join(s.text for s in found))


def check_question(text: str, start: float, end: float, sentences: list[Sentence]) -> str | None:
    return check_decision(text, start, end, sentences)


def check_action(owner: str | None, task: str, due: str | None, start: float, end: float,
                 sentences: list[Sentence], people: People, base: date) -> str | None:
    found, problem = _span(sentences, start, end)
    if problem:
        return problem
    said = " ".join(s.text for s in found)
    problem = _words_supported(_without_dates(task, base), said)
    if problem:
        return problem
    if owner:
        named = {n for n, _, _ in people.mentions(said)}
        speakers = {s.speaker for s in found if s.speaker}
        folded_said = fold_same_length(said)
        said_plainly = re.search(rf"(?<!\w){re.escape(fold_same_length(owner))}(?!\w)", folded_said)
        if not (any(people.same(owner, n) for n in named | speakers) or said_plainly):
            return f"{owner} is neither named nor speaking there"
    if due:
        wanted = dates.parse_iso_date(due)
        if wanted is None:
            return f"its due date {due!r} is not a date"
        if wanted not in {m.value for m in dates.find_dates(said, base)}:
            return f"no date said there resolves to {due}"
    return None


def check_next_meeting(value: str | None, sentences: list[Sentence], base: date) -> str | None:
    if not value:
        return None
    wanted = dates.parse_iso_date(value)
    if wanted is None:
        return f"{value!r} is not a date"
    if not any(wanted == m.value for s in sentences for m in dates.find_dates(s.text, base)):
        return f"no date said in the meeting resolves to {value[:10]}"
    return None


def _without_dates(text: str, base: date) -> str:
    """A task sometimes carries its deadline in words ("by Friday"); those are checked as the due date."""
    for match in sorted(dates.find_dates(text, base), key=lambda m: -m.start):
        text = text[:match.start] + " " + text[match.end:]
    return text
