"""A person confirms or corrects the names and who was there, before anything is sent.

``voicebot record`` shows, at the end of a meeting, who voicebot thinks spoke and
who was there (:func:`summary`); the organiser answers in a few keystrokes
(:func:`parse`), for instance::

    2=Carol          speaker 2 is Carol (an invitee's name, or its start: "car")
    2=               speaker 2 is nobody known
    -David           David was absent;  +David: present;  ?David: unknown
    2=Carol, -David  several at once (commas between)

:func:`apply` makes the corrected speakers.json (named by a person: confidence 1,
source "confirmed"), and :func:`save` writes it with the transcript's speakers renamed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from voicebot import schema
from voicebot.errors import UserError
from voicebot.invites import find_person
from voicebot.textfold import fold

CONFIRMED = "confirmed by the organiser"


@dataclass
class Edit:
    kind: str  # name | unname | present | absent | unknown
    row: int | None = None  # 1-based row of the speakers table
    name: str | None = None


def rows(naming: schema.Naming) -> list[str]:
    """Speaker labels in the order the table shows them (first to speak first)."""
    return list(naming.get("labels") or {})


def summary(naming: schema.Naming, transcript: schema.Transcript | None = None,
            written: schema.Naming | None = None) -> list[str]:
    """The table shown to the organiser: one line per speaker (with its first words in ``transcript``, whose
    speakers are shown as ``written`` names them, by default ``naming``), then who was present, absent, unknown."""
    from voicebot.diarize.naming import display_name

    first_words: dict[str, str] = {}
    for seg in (transcript.segments if transcript else []):
        if seg.speaker and seg.speaker not in first_words and seg.text.strip():
            first_words[seg.speaker] = seg.text.strip()
    lines = []
    for i, label in enumerate(rows(naming), 1):
        match = (naming.get("labels") or {}).get(label)
        shown = display_name(naming, label) or label
        said = first_words.get(display_name(written or naming, label) or label) or first_words.get(label) or ""
        said = f' — "{said[:60]}{"…" if len(said) > 60 else ""}"' if said else ""
        if match:
            why = f"{match.get('confidence', 1.0):.2f}: {match.get('reason') or ''}".rstrip(": ")
            lines.append(f"{i}. {shown} ({why}){said}")
        else:
            guess = (naming.get("proposed") or {}).get(label)
            maybe = f" (perhaps {guess['name']}, {guess['confidence']:.2f}: {guess['reason']})" if guess else ""
            lines.append(f"{i}. {shown}{maybe}{said}")
    for key, title in (("present", "present"), ("absent", "absent"), ("unknown", "not known whether present")):
        names = naming.get(key) or []
        if names or key != "unknown":
            lines.append(f"{title}: {', '.join(names) if names else '-'}")
    return lines


_EDIT = re.compile(r"^(?:(?P<row>\d+)\s*(?:=|:)?\s*(?P<name>.*)|(?P<mark>[-+?])\s*(?P<who>.+))$")


def parse(text: str) -> list[Edit]:
    """The organiser's answer as edits; UserError, saying how to write it, when it cannot be read."""
    edits = []
    for part in (p.strip() for p in re.split(r"[,;]", text or "")):
        if not part:
            continue
        match = _EDIT.match(part)
        if not match:
            raise UserError(f"cannot read {part!r}: write e.g. 2=Carol, 2= (nobody), -David (absent), +David "
                            "(present) or ?David (unknown)")
        if match.group("row"):
            name = " ".join(match.group("name").split()).strip("= ")
            edits.append(Edit("name" if name and name != "-" else "unname", int(match.group("row")), name or None))
        else:
            kind = {"-": "absent", "+": "present", "?": "unknown"}[match.group("mark")]
            edits.append(Edit(kind, None, " ".join(match.group("who").split())))
    return edits


def _person(name: str, invitees: list[schema.Person]) -> schema.Person:
    """The invitee a typed name means (the same name, a short form, or the start of one name), else a new name."""
    found = find_person(name, None, invitees)
    if found is None:
        starting = [p for p in invitees if p.name and fold(p.name).startswith(fold(name))]
        found = starting[0] if len(starting) == 1 else None
    return found or schema.Person(name)


def apply(naming: schema.Naming, edits: list[Edit], invitees: list[schema.Person]) -> schema.Naming:
    """A corrected copy of ``naming`` (labels, present, absent, unknown); UserError for a row that does not exist."""
    import copy

    out = copy.deepcopy(naming)
    labels = out.setdefault("labels", {})
    order = rows(out)
    marks: dict[str, str] = {}
    for edit in edits:
        if edit.kind in ("name", "unname"):
            if not edit.row or edit.row > len(order):
                raise UserError(f"there is no speaker {edit.row}; the speakers are numbered 1 to {len(order)}")
            label = order[edit.row - 1]
            if edit.kind == "unname":
                labels[label] = None
                continue
            person = _person(edit.name or "", invitees)
            for other in order:  # one name, one speaker
                if labels.get(other) and fold(labels[other]["name"]) == fold(person.name):
                    labels[other] = None
            labels[label] = {"name": person.name, "email": person.email, "score": None, "confidence": 1.0,
                             "reason": CONFIRMED, "source": "confirmed"}
        else:
            marks[_person(edit.name or "", invitees).name] = edit.kind
    out["unnamed"] = {}
    for label in order:
        if not labels.get(label):
            out["unnamed"][label] = f"Speaker {len(out['unnamed']) + 1}"
    named = [labels[label]["name"] for label in order if labels.get(label)]
    was = {key: list(out.get(key) or []) for key in ("absent", "unknown")}
    present = list(dict.fromkeys(named + [n for n, kind in marks.items() if kind == "present"]))
    people = [p.name for p in invitees if p.name]
    absent, unknown = [], []
    for name in people + [n for n in marks if n not in people]:
        if find_person(name, None, [schema.Person(n) for n in present]) is not None:
            continue
        # Not on a voice now: as the organiser says, else as before (someone unnamed by hand: unknown).
        kind = marks.get(name) or ("absent" if name in was["absent"] else "unknown")
        if kind == "absent":
            absent.append(name)
        elif kind == "present":
            present.append(name)
        else:
            unknown.append(name)
    out["present"], out["absent"], out["unknown"] = present, absent, unknown
    reasons = out.setdefault("reasons", {})
    for name in marks:
        reasons[name] = CONFIRMED
    for label in order:
        if labels.get(label) and labels[label].get("source") == "confirmed":
            reasons[labels[label]["name"]] = f"{label}: {CONFIRMED}"
    return out


def save(directory: Path, before: schema.Naming, after: schema.Naming) -> None:
    """Write ``after`` as the meeting's speakers.json, and rename the speakers of its transcript.json to match."""
    from voicebot import recordings
    from voicebot.diarize.naming import display_name
    from voicebot.fsutil import atomic_write

    shown = {display_name(before, label): display_name(after, label) for label in rows(after)}
    path = directory / recordings.TRANSCRIPT
    if path.is_file():
        transcript = schema.Transcript.from_dict(schema.read_json(path))
        for seg in transcript.segments:
            seg.speaker = shown.get(seg.speaker, seg.speaker)
        atomic_write(path, schema.dumps(transcript))
    atomic_write(directory / recordings.SPEAKERS, schema.dumps(after))
