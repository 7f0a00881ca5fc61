"""Speech recognition: audio -> Transcript, with either Whisper engine.

    transcript = transcribe("meeting.flac", settings)

The steps are the same for both engines:
1. voice activity (Silero) finds speech; silence and noise never reach Whisper;
2. speech is packed into chunks of at most 28 s (``chunking``);
3. each chunk's language is detected on its own (so a meeting that switches
   between French and English is transcribed in both, never translated), with
   a little hysteresis so a short or uncertain chunk keeps its neighbour's; a
   chunk detected with less than ``SURE_LANGUAGE_PROB`` (what a chunk holding
   both languages gives) is cut in two between its pieces, and each half
   transcribed in its own language when they differ;
4. the engine transcribes the chunk with word timestamps; ``guards`` drop
   silence hallucinations and cut repetition loops;
5. times are mapped back to the recording.

Chunks are also checkpoints: ``on_chunk`` receives the segments so far and how
far the audio is done, and ``resume`` continues a transcription from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from voicebot import schema
from voicebot.asr import chunking, guards, models
from voicebot.asr.engine import Engine
from voicebot.audio import SAMPLE_RATE, load_audio
from voicebot.config import Settings
from voicebot.errors import UserError

ENGINES = ("faster-whisper", "openai-whisper")
LANGUAGE_SWITCH_PROB = 0.5  # a chunk changes language only when detection is at least this sure
SHORT_CHUNK_S = 2.0  # shorter chunks keep the previous chunk's language
SURE_LANGUAGE_PROB = 0.9  # measured with Whisper base: one language 0.97-0.995, 14-20 s of English
# with 7-14 s of French in one chunk 0.65-0.82

ProgressFn = Callable[[float, float], None]  # (seconds done, total seconds)
ChunkFn = Callable[[list[schema.Segment], float], None]  # (segments so far, seconds done)


@dataclass
class Resume:
    """Where a checkpointed transcription stopped."""

    segments: list[schema.Segment]
    done_until: float  # the speech before this time (seconds) is already in ``segments``


def load_engine(settings: Settings, *, engine: str | None = None, model: str | None = None) -> Engine:
    """The configured engine with its model loaded (the slow part: do it once)."""
    engine = engine or settings.asr.engine
    model = model or settings.asr.model
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose {' or '.join(ENGINES)}")
    model_dir = models.resolve(model, settings.models_dir)
    name = models.read_manifest(model_dir) or {}
    model_name = name.get("name") or Path(model).name
    if engine == "faster-whisper":
        from voicebot.asr.faster import FasterWhisperEngine

        return FasterWhisperEngine(model_dir, model_name, compute_type=settings.asr.compute_type,
                                   threads=settings.asr.threads)
    from voicebot.asr.convert import convert
    from voicebot.asr.openai_whisper import OpenAIWhisperEngine

    checkpoint = models.openai_checkpoint(settings.models_dir, model_name) if name else model_dir / "openai-whisper.pt"
    if not checkpoint.is_file() or checkpoint.stat().st_mtime < (model_dir / "model.bin").stat().st_mtime:
        convert(model_dir, checkpoint)
    return OpenAIWhisperEngine(checkpoint, model_name, threads=settings.asr.threads)


def _choose_language(engine, audio: np.ndarray, duration: float, previous: str | None) -> tuple[str, float]:
    language, probability = engine.detect_language(audio)
    if previous and language != previous and (probability < LANGUAGE_SWITCH_PROB or duration < SHORT_CHUNK_S):
        return previous, probability
    return language, probability


def language_parts(engine, chunk: chunking.Chunk, samples: np.ndarray,
                   previous: str | None) -> list[tuple[chunking.Chunk, str]]:
    """The chunk with its language, or its two halves with theirs when it holds two languages."""
    language, probability = _choose_language(engine, chunk.audio(samples), chunk.duration, previous)
    if probability >= SURE_LANGUAGE_PROB or len(chunk.pieces) < 2:
        return [(chunk, language)]
    parts: list[tuple[chunking.Chunk, str]] = []
    for half in chunk.halves():
        half_language, _ = _choose_language(engine, half.audio(samples), half.duration,
                                            parts[-1][1] if parts else previous)
        parts.append((half, half_language))
    if parts[0][1] == parts[1][1]:
        return [(chunk, parts[0][1])]  # one language after all, surer on each half than on the mix
    return parts


def _to_segments(raw: list, chunk: chunking.Chunk, language: str) -> list[schema.Segment]:
    segments = []
    for seg in raw:
        words = [schema.Word(start=chunk.to_recording_time(w.start), end=chunk.to_recording_time(w.end, is_end=True),
                             word=w.word, probability=w.probability) for w in seg.words]
        segments.append(schema.Segment(
            start=chunk.to_recording_time(seg.start), end=chunk.to_recording_time(seg.end, is_end=True),
            text=seg.text.strip(), words=words, language=language))
    return segments


def main_language(segments: list[schema.Segment], fallback: str) -> str:
    totals: dict[str, float] = {}
    for seg in segments:
        if seg.language:
            totals[seg.language] = totals.get(seg.language, 0.0) + seg.end - seg.start
    return max(totals, key=totals.get) if totals else fallback


def transcribe_chunk(engine, chunk: chunking.Chunk, samples: np.ndarray, settings: Settings, *,
                     forced: str | None, previous: str | None, prompt: str | None,
                     hotwords: str | None) -> tuple[list[schema.Segment], str | None]:
    """One chunk of speech -> its segments (recording times) and the language it ended in.

    The batch transcription and the live one (``voicebot.live``) both go through here, so a chunk gets
    the same language rule, prompt and guards whenever it is transcribed. ``samples`` is the recording,
    or anything that slices like it by recording sample numbers (the live transcription's recent audio)."""
    segments: list[schema.Segment] = []
    for part, part_language in [(chunk, forced)] if forced else language_parts(engine, chunk, samples, previous):
        raw = engine.transcribe_chunk(part.audio(samples), language=part_language, initial_prompt=prompt or None,
                                      hotwords=hotwords or None, beam_size=settings.asr.beam_size)
        segments.extend(_to_segments(guards.clean(raw), part, part_language))
        previous = part_language
    return segments, previous


def remaining(chunks: list[chunking.Chunk], done_until: float) -> list[chunking.Chunk]:
    """The chunks, or the parts of chunks, after ``done_until`` (seconds): what a resumed run still has to do.

    A checkpoint made by the same chunking ends exactly at a chunk's end; one made another way (the live
    transcription cut differently) may end inside a chunk, whose rest is kept rather than lost."""
    limit = round(done_until * SAMPLE_RATE)
    left = []
    for chunk in chunks:
        pieces = [(max(start, limit), end) for start, end in chunk.pieces if end > limit]
        if pieces:
            left.append(chunking.Chunk(pieces))
    return left


def transcribe(audio: Path | str | np.ndarray, settings: Settings, *, language: str | None = None,
               engine=None, initial_prompt: str | None = None, hotwords: str | None = None,
               progress: ProgressFn | None = None, on_chunk: ChunkFn | None = None,
               resume: Resume | None = None, vad_cache: chunking.ScoresFn | None = None) -> schema.Transcript:
    """Transcribe ``audio`` (a path, or 16 kHz mono float32 samples).

    ``engine`` is a loaded engine (``load_engine``) to reuse; by default the
    configured one is loaded. ``language`` forces a language (else the setting,
    else detection per chunk). ``vad_cache`` gives voice activity scores computed before."""
    samples = load_audio(Path(audio)) if isinstance(audio, (str, Path)) else np.asarray(audio, dtype=np.float32)
    duration = len(samples) / SAMPLE_RATE
    forced = language or settings.asr.language or None
    chunks = chunking.pack(chunking.speech_regions(samples, cached=vad_cache))
    engine = engine or load_engine(settings)
    prompt = initial_prompt if initial_prompt is not None else settings.asr.initial_prompt
    words = hotwords if hotwords is not None else settings.asr.hotwords

    segments: list[schema.Segment] = list(resume.segments) if resume else []
    previous = segments[-1].language if segments else None
    for chunk in remaining(chunks, resume.done_until) if resume else chunks:
        done, previous = transcribe_chunk(engine, chunk, samples, settings, forced=forced, previous=previous,
                                          prompt=prompt, hotwords=words)
        segments.extend(done)
        if on_chunk:
            on_chunk(segments, chunk.end)
        if progress:
            progress(chunk.end, duration)
    if progress:
        progress(duration, duration)
    return schema.Transcript(language=main_language(segments, forced or ""), duration=round(duration, 3),
                             model=engine.model_name, engine=engine.name, segments=segments)
