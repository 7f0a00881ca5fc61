"""The interface every Whisper engine implements, and what it returns.

An engine works on one chunk of at most 30 s of 16 kHz audio at a time; the
orchestration (voice activity, chunking, language per chunk, guards against
hallucination, checkpoints) is shared in ``voicebot.asr`` so both engines
behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class RawWord:
    start: float
    end: float
    word: str
    probability: float


@dataclass
class RawSegment:
    """A segment as the engine produced it; times relative to the chunk."""

    start: float
    end: float
    text: str
    words: list[RawWord] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0


class Engine(Protocol):
    name: str  # "faster-whisper" | "openai-whisper"
    model_name: str
    multilingual: bool

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The most likely language of ``audio`` and its probability."""

    def transcribe_chunk(self, audio: np.ndarray, *, language: str, initial_prompt: str | None,
                         hotwords: str | None, beam_size: int) -> list[RawSegment]:
        """Transcribe one chunk (<= 30 s) in ``language`` with word timestamps."""
