"""Memory of long meetings: the voice activity detection before Whisper reads the recording in blocks
(faster-whisper's VAD copied a 2-hour recording twice and sized its buffers by it: +1 GB of peak RSS,
measured in the report). Blocks must find the same speech as one pass over the whole recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicebot.asr import chunking
from voicebot.audio import load_audio

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _mask(regions: list[tuple[int, int]], length: int) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    for start, end in regions:
        mask[start:end] = True
    return mask


def test_vad_in_blocks_finds_the_same_speech_as_one_pass():
    sample = load_audio(SAMPLES / "meeting-en.flac")
    audio = np.concatenate([sample, sample, sample])  # 252 s: blocks of 100 s cut it twice, inside speech
    whole = chunking.speech_regions(audio, block_seconds=1e9)
    blocked = chunking.speech_regions(audio, block_seconds=100)
    # a region crossing a block's end comes in two halves (the VAD's 28 s limit may then split the rest
    # differently, so the count need not grow)...
    assert {100 * 16000, 200 * 16000} <= {end for _, end in blocked} and len(blocked) <= len(whole) + 2
    assert np.array_equal(_mask(whole, len(audio)), _mask(blocked, len(audio)))  # ...covering the same speech
    chunks = chunking.pack(blocked)
    assert all(c.duration <= chunking.MAX_CHUNK_S for c in chunks)  # packed for Whisper as before
    assert np.array_equal(_mask([p for c in chunks for p in c.pieces], len(audio)), _mask(whole, len(audio)))
    assert abs(len(chunks) - len(chunking.pack(whole))) <= 2


def test_a_short_tail_block_is_not_lost():
    sample = load_audio(SAMPLES / "meeting-en.flac")
    # a last block of 0.05 s (the end of the meeting's silence), too short for the VAD to read alone
    blocked = chunking.speech_regions(sample, block_seconds=len(sample) / 16000 - 0.05)
    assert blocked == chunking.speech_regions(sample)
