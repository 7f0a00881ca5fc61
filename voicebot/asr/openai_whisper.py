"""openai-whisper: the reference implementation, on weights converted from the
same CTranslate2 model (see ``voicebot.asr.convert``), float32 on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from voicebot.asr.convert import load_openai_model
from voicebot.asr.engine import RawSegment, RawWord
from voicebot.asr.faster import TEMPERATURES


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(self, checkpoint: Path, model_name: str, *, threads: int = 0):
        self.model_name = model_name
        self.model = load_openai_model(checkpoint, threads or os.cpu_count() or 1)
        self.multilingual = self.model.is_multilingual

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        import whisper

        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), self.model.dims.n_mels)
        _, probs = self.model.detect_language(mel)
        language = max(probs, key=probs.get)
        return language, float(probs[language])

    def transcribe_chunk(self, audio: np.ndarray, *, language: str, initial_prompt: str | None,
                         hotwords: str | None, beam_size: int) -> list[RawSegment]:
        import whisper

        # openai-whisper has no hotwords option: they go into the prompt, which is what
        # faster-whisper does with them too (a prefix of previous-text tokens).
        prompt = " ".join(p for p in (hotwords, initial_prompt) if p) or None
        result = whisper.transcribe(
            self.model, audio, language=language if self.multilingual else "en", task="transcribe",
            beam_size=beam_size, best_of=beam_size, temperature=TEMPERATURES, word_timestamps=True,
            condition_on_previous_text=False, initial_prompt=prompt, fp16=False, verbose=None)
        return [
            RawSegment(start=s["start"], end=s["end"], text=s["text"],
                       words=[RawWord(w["start"], w["end"], w["word"], w["probability"]) for w in s.get("words", [])],
                       avg_logprob=s["avg_logprob"], no_speech_prob=s["no_speech_prob"],
                       compression_ratio=s["compression_ratio"])
            for s in result["segments"]
        ]
