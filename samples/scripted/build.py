"""Build the scripted meetings' files from their hand-written scripts (``NAME.txt``).

    python samples/scripted/build.py           # write NAME.transcript.json, NAME.ics, NAME.expected.json
    python samples/scripted/build.py --check   # exit 1 if a written file differs from what its script gives

A script has a header (``key: value`` lines), a line ``---``, then one turn per line,
``Voice: text`` (``Voice [fr]: text`` for a turn in another language than the meeting's).
``<D1>``, ``<A2>``, ``<Q1>`` right after a sentence mark it as (part of) the source of the
decision, action item or open question of that name in the header. See README.md.

Times are made up the way a recording would have them: each voice speaks at its own rate
(2.3-3.1 words a second), pauses between sentences and between turns vary, and a turn
is cut into Whisper-like segments of one to a few sentences. Everything is seeded by
the meeting's name, so a build is reproducible. Speaker labels are diarization's
(``SPEAKER_00``... in order of first appearance); the truth is in the expected file.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ZONE = "Europe/Paris"
TAG = re.compile(r"<([DAQ]\d+)>")
# A sentence ends at . ! ? or … followed by a space; not after "M." or "Mr." and the like.
SENTENCE_END = re.compile(r"(?<!\bM)(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!\bSt)(?<=[.!?…])\s+")
KINDS = {"D": "decision", "A": "action", "Q": "question"}


@dataclass
class Person:
    name: str
    email: str
    role: str = "REQ-PARTICIPANT"


@dataclass
class Sentence:
    voice: str
    language: str
    text: str
    tags: list[str] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0


@dataclass
class Script:
    name: str
    title: str = ""
    start: datetime | None = None
    minutes: int = 30
    language: str = "en"
    organizer: Person | None = None
    invitees: list[Person] = field(default_factory=list)
    voices: dict[str, str | None] = field(default_factory=dict)  # voice in the script -> invitee's name or None
    present: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    next_meeting: str | None = None
    items: dict[str, dict] = field(default_factory=dict)  # D1/A1/Q1 -> its fields
    turns: list[list[Sentence]] = field(default_factory=list)


def _person(text: str, role: str) -> Person:
    match = re.fullmatch(r"\s*(.+?)\s*<([^>]+)>\s*", text)
    if not match:
        raise ValueError(f"expected 'Name <email>', got {text!r}")
    return Person(match.group(1), match.group(2), role)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def parse(path: Path) -> Script:
    script = Script(path.stem)
    head, sep, body = path.read_text(encoding="utf-8").partition("\n---\n")
    if not sep:
        raise ValueError(f"{path}: no '---' line between the header and the turns")
    for raw in head.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = (part.strip() for part in line.partition(":"))
        item = re.fullmatch(r"(decision|action|question)\s+([DAQ]\d+)", key)
        voice = re.fullmatch(r"voice\s+(\S+)", key)
        if key == "title":
            script.title = value
        elif key == "start":
            script.start = datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(ZONE))
        elif key == "minutes":
            script.minutes = int(value)
        elif key == "language":
            script.language = value
        elif key == "organizer":
            script.organizer = _person(value, "CHAIR")
            script.invitees.append(script.organizer)
        elif key in ("invitee", "optional"):
            script.invitees.append(_person(value, "REQ-PARTICIPANT" if key == "invitee" else "OPT-PARTICIPANT"))
        elif voice:
            script.voices[voice.group(1)] = None if value == "-" else value
        elif key in ("present", "absent", "guests"):
            setattr(script, key, _names(value))
        elif key == "next":
            script.next_meeting = None if value == "-" else value
        elif item:
            kind, tag = item.groups()
            if kind == "action":
                owner, task, due = (p.strip() for p in value.split("|"))
                script.items[tag] = {"owner": None if owner == "-" else owner, "task": task,
                                     "due": None if due == "-" else due}
            else:
                script.items[tag] = {"text": value}
        else:
            raise ValueError(f"{path}: unknown header line {raw!r}")
    for number, raw in enumerate(body.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"(\S+?)(?:\s*\[(\w\w)\])?:\s+(.+)", raw.strip())
        if not match or match.group(1) not in script.voices:
            raise ValueError(f"{path}: turn line {number} is not 'Voice: text' with a voice from the header: {raw!r}")
        script.turns.append(_sentences(match.group(1), match.group(2) or script.language, match.group(3),
                                       f"{path.name} turn line {number}"))
    return script


def _sentences(voice: str, language: str, text: str, where: str) -> list[Sentence]:
    out: list[Sentence] = []
    for piece in SENTENCE_END.split(text.strip()):
        leading = re.match(r"^(?:\s*<[DAQ]\d+>)+\s*", piece)
        if leading:  # tags right after the previous sentence's end
            if not out:
                raise ValueError(f"{where}: a tag before any sentence")
            out[-1].tags += TAG.findall(leading.group(0))
            piece = piece[leading.end():]
        if not piece.strip():
            continue
        if TAG.search(piece):
            raise ValueError(f"{where}: a tag must follow a sentence's end (. ? ! …): {piece!r}")
        out.append(Sentence(voice, language, piece.strip()))
    return out


# --- times and files ---------------------------------------------------------------------------------------


def timed(script: Script) -> list[list[list[Sentence]]]:
    """Times for every sentence; each turn cut into segments (lists of sentences)."""
    rng = random.Random(script.name)
    rates = {voice: rng.uniform(2.3, 3.1) for voice in script.voices}
    clock = round(rng.uniform(0.8, 2.0), 2)
    turns = []
    for turn in script.turns:
        segments: list[list[Sentence]] = []
        for k, sentence in enumerate(turn):
            words = len(sentence.text.split())
            sentence.start = round(clock, 3)
            sentence.end = round(clock + max(0.45, words / rates[sentence.voice] * rng.uniform(0.9, 1.12)), 3)
            clock = sentence.end + rng.uniform(0.15, 0.55)
            if k and segments and sentence.end - segments[-1][0].start < 14 and rng.random() < 0.6:
                segments[-1].append(sentence)
            else:
                segments.append([sentence])
        turns.append(segments)
        clock += rng.uniform(0.1, 0.8)
    return turns


def labels(script: Script) -> dict[str, str]:
    """Script voice -> diarization label, in order of first appearance."""
    order = list(dict.fromkeys(turn[0].voice for turn in script.turns if turn))
    return {voice: f"SPEAKER_{i:02d}" for i, voice in enumerate(order)}


def transcript_json(script: Script) -> dict:
    turns = timed(script)
    label = labels(script)
    segments = [{"start": seg[0].start, "end": seg[-1].end, "speaker": label[seg[0].voice],
                 "language": seg[0].language, "text": " ".join(s.text for s in seg), "words": []}
                for turn in turns for seg in turn]
    return {"language": script.language, "duration": round(segments[-1]["end"] + 1.2, 3), "model": "script",
            "engine": "hand-written", "segments": segments}


def _fold(line: str) -> str:
    """RFC 5545 folding: lines over 75 characters go on in lines that start with a space."""
    parts = [line[:75]] + [" " + line[i:i + 74] for i in range(75, len(line), 74)]
    return "\r\n".join(parts)


def ics(script: Script) -> str:
    start = script.start
    end = start + timedelta(minutes=script.minutes)
    stamp = (start - timedelta(days=6, hours=2)).astimezone(timezone.utc)

    def cn(name: str) -> str:
        return f'"{name}"' if re.search(r"[,;:]", name) else name

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//voicebot//scripted meeting//EN", "METHOD:REQUEST",
             "BEGIN:VTIMEZONE", f"TZID:{ZONE}",
             "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
             "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
             "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
             "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD", "END:VTIMEZONE",
             "BEGIN:VEVENT", f"UID:{script.name}-{start:%Y%m%d}@scripted.example",
             f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}",
             f"DTSTART;TZID={ZONE}:{start:%Y%m%dT%H%M%S}", f"DTEND;TZID={ZONE}:{end:%Y%m%dT%H%M%S}",
             f"SUMMARY:{script.title.replace(',', chr(92) + ',')}",
             f"ORGANIZER;CN={cn(script.organizer.name)}:mailto:{script.organizer.email}"]
    for person in script.invitees:
        lines.append(f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE={person.role};PARTSTAT=ACCEPTED;RSVP=TRUE;"
                     f"CN={cn(person.name)}:mailto:{person.email}")
    lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-PT15M", "END:VALARM",
              "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def expected_json(script: Script, transcript: dict) -> dict:
    label = labels(script)
    tagged: dict[str, list[Sentence]] = {}
    for turn in script.turns:
        for sentence in turn:
            for tag in sentence.tags:
                tagged.setdefault(tag, []).append(sentence)
    missing = set(script.items) - set(tagged)
    unknown = set(tagged) - set(script.items)
    if missing or unknown:
        raise ValueError(f"{script.name}: items never tagged {sorted(missing)}, tags never declared {sorted(unknown)}")

    def span(tag: str) -> dict:
        said = tagged[tag]
        return {"source_start": min(s.start for s in said), "source_end": max(s.end for s in said)}

    def who(sentence: Sentence) -> str | None:
        return script.voices[sentence.voice]

    out: dict = {
        "_comment": "Written by hand for evaluation (see README.md): what correct minutes of this meeting contain. "
                    "Spans are the reference transcript's times; due dates are resolved against the meeting date.",
        "title": script.title, "date": script.start.date().isoformat(), "duration": transcript["duration"],
        "language": script.language, "present": script.present, "absent": script.absent,
    }
    if script.guests:
        out["guests"] = script.guests
    out["speakers"] = {label[v]: script.voices[v] for v in label}
    items = sorted(script.items, key=lambda t: (span(t)["source_start"], t))  # in the order they were said
    out["decisions"] = [{"text": script.items[t]["text"], **span(t), "speaker": who(tagged[t][-1])}
                        for t in items if t[0] == "D"]
    out["action_items"] = [{**script.items[t], **span(t)} for t in items if t[0] == "A"]
    out["open_questions"] = [{"text": script.items[t]["text"], **span(t)} for t in items if t[0] == "Q"]
    out["next_meeting"] = script.next_meeting
    return out


def check(script: Script) -> None:
    """What a script must hold together: the people, the dates."""
    invited = [p.name for p in script.invitees]
    if sorted(script.present + script.absent) != sorted(invited):
        raise ValueError(f"{script.name}: present + absent {script.present + script.absent} != invited {invited}")
    voiced = {v for v in script.voices.values() if v}
    if voiced - set(script.present) or set(script.present) - voiced:
        raise ValueError(f"{script.name}: the voices' people {sorted(voiced)} are not those present")
    for tag, item in script.items.items():
        if tag[0] == "A" and item["due"] is not None and date.fromisoformat(item["due"]) < script.start.date():
            raise ValueError(f"{script.name}: {tag} is due before the meeting")


def build(path: Path) -> dict[Path, str]:
    """The three files of one script, as text."""
    script = parse(path)
    check(script)
    transcript = transcript_json(script)
    expected = expected_json(script, transcript)
    return {path.with_suffix(".transcript.json"): json.dumps(transcript, indent=1, ensure_ascii=False) + "\n",
            path.with_suffix(".ics"): ics(script),
            path.with_suffix(".expected.json"): json.dumps(expected, indent=2, ensure_ascii=False) + "\n"}


def scripts() -> list[Path]:
    return sorted(p for p in HERE.glob("*.txt"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files written, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in scripts():
        for target, text in build(path).items():
            if args.check:
                if not target.is_file() or target.read_bytes() != text.encode("utf-8"):
                    stale.append(target.name)
            else:
                with open(target, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
    if stale:
        print("out of date (run python samples/scripted/build.py): " + ", ".join(stale), file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
