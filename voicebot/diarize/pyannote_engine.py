"""The ``pyannote`` engine: pyannote.audio's pretrained speaker-diarization pipeline.

``settings.diarize.pyannote_pipeline`` names it: a local directory holding the
pipeline's ``config.yaml`` (as a Hugging Face snapshot is laid out), a path
to a ``config.yaml``, a directory name under ``<home>/models/``, or a hub id
(``pyannote/speaker-diarization-community-1``) fetched with
``settings.diarize.hf_token`` where the machine has internet. Missing weights
raise ``ModelError`` saying how to get them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from voicebot.errors import ModelError
from voicebot.schema import Turn

SAMPLE_RATE = 16000


def resolve(settings: Any) -> str | Path:
    """The local path of the configured pipeline, or the hub id when it is not a local one."""
    ref = settings.diarize.pyannote_pipeline.strip()
    if not ref:
        raise ModelError("diarize.pyannote_pipeline is empty; set it to a hub id or a local pipeline directory")
    for candidate in (Path(ref).expanduser(), settings.models_dir / ref):
        if candidate.is_dir() or candidate.is_file():
            return candidate
    return ref


def load_pipeline(settings: Any):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyannote.audio import Pipeline

    where = resolve(settings)
    local = isinstance(where, Path)
    if local and where.is_dir() and not (where / "config.yaml").is_file():
        raise ModelError(f"{where} has no config.yaml; copy the whole pyannote pipeline folder there")
    try:
        pipeline = Pipeline.from_pretrained(where, token=settings.diarize.hf_token or None)
    except Exception as exc:  # hub errors, offline mode, gated repos, missing checkpoints
        if local:
            raise ModelError(f"cannot load the pyannote pipeline in {where}: {str(exc).splitlines()[0]}") from None
        raise ModelError(
            f"pyannote weights for {where!r} are not available here ({type(exc).__name__}); "
            f"copy the pipeline folder under {settings.models_dir}/ and set diarize.pyannote_pipeline "
            "to its name, or set diarize.hf_token on a machine with internet, or use --engine builtin"
        ) from None
    if pipeline is None:
        raise ModelError(f"pyannote pipeline {where!r} could not be loaded (gated? set diarize.hf_token)")
    return pipeline


def _waveform(audio: str | Path | np.ndarray):
    import torch

    from voicebot.audio import load_audio

    samples = audio if isinstance(audio, np.ndarray) else load_audio(Path(audio))
    return {"waveform": torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None],
            "sample_rate": SAMPLE_RATE}


def diarize(audio: str | Path | np.ndarray, settings: Any, *, num_speakers: int | None = None,
            min_speakers: int | None = None, max_speakers: int | None = None,
            progress: Callable[[str, float, float], None] | None = None) -> list[Turn]:
    pipeline = load_pipeline(settings)
    data = _waveform(audio)
    if data["waveform"].shape[1] < SAMPLE_RATE // 2:  # shorter than the model's receptive field
        return []

    def hook(step_name, step_artifact, file=None, total=None, completed=None):
        if progress and total:
            progress(step_name, float(completed or 0), float(total))

    options = {k: v for k, v in (("num_speakers", num_speakers), ("min_speakers", min_speakers),
                                 ("max_speakers", max_speakers)) if v}
    output = pipeline(data, hook=hook, **options)
    # pyannote.audio 4 returns DiarizeOutput(speaker_diarization=...); 3.x an Annotation
    annotation = getattr(output, "speaker_diarization", output)
    duration = data["waveform"].shape[1] / SAMPLE_RATE
    labels: dict[str, str] = {}
    turns = []
    for segment, _, label in annotation.itertracks(yield_label=True):
        start, end = round(max(segment.start, 0.0), 3), round(min(segment.end, duration), 3)
        if end > start:  # frames can run past the end of the audio; keep turns inside it
            name = labels.setdefault(label, f"SPEAKER_{len(labels):02d}")
            turns.append(Turn(start, end, name))
    return sorted(turns, key=lambda t: (t.start, t.end))
