"""Who was there, who was not, who talked how long, and names in sentences.

Inputs: the transcript's speaker labels, the speaker-naming result
(speakers.json: ``{"labels": {label: {"name", "email", "score"} | None},
"present": [names], "absent": [...], "unknown": [...]}``) and the meeting's invite list.

Who was there is the naming's to say (voicebot.naming: present when a voice is theirs,
absent when the meeting says so or every voice is someone else's, unknown otherwise).
An older speakers.json, without ``unknown``, is read as it was written: every invitee
not identified is absent, unless nobody at all was identified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voicebot import schema
from voicebot.invites import find_person
from voicebot.minutes.text import GENERIC_SPEAKER, STOPWORDS
from voicebot.textfold import fold_same_length
from voicebot.textfold import fold_words as fold


def is_generic(label: str | None) -> bool:
    """True for labels that are not a person's name ("SPEAKER_00", "Speaker 2", "Locuteur 1")."""
    return not label or bool(GENERIC_SPEAKER.match(label.strip()))


@dataclass
class People:
    """The people of a meeting: names and emails, and the speaker label -> name mapping."""

    labels: dict[str, str] = field(default_factory=dict)  # diarization label -> person's name
    emails: dict[str, str] = field(default_factory=dict)  # name -> email
    present: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # invitees nobody can tell were there or not
    unnamed: list[str] = field(default_factory=list)  # speaker labels nobody could name
    diarized: bool = True
    _pattern: re.Pattern | None = None
    _by_key: dict[str, str] = field(default_factory=dict)

    def name_of(self, label: str | None) -> str | None:
        if label is None:
            return None
        return self.labels.get(label, label)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(self.present + self.absent + self.unknown + list(self.emails)))

    def email(self, name: str | None) -> str | None:
        return self.emails.get(name) if name else None

    def canonical(self, name: str | None) -> str | None:
        """A name as the meeting knows it ("alice" -> "Alice", "Alice" -> "Alice Martin" when unique)."""
        if not name:
            return None
        return self._by_key.get(fold(name), name)

    def same(self, a: str | None, b: str | None) -> bool:
        return bool(a and b) and self.canonical(a) == self.canonical(b)

    def mentions(self, text: str) -> list[tuple[str, int, int]]:
        """Known people named in ``text``: (name, start, end), in text order."""
        if self._pattern is None:
            return []
        folded = fold_same_length(text)
        return [(self._by_key[m.group(0)], m.start(), m.end()) for m in self._pattern.finditer(folded)]

    def index(self) -> None:
        """Build the name lookup: full names, and first names when only one person has it."""
        keys: dict[str, str] = {}
        firsts: dict[str, list[str]] = {}
        for name in self.names + list(self.labels.values()):
            if not name or is_generic(name):
                continue
            keys[fold(name)] = name
            first = fold(name).split()[0]
            if first != fold(name):
                firsts.setdefault(first, []).append(name)
        for first, names in firsts.items():
            if len(set(names)) == 1 and first not in keys and first not in STOPWORDS:
                keys[first] = names[0]
        self._by_key = keys
        if keys:
            alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w'-])(?:{alternatives})(?![\w-])")


def gather(transcript: schema.Transcript, meeting: schema.Meeting | None, speakers: dict | None) -> People:
    people = People()
    speakers = speakers or {}
    for label, info in (speakers.get("labels") or {}).items():
        if isinstance(info, dict) and info.get("name"):
            people.labels[label] = info["name"]
            if info.get("email"):
                people.emails[info["name"]] = info["email"]
    invitees = meeting.invitees if meeting else []
    for person in invitees:
        if person.email and person.name:
            people.emails.setdefault(person.name, person.email)
    labels = transcript.speakers
    people.diarized = bool(labels)
    named = [people.name_of(label) for label in labels]
    people.unnamed = [n for n in named if is_generic(n)]
    present = list(speakers.get("present") or [])
    present += [n for n in named if n and not is_generic(n) and n not in present]
    people.present = list(dict.fromkeys(present))

    # An invitee is there when someone present is them ("Alice Martin" invited and "Alice" identified,
    # or the reverse). Nobody named (no diarization, no voice recognized): nobody can be called absent either,
    # unless the naming heard it said (speakers.json with "unknown": its own present/absent/unknown).
    there = [schema.Person(name, people.emails.get(name)) for name in people.present]
    missing = [p for p in invitees if p.name and find_person(p.name, p.email, there) is None]
    if "unknown" in speakers:
        said = [schema.Person(name) for name in speakers.get("absent") or []]
        people.absent = [p.name for p in missing if find_person(p.name, None, said) is not None]
        people.unknown = [p.name for p in missing if p.name not in people.absent]
    elif there:
        people.absent = [p.name for p in missing]
    else:
        people.unknown = [p.name for p in missing]
    people.index()
    people.present = [people.canonical(p) or p for p in people.present]
    return people


def talk_time(transcript: schema.Transcript, people: People) -> dict[str, float]:
    """Seconds spoken per person (:meth:`schema.Transcript.talk_time`, speakers named by ``people``)."""
    return transcript.talk_time(people.name_of)
