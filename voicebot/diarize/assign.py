"""Words to speakers: each word goes to the turn that covers most of it.

A word no turn overlaps goes to the nearest turn in time. Consecutive words
of one speaker are then regrouped into segments: a transcript segment is split
where the speaker changes, never merged with its neighbours, so each segment
keeps its own language.
"""

from __future__ import annotations

import bisect
import copy

from voicebot.schema import Segment, Transcript, Turn, Word


class _Turns:
    """Turns sorted by start, with a running maximum of ends for overlap queries."""

    def __init__(self, turns: list[Turn]):
        self.turns = sorted((t for t in turns if t.end > t.start), key=lambda t: (t.start, t.end))
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.duration for t in self.turns), default=0.0)
        # latest_end[i]: the turn with the latest end among turns[:i+1]
        self.latest_end: list[int] = []
        for i, turn in enumerate(self.turns):
            best = self.latest_end[-1] if self.latest_end else 0
            self.latest_end.append(i if turn.end >= self.turns[best].end else best)

    def speaker_at(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        cover: dict[str, float] = {}
        # turns starting before `end`; walk back while they may still overlap
        hi = bisect.bisect_left(self.starts, end)
        lo = bisect.bisect_left(self.starts, start - self.longest)
        for turn in self.turns[lo:hi]:
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > 0:
                cover[turn.speaker] = cover.get(turn.speaker, 0.0) + overlap
        if cover:
            return max(cover, key=lambda s: (cover[s], s))
        if end <= start:  # a zero-length word inside a turn
            for turn in self.turns[lo:bisect.bisect_right(self.starts, start)]:
                if turn.start <= start <= turn.end:
                    return turn.speaker
        # no overlap: the nearest turn in time (any turn ending near `start` started before it)
        middle = (start + end) / 2
        after = bisect.bisect_right(self.starts, middle)
        near = [self.turns[after]] if after < len(self.turns) else []
        if after > 0:
            near.append(self.turns[self.latest_end[after - 1]])
        return min(near, key=lambda t: (max(t.start - middle, middle - t.end, 0.0), t.start)).speaker


def _text(words: list[Word]) -> str:
    # Whisper words carry their leading space; join as they are
    return "".join(w.word for w in words).strip()


def assign_words(transcript: Transcript, turns: list[Turn]) -> Transcript:
    """A copy of ``transcript`` whose segments each have one speaker (split where it changes)."""
    index = _Turns(turns)
    out = copy.deepcopy(transcript)
    segments: list[Segment] = []
    for seg in transcript.segments:
        if not index.turns:
            segments.append(copy.deepcopy(seg))
            continue
        if not seg.words:
            new = copy.deepcopy(seg)
            new.speaker = index.speaker_at(seg.start, seg.end)
            segments.append(new)
            continue
        groups: list[tuple[str | None, list[Word]]] = []
        for word in seg.words:
            speaker = index.speaker_at(word.start, word.end)
            if groups and groups[-1][0] == speaker:
                groups[-1][1].append(copy.deepcopy(word))
            else:
                groups.append((speaker, [copy.deepcopy(word)]))
        if len(groups) == 1:
            new = copy.deepcopy(seg)
            new.speaker = groups[0][0]
            segments.append(new)
            continue
        for speaker, words in groups:
            segments.append(Segment(start=words[0].start, end=words[-1].end, text=_text(words),
                                    words=words, speaker=speaker, language=seg.language))
    out.segments = segments
    return out
