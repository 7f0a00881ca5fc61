"""faster-whisper (CTranslate2): the default engine, int8 on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from voicebot.asr.engine import RawSegment, RawWord

# Whisper's own fallback schedule and thresholds, as in both reference implementations.
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, model_dir: Path, model_name: str, *, compute_type: str = "int8", threads: int = 0):
        from faster_whisper import WhisperModel

        self.model_name = model_name
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type,
                                  cpu_threads=threads or os.cpu_count() or 1)
        self.multilingual = self.model.model.is_multilingual

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        language, probability, _ = self.model.detect_language(audio=audio)
        return language, float(probability)

    def transcribe_chunk(self, audio: np.ndarray, *, language: str, initial_prompt: str | None,
                         hotwords: str | None, beam_size: int) -> list[RawSegment]:
        segments, _ = self.model.transcribe(
            audio, language=language if self.multilingual else "en", task="transcribe", beam_size=beam_size,
            temperature=TEMPERATURES, word_timestamps=True, vad_filter=False,
            condition_on_previous_text=False, initial_prompt=initial_prompt or None,
            hotwords=hotwords or None)
        return [
            RawSegment(start=s.start, end=s.end, text=s.text,
                       words=[RawWord(w.start, w.end, w.word, w.probability) for w in (s.words or [])],
                       avg_logprob=s.avg_logprob, no_speech_prob=s.no_speech_prob,
                       compression_ratio=s.compression_ratio)
            for s in segments
        ]
