"""Guards against what Whisper is known to invent.

- Segments Whisper itself rates as "no speech" with low confidence are dropped
  (the rule both reference implementations apply to a whole window, applied
  here to each segment after voice activity detection).
- Repetition loops ("merci merci merci merci...", a sentence repeated) are cut
  to one occurrence.
"""

from __future__ import annotations

from voicebot.asr.engine import RawSegment, RawWord

NO_SPEECH_PROB = 0.6
LOGPROB_FLOOR = -1.0
MIN_REPEATS = {1: 4}  # a single word must repeat 4 times in a row ("no no no" is natural speech)
DEFAULT_MIN_REPEATS = 3  # a phrase of 2+ words repeated 3 times in a row is a loop
MAX_NGRAM = 12


def is_silence_hallucination(segment: RawSegment) -> bool:
    return segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOGPROB_FLOOR


def _norm(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


def cut_repetitions(words: list[RawWord]) -> list[RawWord]:
    """Collapse any n-gram repeated back to back (a loop) to its first occurrence."""
    keys = [_norm(w.word) for w in words]
    out_idx: list[int] = []
    i = 0
    while i < len(words):
        collapsed = False
        for n in range(1, MAX_NGRAM + 1):  # the shortest period first
            needed = MIN_REPEATS.get(n, DEFAULT_MIN_REPEATS)
            if i + n * needed > len(words):
                continue
            gram = keys[i:i + n]
            if not any(gram):
                continue
            repeats = 1
            while keys[i + repeats * n:i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats >= needed:
                out_idx.extend(range(i, i + n))
                i += repeats * n
                collapsed = True
                break
        if not collapsed:
            out_idx.append(i)
            i += 1
    return [words[k] for k in out_idx]


def clean(segments: list[RawSegment]) -> list[RawSegment]:
    """Drop silence hallucinations, then cut loops across the chunk's words
    (a loop often spans several segments)."""
    segments = [s for s in segments if not is_silence_hallucination(s)]
    kept_ids = {id(w) for w in cut_repetitions([w for s in segments for w in s.words])}
    kept = []
    for segment in segments:
        if segment.words:
            words = [w for w in segment.words if id(w) in kept_ids]
            if not words:
                continue
            if len(words) != len(segment.words):
                segment.words = words
                segment.text = "".join(w.word for w in words)
                segment.start, segment.end = max(segment.start, words[0].start), min(segment.end, words[-1].end)
        if segment.text.strip():
            kept.append(segment)
    return kept
