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


def speech_regions(audio: np.ndarray, *, threshold: float = 0.5,
                   block_seconds: float = VAD_BLOCK_S) -> list[tuple[int, int]]:
    """Silero VAD (the ONNX model that ships in faster-whisper) speech regions, in samples.

    A long recording goes through in blocks: faster-whisper's VAD copies its input twice and sizes its
    buffers by it (a 2-hour meeting took 1 GB on top of the audio itself). A region cut by a block's end
    continues in the next block, and ``pack`` joins the two halves again."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=threshold, min_speech_duration_ms=250, min_silence_duration_ms=1000,
                         speech_pad_ms=800, max_speech_duration_s=MAX_CHUNK_S)
    block = int(block_seconds * SAMPLE_RATE)
    regions = []
    offset = 0
    while offset < len(audio):
        end = offset + block
        if len(audio) - end < SAMPLE_RATE // 10:
            end = len(audio)  # a tail too short for the VAD goes with the block before it, not lost
        piece = audio[offset:end]
        if len(piece) >= SAMPLE_RATE // 10:
            regions += [(offset + r["start"], offset + min(r["end"], len(piece)))
                        for r in get_speech_timestamps(piece, options)]
        offset = end
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
