"""The data passed between stages, and its JSON (and RTTM) form.

These are the project's stable contracts:

- ``Transcript`` is what ``voicebot transcribe --format json`` prints and what
  the pipeline stores as ``transcript.json``.
- ``Turn`` lists are diarization results, stored as RTTM.
- ``Minutes`` is ``minutes.json``.
- ``Meeting`` is ``recordings/<id>/meeting.json``.

Times are seconds from the start of the recording, as floats.
Stages build these objects; nothing here does any work beyond (de)serializing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TypedDict


class SpeakerMatch(TypedDict):
    """Who a speaker label was matched to."""

    name: str
    email: str | None
    score: float | None  # the voiceprint cosine; None when named from what was said


class SpeakerName(SpeakerMatch, total=False):
    """A named speaker, with how sure and why (speakers.json since names come from the conversation too)."""

    confidence: float  # 0-1; below voicebot.naming.CONFIDENCE a speaker is not named
    reason: str  # "addressed as Bruno at 0:31 and answered", "voiceprint match 0.91"
    source: str  # voice | conversation | confirmed (by a person)


class Naming(TypedDict, total=False):
    """speakers.json: the naming stage's result, which the minutes, the mails and renames read.

    ``labels``: diarization label -> the person named (None: nobody); ``present``: names heard;
    ``unnamed``: label -> what it is shown as ("Speaker 2"); ``threshold``: the voice match threshold used.
    Since names also come from what was said (voicebot.naming), also: ``absent`` and ``unknown``
    (invitees said or known to be away, and those nobody can tell about), ``reasons`` (name -> why
    present or absent), ``proposed`` (label -> a name below the confidence threshold, for a person to
    confirm) and ``evidence`` (what was said that counted). Files without ``unknown`` are older: the
    minutes then take every invitee not present as absent, as they did."""

    labels: dict[str, SpeakerName | None]
    present: list[str]
    absent: list[str]
    unknown: list[str]
    unnamed: dict[str, str]
    threshold: float
    reasons: dict[str, str]
    proposed: dict[str, dict[str, Any]]
    evidence: list[dict[str, Any]]


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _pick(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``data`` that ``cls`` knows; unknown keys are ignored so newer files still load."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


# --- transcript -----------------------------------------------------------


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "word": self.word,
                "probability": round(self.probability, 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(**_pick(cls, data))


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: str | None = None
    language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speaker": self.speaker,
                "language": self.language, "text": self.text,
                "words": [w.to_dict() for w in self.words]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        values = _pick(cls, data)
        values["words"] = [Word.from_dict(w) for w in data.get("words", [])]
        return cls(**values)


@dataclass
class Transcript:
    language: str  # the main language; each segment carries its own
    duration: float
    model: str
    engine: str
    segments: list[Segment] = field(default_factory=list)
    title: str | None = None
    date: str | None = None  # YYYY-MM-DD, the meeting date (due dates resolve against it)

    @property
    def languages(self) -> list[str]:
        """Languages spoken, most talked first."""
        totals: dict[str, float] = {}
        for seg in self.segments:
            if seg.language:
                totals[seg.language] = totals.get(seg.language, 0.0) + (seg.end - seg.start)
        return sorted(totals, key=lambda lang: -totals[lang])

    @property
    def speakers(self) -> list[str]:
        """Speaker labels in order of first appearance."""
        return list(dict.fromkeys(s.speaker for s in self.segments if s.speaker))

    def talk_time(self, name_of: Callable[[str], str | None] | None = None) -> dict[str, float]:
        """Seconds spoken per speaker, most talkative first (ties in order of first appearance).

        A segment counts when it has a speaker and some text (a segment left empty says nothing);
        ``name_of(label)`` names its speaker (the label itself when it gives nothing).
        The minutes' talk time and the web page's are both this."""
        totals: dict[str, float] = {}
        for seg in self.segments:
            if seg.speaker and seg.text.strip():
                name = (name_of(seg.speaker) if name_of else None) or seg.speaker
                totals[name] = totals.get(name, 0.0) + max(0.0, seg.end - seg.start)
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def to_dict(self) -> dict[str, Any]:
        data = {"language": self.language, "duration": round(self.duration, 3), "model": self.model,
                "engine": self.engine, "title": self.title, "date": self.date}
        data = _drop_none(data)
        data["segments"] = [s.to_dict() for s in self.segments]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        values = _pick(cls, data)
        values["segments"] = [Segment.from_dict(s) for s in data.get("segments", [])]
        values.setdefault("language", "")
        values.setdefault("duration", max((s.end for s in values["segments"]), default=0.0))
        values.setdefault("model", "")
        values.setdefault("engine", "")
        return cls(**values)


# --- diarization ------------------------------------------------------------


@dataclass
class Turn:
    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def turns_to_rttm(turns: Iterable[Turn], uri: str) -> str:
    """Standard RTTM, one SPEAKER line per turn (pyannote.metrics reads it)."""
    uri = uri.replace(" ", "_") or "audio"
    lines = [
        f"SPEAKER {uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {t.speaker.replace(' ', '_')} <NA> <NA>"
        for t in sorted(turns, key=lambda t: (t.start, t.end))
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def turns_from_rttm(text: str) -> list[Turn]:
    turns = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            turns.append(Turn(start, start + duration, parts[7]))
    return turns


# --- people and meetings ----------------------------------------------------


@dataclass
class Person:
    name: str
    email: str | None = None
    role: str = "attendee"  # attendee | organizer | optional

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Person:
        return cls(**_pick(cls, data))


@dataclass
class Meeting:
    """``recordings/<id>/meeting.json``: written when a recording starts (or a file is imported)."""

    id: str
    title: str
    started_at: str  # ISO 8601 with timezone
    invitees: list[Person] = field(default_factory=list)
    language: str | None = None  # a hint (``--language``); None = detect
    device: str | None = None
    samplerate: int | None = None
    channels: int | None = None
    consent_notice_shown_at: str | None = None
    source: str | None = None  # the imported file, when not recorded here
    ended_at: str | None = None  # set when a recording is closed cleanly (or recovered)
    status: str = "recording"  # recording | recorded | recovered | imported | empty (no audio was captured)
    server: str | None = None  # the team server it was recorded for (record --server): processed there, not here

    @property
    def date(self) -> str:
        return self.started_at[:10]

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["invitees"] = [p.to_dict() for p in self.invitees]
        return _drop_none(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Meeting:
        values = _pick(cls, data)
        values["invitees"] = [Person.from_dict(p) for p in data.get("invitees", [])]
        return cls(**values)


# --- minutes ----------------------------------------------------------------


@dataclass
class KeyPoint:
    text: str
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass
class Decision:
    text: str
    source_start: float
    source_end: float
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none({"text": self.text, "source_start": round(self.source_start, 3),
                           "source_end": round(self.source_end, 3), "speaker": self.speaker})


@dataclass
class ActionItem:
    owner: str | None  # a person's name; None when nobody was named
    task: str
    due: str | None  # ISO date (YYYY-MM-DD), resolved against the meeting date
    source_start: float
    source_end: float
    owner_email: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "task": self.task, "due": self.due,
                "source_start": round(self.source_start, 3), "source_end": round(self.source_end, 3),
                **({"owner_email": self.owner_email} if self.owner_email else {})}


@dataclass
class Question:
    text: str
    source_start: float
    source_end: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "source_start": round(self.source_start, 3),
                "source_end": round(self.source_end, 3)}


@dataclass
class Minutes:
    title: str
    date: str  # YYYY-MM-DD
    duration: float
    language: str
    present: list[str] = field(default_factory=list)  # names (speakers identified, or invitees matched)
    absent: list[str] = field(default_factory=list)  # invitees said or known to be away
    unknown: list[str] = field(default_factory=list)  # invitees nobody can tell were there or not
    talk_time: dict[str, float] = field(default_factory=dict)  # speaker -> seconds
    summary: str = ""
    key_points: list[KeyPoint] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    open_questions: list[Question] = field(default_factory=list)
    next_meeting: str | None = None  # ISO date or datetime, when one was set
    engine: str = "extractive"  # the engine that produced these minutes
    notes: list[str] = field(default_factory=list)  # degraded modes, said plainly

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title, "date": self.date, "duration": round(self.duration, 3),
            "language": self.language, "present": self.present, "absent": self.absent, "unknown": self.unknown,
            "talk_time": {k: round(v, 1) for k, v in self.talk_time.items()},
            "summary": self.summary, "key_points": [k.to_dict() for k in self.key_points],
            "decisions": [d.to_dict() for d in self.decisions],
            "action_items": [a.to_dict() for a in self.action_items],
            "open_questions": [q.to_dict() for q in self.open_questions],
            "next_meeting": self.next_meeting, "engine": self.engine, "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Minutes:
        values = _pick(cls, data)
        values["key_points"] = [KeyPoint(**_pick(KeyPoint, k)) for k in data.get("key_points", [])]
        values["decisions"] = [Decision(**_pick(Decision, d)) for d in data.get("decisions", [])]
        values["action_items"] = [ActionItem(**_pick(ActionItem, a)) for a in data.get("action_items", [])]
        values["open_questions"] = [Question(**_pick(Question, q)) for q in data.get("open_questions", [])]
        return cls(**values)


# --- files ------------------------------------------------------------------


def dumps(obj: Any) -> str:
    """JSON text of a schema object (or plain data), UTF-8 kept readable."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
