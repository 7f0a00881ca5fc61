"""faster-whisper (CTranslate2): the default engine, int8 on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from voicebot.asr.engine import RawSegment, RawWord

# Whisper's own fallback schedule and thresholds, as in both reference implementations.
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _model_class():
    from faster_whisper import WhisperModel
    from faster_whisper.audio import pad_or_trim

    class ReusingEncoder(WhisperModel):
        """A WhisperModel that encodes a chunk once for both language detection and transcription.

        Detecting the language runs Whisper's encoder on the chunk, and ``transcribe`` then runs
        it again on the same features: for a chunk of <= 30 s the encoder is a large part of the
        work (most of it with greedy decoding). The last encoding is kept and returned when the
        very same features come back (compared exactly, so a mismatch only costs time)."""

        _last: tuple[np.ndarray, object] | None = None

        def encode(self, features: np.ndarray):
            if self._last is not None and self._last[0].shape == features.shape and np.array_equal(self._last[0], features):
                return self._last[1]
            output = super().encode(features)
            self._last = (np.array(features, copy=True), output)
            return output

        def detect_chunk_language(self, audio: np.ndarray) -> tuple[str, float]:
            features = self.feature_extractor(audio)
            # the same slice transcribe() encodes for a chunk's first (and only) window
            window = pad_or_trim(features[:, : min(self.feature_extractor.nb_max_frames, features.shape[-1] - 1)])
            token, probability = self.model.detect_language(self.encode(window))[0][0]
            return token[2:-2], float(probability)

    return ReusingEncoder


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, model_dir: Path, model_name: str, *, compute_type: str = "int8", threads: int = 0):
        self.model_name = model_name
        self.model = _model_class()(str(model_dir), device="cpu", compute_type=compute_type,
                                    cpu_threads=threads or os.cpu_count() or 1)
        self.multilingual = self.model.model.is_multilingual

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        return self.model.detect_chunk_language(audio)

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
