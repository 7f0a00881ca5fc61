"""Voice activity -> chunks of speech of at most ~28 s, silence removed.

Whisper invents text over silence and noise; feeding it only what Silero VAD
calls speech is the first guard. Speech regions are packed, in order, into
chunks no longer than Whisper's 30 s window; each chunk remembers where its
pieces sit in the recording, so times map back exactly. A chunk is also the
unit of language detection (split in two when it seems to hold two languages),
of progress and of checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

SAMPLE_RATE = 16000
MAX_CHUNK_S = 28.0


@dataclass
class Chunk:
    pieces: list[tuple[int, int]] = field(default_factory=list)  # (start, end) samples in the recording

    @property
    def samples(self) -> int:
        return sum(end - start for start, end in self.pieces)

    @property
    def start(self) -> float:
        return self.pieces[0][0] / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.pieces[-1][1] / SAMPLE_RATE

    @property
    def duration(self) -> float:
        return self.samples / SAMPLE_RATE

    def audio(self, recording: np.ndarray) -> np.ndarray:
        return np.concatenate([recording[s:e] for s, e in self.pieces])

    def halves(self) -> tuple[Chunk, Chunk]:
        """Two chunks, cut at the boundary between pieces nearest the middle of the speech (two pieces at least)."""
        ends = np.cumsum([end - start for start, end in self.pieces])[:-1]
        cut = int(np.argmin(np.abs(ends - self.samples / 2))) + 1
        return Chunk(self.pieces[:cut]), Chunk(self.pieces[cut:])

    def to_recording_time(self, t: float, *, is_end: bool = False) -> float:
        """A time inside the chunk's audio -> the time in the recording."""
        sample = t * SAMPLE_RATE
        offset = 0
        for i, (start, end) in enumerate(self.pieces):
            length = end - start
            last = i == len(self.pieces) - 1
            # an end that falls exactly on a piece boundary belongs to the earlier piece
            if sample < offset + length or (is_end and sample <= offset + length) or last:
                return (start + min(max(sample - offset, 0), length)) / SAMPLE_RATE
            offset += length
        return self.end


VAD_BLOCK_S = 600.0  # the VAD reads long recordings in blocks of this length
VAD_WINDOW = 512  # samples Silero scores at a time
VAD_CONTEXT = 64  # samples of the window before that Silero sees with each window


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 1000
    speech_pad_ms: int = 800
    max_speech_s: float = MAX_CHUNK_S


class VadScorer:
    """Silero's speech probability for each 512-sample window of one block, fed a piece at a time.

    The model (the ONNX one that ships in faster-whisper) carries its state from one window to the
    next, so scoring a block in pieces gives exactly the probabilities of scoring it at once (checked
    bit for bit): the live transcription scores audio as it is recorded and the end of the meeting
    reuses its scores."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self._state = (np.zeros((1, 1, 128), np.float32), np.zeros((1, 1, 128), np.float32))
        self._context = np.zeros((1, VAD_CONTEXT), np.float32)
        self._parts: list[np.ndarray] = []
        self.windows = 0  # windows scored so far

    def feed(self, audio: np.ndarray) -> None:
        """Score ``audio``: a whole number of windows, following what was fed before."""
        assert len(audio) % VAD_WINDOW == 0, "feed whole windows"
        if not len(audio):
            return
        windows = np.asarray(audio, dtype=np.float32).reshape(-1, VAD_WINDOW)
        context = np.concatenate([self._context, windows[:-1, -VAD_CONTEXT:]])
        batch = np.concatenate([context, windows], axis=1)
        for i in range(0, len(batch), 10000):  # the batch size faster-whisper uses
            h, c = self._state
            out, h, c = self._session.run(None, {"input": batch[i:i + 10000], "h": h, "c": c})
            self._state = (h, c)
            self._parts.append(np.asarray(out, dtype=np.float32).reshape(-1))
        self._context = windows[-1:, -VAD_CONTEXT:].copy()  # the caller may reuse its buffer
        self.windows += len(windows)

    def finish(self, audio_tail: np.ndarray) -> np.ndarray:
        """Score the last (partial, zero-padded) window, as faster-whisper pads a block; all the scores."""
        padded = np.pad(np.asarray(audio_tail, dtype=np.float32), (0, VAD_WINDOW - len(audio_tail)))
        self.feed(padded)
        return self.probabilities

    @property
    def probabilities(self) -> np.ndarray:
        if len(self._parts) > 1:
            self._parts = [np.concatenate(self._parts)]
        return self._parts[0] if self._parts else np.zeros(0, np.float32)


def block_probabilities(block: np.ndarray) -> np.ndarray:
    """Speech probabilities of a whole block, padded at its end as faster-whisper pads it."""
    scorer = VadScorer()
    whole = len(block) - len(block) % VAD_WINDOW
    scorer.feed(block[:whole])
    return scorer.finish(block[whole:])


def regions_from_probabilities(probs: np.ndarray, length: int, options: VadOptions = VadOptions()
                               ) -> list[tuple[int, int]]:
    """Speech regions (samples) of a block of ``length`` samples from its window probabilities.

    The same decisions as faster-whisper's ``get_speech_timestamps`` (a test holds them equal on real
    speech), taking the probabilities as input so they can be computed once, while recording."""
    window = VAD_WINDOW
    threshold = options.threshold
    neg_threshold = max(threshold - 0.15, 0.01)
    min_speech = SAMPLE_RATE * options.min_speech_ms / 1000
    pad = SAMPLE_RATE * options.speech_pad_ms / 1000
    max_speech = SAMPLE_RATE * options.max_speech_s - window - 2 * pad
    min_silence = SAMPLE_RATE * options.min_silence_ms / 1000
    min_silence_at_max = SAMPLE_RATE * 98 / 1000
    triggered = False
    speeches: list[dict] = []
    current: dict = {}
    temp_end = prev_end = next_start = 0
    for i, prob in enumerate(probs):
        at = window * i
        if prob >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = at
        if prob >= threshold and not triggered:
            triggered = True
            current["start"] = at
            continue
        if triggered and at - current["start"] > max_speech:
            if prev_end:
                current["end"] = prev_end
                speeches.append(current)
                current = {}
                if next_start < prev_end:
                    triggered = False
                else:
                    current["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current["end"] = at
                speeches.append(current)
                current = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if prob < neg_threshold and triggered:
            if not temp_end:
                temp_end = at
            if at - temp_end > min_silence_at_max:
                prev_end = temp_end
            if at - temp_end < min_silence:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech:
                speeches.append(current)
            current = {}
            prev_end = next_start = temp_end = 0
            triggered = False
    if current and length - current["start"] > min_speech:
        current["end"] = length
        speeches.append(current)
    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - pad))
        if i != len(speeches) - 1:
            gap = speeches[i + 1]["start"] - speech["end"]
            if gap < 2 * pad:
                speech["end"] += int(gap // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - gap // 2))
            else:
                speech["end"] = int(min(length, speech["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            speech["end"] = int(min(length, speech["end"] + pad))
    return [(s["start"], min(s["end"], length)) for s in speeches]


def block_bounds(total: int, block_seconds: float | None = None) -> list[tuple[int, int]]:
    """Where the VAD's blocks of a recording of ``total`` samples start and end."""
    block = int((block_seconds or VAD_BLOCK_S) * SAMPLE_RATE)
    bounds = []
    offset = 0
    while offset < total:
        end = offset + block
        if total - end < SAMPLE_RATE // 10:
            end = total  # a tail too short for the VAD goes with the block before it, not lost
        bounds.append((offset, end))
        offset = end
    return bounds


def block_key(block: np.ndarray) -> str:
    """What a block's cached probabilities are valid for: its very samples."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(block, dtype=np.float32).tobytes()).hexdigest()


ScoresFn = Callable[[int, np.ndarray], "np.ndarray | None"]  # (block start, block audio) -> cached probabilities


class ScoreStore:
    """Voice activity scores of whole blocks, kept in one ``.npz`` file (rewritten atomically as blocks
    are added), each with the hash of the samples it was scored on: a block whose audio is not the
    same any more (a different recovery, say) is scored again, never trusted."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.hits = 0  # blocks served from the file
        self._blocks: dict[int, tuple[str, np.ndarray]] | None = None

    def _load(self) -> dict[int, tuple[str, np.ndarray]]:
        if self._blocks is None:
            self._blocks = {}
            try:
                with np.load(self.path) as data:
                    for name in data.files:
                        if name.startswith("p"):
                            start = int(name[1:])
                            self._blocks[start] = (str(data[f"k{start}"]), np.array(data[name]))
            except (OSError, ValueError, KeyError):
                self._blocks = {}
        return self._blocks

    def get(self, start: int, block: np.ndarray) -> np.ndarray | None:
        found = self._load().get(start)
        if found is None or found[0] != block_key(block):
            return None
        self.hits += 1
        return found[1]

    def put(self, start: int, block: np.ndarray, probs: np.ndarray) -> None:
        import io

        from voicebot.fsutil import atomic_write

        blocks = self._load()
        blocks[start] = (block_key(block), np.asarray(probs, dtype=np.float32))
        buffer = io.BytesIO()
        np.savez(buffer, **{f"p{k}": v for k, (_, v) in blocks.items()},
                 **{f"k{k}": np.array(key) for k, (key, _) in blocks.items()})
        atomic_write(self.path, buffer.getvalue())


def speech_regions(audio: np.ndarray, *, options: VadOptions = VadOptions(), block_seconds: float | None = None,
                   cached: ScoresFn | None = None) -> list[tuple[int, int]]:
    """Silero VAD speech regions, in samples.

    A long recording goes through in blocks: faster-whisper's VAD copies its input twice and sizes its
    buffers by it (a 2-hour meeting took 1 GB on top of the audio itself). A region cut by a block's end
    continues in the next block, and ``pack`` joins the two halves again. ``cached`` gives the
    probabilities of a block already scored (by the live transcription), or None."""
    regions = []
    for start, end in block_bounds(len(audio), block_seconds):
        piece = audio[start:end]
        if len(piece) < SAMPLE_RATE // 10:
            continue
        probs = cached(start, piece) if cached else None
        if probs is None:
            probs = block_probabilities(piece)
        regions += [(start + a, start + b) for a, b in regions_from_probabilities(probs, len(piece), options)]
    return regions


def pack(regions: list[tuple[int, int]], max_seconds: float = MAX_CHUNK_S) -> list[Chunk]:
    """Pack regions, in order, into chunks of at most ``max_seconds`` of speech."""
    limit = int(max_seconds * SAMPLE_RATE)
    chunks: list[Chunk] = []
    current = Chunk()
    for start, end in regions:
        if current.pieces and current.samples + (end - start) > limit:
            chunks.append(current)
            current = Chunk()
        if current.pieces and start <= current.pieces[-1][1]:  # padded regions may touch: merge
            current.pieces[-1] = (current.pieces[-1][0], max(end, current.pieces[-1][1]))
        else:
            current.pieces.append((start, end))
    if current.pieces:
        chunks.append(current)
    return chunks
