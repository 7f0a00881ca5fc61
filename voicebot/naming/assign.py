"""One assignment of names to speakers, and who was present, absent or unknown.

Everything weighs in one place:

- enrolled voiceprints: a voice matched above the calibrated threshold
  (:mod:`voicebot.diarize.naming`) is that person, whatever was said;
- what was said (:mod:`voicebot.naming.evidence`): introductions, being addressed and
  answering, being thanked just after speaking, being said absent;
- the invite list: only invitees are named from conversation, except someone not
  invited who says their own name ("I'm Peter Harlow", strong evidence only); the
  organiser is a little more likely to be the voice that opens the meeting and talks most;
- the number of voices: when every invitee is accounted for (named, or said absent) but one,
  and one voice is left, that voice is theirs.

Each speaker label gets a score per candidate (the sum of the evidence weights). The
assignment that maximizes the total (Hungarian, each name at most once, each label at most
one name) is kept, pair by pair, when its **confidence** is high enough: the confidence of
``label = person`` comes from how much worse the best assignment gets without that pair
(``margin / (margin + 1)``): a pair that wins only by a hair, or that another reading of the
same evidence explains as well, stays "Speaker N". A wrong name is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicebot import schema
from voicebot.invites import find_person
from voicebot.naming.evidence import Evidence, describe, gather
from voicebot.naming.names import Candidate, Lexicon

CONFIDENCE = 0.5  # below this a speaker stays "Speaker N"
ABSENT_PENALTY = -3.0  # said to be away: only their own introduction can name a voice theirs
ORGANIZER_FIRST = 0.45  # the organiser opens the meeting...
ORGANIZER_MOST = 0.45  # ... and talks most (together, not enough alone to name them)
LAST_ONE_LEFT = 1.5  # the count says the voices left are the invitees left (one, or two with the organiser)
ORGANIZER_OF_TWO = 0.6  # two voices and two invitees left, one the organiser: the voice that opened and talked most
GUEST_MINIMUM = 2.5  # someone not invited is named only when they say their own name, or are called by it often
VOICE_WEIGHT = 100.0  # a confident voiceprint match settles it
_FORBIDDEN = -1e6


@dataclass
class Pair:
    label: str
    person: int
    score: float
    confidence: float
    reason: str
    source: str  # voice | conversation


def _talk(transcript: schema.Transcript) -> tuple[list[str], dict[str, float], dict[str, int]]:
    """Labels in order of first appearance, seconds spoken and segments per label."""
    seconds: dict[str, float] = {}
    count: dict[str, int] = {}
    for seg in transcript.segments:
        if seg.speaker and seg.text.strip():
            seconds[seg.speaker] = seconds.get(seg.speaker, 0.0) + max(0.0, seg.end - seg.start)
            count[seg.speaker] = count.get(seg.speaker, 0) + 1
    return transcript.speakers, seconds, count


def _solve(scores: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    """Best total and its pairs (row, column) with a positive score; a row may stay unassigned (score 0)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = scores.shape
    if not rows or not cols:
        return 0.0, []
    padded = np.concatenate([scores, np.zeros((rows, rows))], axis=1)  # "nobody" for each row
    r, c = linear_sum_assignment(-padded)
    pairs = [(i, j) for i, j in zip(r, c) if j < cols and scores[i, j] > 0]
    return float(sum(scores[i, j] for i, j in pairs)), pairs


class Assignment:
    """Scores of every (label, candidate), and the names they give."""

    def __init__(self, transcript: schema.Transcript, lexicon: Lexicon, evidence: list[Evidence],
                 absent: dict[int, Evidence], fixed: dict[str, tuple[int, float]]):
        self.lexicon, self.evidence, self.absent, self.fixed = lexicon, evidence, absent, fixed
        self.labels, self.seconds, self.count = _talk(transcript)
        # Every label that said something counts as a voice, however little: a passer-by's one sentence is
        # someone, and a split voice only costs a name that the count can no longer give.
        self.voices = [label for label in self.labels if self.count.get(label, 0)]
        n, m = len(self.labels), len(lexicon.candidates)
        self.scores = np.zeros((n, m))
        self.why: dict[tuple[int, int], list[tuple[float, str]]] = {}
        for item in evidence:
            if item.label not in self.labels:
                continue
            row = self.labels.index(item.label)
            for person in item.people:
                self.scores[row, person] += item.weight
                if item.weight > 0:
                    self.why.setdefault((row, person), []).append((item.weight, describe(item)))
        for person in absent:
            self.scores[:, person] += ABSENT_PENALTY
        self._organizer()
        for person, candidate in enumerate(lexicon.candidates):
            if not candidate.invited:  # a guest: only their own introduction names them
                column = self.scores[:, person]
                weak = column < GUEST_MINIMUM
                column[weak] = np.minimum(column[weak], 0.0)

    def _organizer(self) -> None:
        organizers = [i for i, c in enumerate(self.lexicon.candidates) if c.organizer]
        if len(organizers) != 1 or not self.voices:
            return
        person = organizers[0]
        first = self.labels.index(self.voices[0])
        most = self.labels.index(max(self.voices, key=lambda label: self.seconds.get(label, 0.0)))
        self.scores[first, person] += ORGANIZER_FIRST
        self.scores[most, person] += ORGANIZER_MOST
        reason = "the organiser, and this voice opened the meeting" if first != most else \
            "the organiser, and this voice opened the meeting and talked most"
        self.why.setdefault((first, person), []).append((ORGANIZER_FIRST, reason))
        if most != first:
            self.why.setdefault((most, person), []).append((ORGANIZER_MOST, "the organiser, and this voice talked most"))

    def _free(self) -> np.ndarray:
        """The scores with the voiceprint-settled labels and people taken out (forbidden)."""
        scores = self.scores.copy()
        for label, (person, _) in self.fixed.items():
            row = self.labels.index(label)
            scores[row, :] = _FORBIDDEN
            scores[:, person] = _FORBIDDEN
        return scores

    def solve(self, confidence: float) -> list[Pair]:
        scores = self._free()
        pairs = self._pairs(scores)
        bonus = self._accounted([p for p in pairs if p.confidence >= confidence])
        if bonus:
            for (row, person), (weight, reason) in bonus.items():
                scores[row, person] += weight
                self.scores[row, person] += weight
                self.why.setdefault((row, person), []).append((weight, reason))
            pairs = self._pairs(scores)
        fixed = [Pair(label, person, VOICE_WEIGHT, _voice_confidence(score), f"voiceprint match {score:.2f}", "voice")
                 for label, (person, score) in self.fixed.items()]
        return fixed + pairs

    def _pairs(self, scores: np.ndarray) -> list[Pair]:
        """The best assignment, each pair with its confidence (how much worse the best is without it) and reasons."""
        total, best = _solve(scores)
        out = []
        for row, person in best:
            forbidden = scores.copy()
            forbidden[row, person] = _FORBIDDEN
            margin = total - _solve(forbidden)[0]
            confidence = round(margin / (margin + 1.0), 3) if margin > 0 else 0.0
            reasons = [text for _, text in sorted(self.why.get((row, person), []), key=lambda x: -x[0])]
            out.append(Pair(self.labels[row], person, float(scores[row, person]), confidence,
                            "; ".join(dict.fromkeys(reasons[:3])) or "by elimination", "conversation"))
        return out

    def _accounted(self, confident) -> dict[tuple[int, int], tuple[float, str]]:
        """Bonuses when the count says who the voices left are: every invitee is named, said absent, or among
        the voices left, and no one else spoke (no name nobody invited was said or called). One voice and one
        invitee left: them; two and two, one the organiser: the organiser is the voice that opened and talked most."""
        named_rows = {self.labels.index(p.label) for p in confident} | {self.labels.index(label) for label in self.fixed}
        named_people = {p.person for p in confident} | {person for person, _ in self.fixed.values()}
        voices_left = [self.labels.index(label) for label in self.voices if self.labels.index(label) not in named_rows]
        invited = [i for i, c in enumerate(self.lexicon.candidates) if c.invited]
        people_left = [i for i in invited if i not in named_people and i not in self.absent]
        guests = [i for i, c in enumerate(self.lexicon.candidates)
                  if not c.invited and (i in named_people or any(p == i and w > 0 for (_, p), w in self._weights()))]
        if len(voices_left) != len(people_left) or len(voices_left) not in (1, 2):
            return {}
        if len(self.voices) - len(guests) != len(invited) - len(self.absent):
            return {}  # more voices than invitees not said absent (a guest?), or fewer (someone silent?)
        reason = "every other invitee named or said absent, and this voice left" if len(voices_left) == 1 else \
            "two invitees and two voices left, and this voice opened the meeting and talked most"
        bonus = {(row, person): (LAST_ONE_LEFT, reason) for row in voices_left for person in people_left
                 if self.scores[row, person] > -1.0}
        if len(voices_left) == 2:
            organizers = [p for p in people_left if self.lexicon.candidates[p].organizer]
            first = self.labels.index(self.voices[0])
            most = self.labels.index(max(self.voices, key=lambda label: self.seconds.get(label, 0.0)))
            if len(organizers) != 1 or first != most or first not in voices_left:
                return {}
            organizer = organizers[0]
            bonus[(first, organizer)] = (LAST_ONE_LEFT + ORGANIZER_OF_TWO, reason)
            other = next(r for r in voices_left if r != first)
            for row, person in list(bonus):
                if (row, person) != (first, organizer) and not (row == other and person != organizer):
                    del bonus[(row, person)]
            bonus = {key: (value[0], reason if key[0] == first else
                           "the invitee left once the organiser and the others were named") for key, value in
                     bonus.items()}
        return bonus

    def _weights(self):
        """((row, person), weight) of every positive piece of evidence about a label."""
        for (row, person), items in self.why.items():
            for weight, _ in items:
                yield (row, person), weight


def _voice_confidence(score: float) -> float:
    """A voiceprint cosine above the threshold, as a confidence (0.85 -> 0.9, 0.95 and more -> 0.99)."""
    return round(min(0.99, 0.9 + (score - 0.85) * 0.9), 3)


def identify(transcript: schema.Transcript, invitees: list[schema.Person], voices: schema.Naming | None = None,
             *, confidence: float = CONFIDENCE) -> schema.Naming:
    """The names of ``transcript``'s speakers (diarization labels) and who of ``invitees`` was there.

    ``voices``: what the voiceprints said (:func:`voicebot.diarize.naming.name_speakers`), or None.
    Returns speakers.json (:class:`voicebot.schema.Naming`)."""
    lexicon = Lexicon.of(invitees)
    fixed: dict[str, tuple[int, float]] = {}
    for label, match in ((voices or {}).get("labels") or {}).items():
        if match and match.get("name"):
            invitee = find_person(match["name"], match.get("email"), invitees)
            person = lexicon.add(Candidate(invitee.name, invitee.email or match.get("email"), True,
                                           invitee.role == "organizer") if invitee else
                                 Candidate(match["name"], match.get("email"), False))
            fixed[label] = (person, float(match.get("score") or 0.0))
    evidence, absent, _ = gather(transcript, lexicon)
    assignment = Assignment(transcript, lexicon, evidence, absent, fixed)
    pairs = assignment.solve(confidence)
    kept = [p for p in pairs if p.confidence >= confidence]
    return _naming(assignment, kept, [p for p in pairs if p.confidence < confidence], voices)


def _naming(a: Assignment, kept: list[Pair], doubtful: list[Pair], voices: schema.Naming | None) -> schema.Naming:
    candidates = a.lexicon.candidates
    by_label = {p.label: p for p in kept}
    labels: dict[str, dict | None] = {}
    unnamed: dict[str, str] = {}
    for label in a.labels:
        pair = by_label.get(label)
        if pair is None:
            labels[label] = None
            unnamed[label] = f"Speaker {len(unnamed) + 1}"
            continue
        person = candidates[pair.person]
        voice = ((voices or {}).get("labels") or {}).get(label) if pair.source == "voice" else None
        labels[label] = {"name": person.name, "email": person.email, "score": voice.get("score") if voice else None,
                         "confidence": pair.confidence, "reason": pair.reason, "source": pair.source}
    present = [candidates[by_label[label].person].name for label in a.labels if label in by_label]
    there = {p.person for p in kept}
    invited = [i for i, c in enumerate(candidates) if c.invited]
    everyone_named = bool(a.voices) and all(label in by_label for label in a.voices)
    absent, unknown, reasons = [], [], {}
    for person in invited:
        name = candidates[person].name
        if person in there:
            reasons[name] = by_label_reason(kept, person)
        elif person in a.absent:
            absent.append(name)
            reasons[name] = describe(a.absent[person])
        elif everyone_named:
            absent.append(name)
            reasons[name] = "every voice heard was named, and none is theirs"
        else:
            unknown.append(name)
    proposed = {p.label: {"name": candidates[p.person].name, "confidence": p.confidence, "reason": p.reason}
                for p in doubtful if p.label in unnamed}
    naming: schema.Naming = {"labels": labels, "present": present, "absent": absent, "unknown": unknown,
                             "unnamed": unnamed, "reasons": reasons, "proposed": proposed,
                             "evidence": [e.to_dict(a.lexicon) for e in a.evidence]}
    if voices and "threshold" in voices:
        naming["threshold"] = voices["threshold"]
    return naming


def by_label_reason(kept: list[Pair], person: int) -> str:
    pair = next(p for p in kept if p.person == person)
    return f"{pair.label}: {pair.reason}"
