"""Scoring drafted minutes against expected ones (samples/meeting-*.expected.json).

A drafted action item matches an expected one when their source spans overlap
(a little slack for rounding and for ASR timing) and the owner and the due date
are the same; a decision matches when the spans overlap and the texts share
most of their content words. Each expected item is matched at most once.
Precision = matched drafted items / drafted items; recall = matched expected
items / expected items (decisions and action items together).
"""

from __future__ import annotations

from voicebot import schema
from voicebot.minutes.text import spans_overlap, word_overlap
from voicebot.textfold import fold_words

SLACK = 1.5  # seconds


def _same_name(a: str | None, b: str | None) -> bool:
    return fold_words(a or "").strip() == fold_words(b or "").strip()


def score(drafted: schema.Minutes, expected: schema.Minutes) -> dict:
    """Precision, recall and the items that did not match, as plain data."""
    pairs = []
    used: set[int] = set()
    missing, extra = [], []
    for d in drafted.decisions:
        hit = next((i for i, e in enumerate(expected.decisions) if i not in used
                    and spans_overlap(d.source_start, d.source_end, e.source_start, e.source_end, SLACK)
                    and word_overlap(d.text, e.text) >= 0.5), None)
        if hit is None:
            extra.append(f"decision: {d.text}")
        else:
            used.add(hit)
            pairs.append(("decision", d.text, expected.decisions[hit].text))
    missing += [f"decision: {e.text}" for i, e in enumerate(expected.decisions) if i not in used]
    used = set()
    for a in drafted.action_items:
        hit = next((i for i, e in enumerate(expected.action_items) if i not in used
                    and spans_overlap(a.source_start, a.source_end, e.source_start, e.source_end, SLACK)
                    and _same_name(a.owner, e.owner) and a.due == e.due), None)
        if hit is None:
            extra.append(f"action: {a.owner} / {a.task} / {a.due}")
        else:
            used.add(hit)
            pairs.append(("action", a.task, expected.action_items[hit].task))
    missing += [f"action: {e.owner} / {e.task} / {e.due}" for i, e in enumerate(expected.action_items)
                if i not in used]
    found = len(drafted.decisions) + len(drafted.action_items)
    wanted = len(expected.decisions) + len(expected.action_items)
    matched = len(pairs)
    return {
        "precision": matched / found if found else 1.0,
        "recall": matched / wanted if wanted else 1.0,
        "matched": matched, "drafted": found, "expected": wanted,
        "missing": missing, "extra": extra,
        "present_ok": sorted(drafted.present) == sorted(expected.present),
        "absent_ok": sorted(drafted.absent) == sorted(expected.absent),
        "next_meeting_ok": drafted.next_meeting == expected.next_meeting,
    }


def label_from_reference(transcript: schema.Transcript, turns: list[schema.Turn]) -> None:
    """Give each segment the reference speaker it overlaps most (evaluating minutes apart from diarization)."""
    for seg in transcript.segments:
        overlap: dict[str, float] = {}
        for turn in turns:
            shared = min(seg.end, turn.end) - max(seg.start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        seg.speaker = max(overlap, key=overlap.get) if overlap else None
