"""The pyannote engine's loading and running code.

pyannote's pretrained weights (community-1) cannot be downloaded here, so the
running test builds a SMALL pipeline of the same kind and saves it locally:
a freshly initialised (untrained) PyanNet segmentation model, a freshly
initialised WeSpeaker ResNet34 embedding model, an identity-like PLDA and a
config.yaml, laid out as a Hugging Face snapshot is. Its turns mean nothing
(random weights); what is tested is that voicebot finds, loads and runs a
local pipeline folder and turns its output into Turns. DER of the real
pipeline is measured by bench/diarization.py when its weights are present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicebot.config import load_settings
from voicebot.errors import ModelError

pytestmark = pytest.mark.slow


def build_small_pipeline(folder: Path) -> Path:
    import lightning
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    def save(model, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                      "pytorch-lightning_version": lightning.__version__}
        model.on_save_checkpoint(checkpoint)  # adds pyannote's architecture + specifications
        torch.save(checkpoint, where / "pytorch_model.bin")

    torch.manual_seed(0)
    segmentation = PyanNet(sincnet={"stride": 10}, lstm={"hidden_size": 16, "num_layers": 1},
                           linear={"hidden_size": 16, "num_layers": 1})
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=5.0,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2, permutation_invariant=True)
    segmentation.build()
    save(segmentation, folder / "segmentation")
    embedding = WeSpeakerResNet34()
    embedding.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK,
                                              duration=3.0)
    save(embedding, folder / "embedding")
    (folder / "plda").mkdir()
    dim, lda = 256, 128
    np.savez(folder / "plda" / "xvec_transform.npz", mean1=np.zeros(dim), mean2=np.zeros(lda),
             lda=np.eye(dim, lda))
    np.savez(folder / "plda" / "plda.npz", mu=np.zeros(lda), tr=np.eye(lda), psi=np.ones(lda))
    (folder / "config.yaml").write_text(f"""pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    segmentation: {folder}/segmentation
    embedding: {folder}/embedding
    plda: {folder}/plda
    clustering: AgglomerativeClustering
    segmentation_step: 0.5
    embedding_batch_size: 8
    segmentation_batch_size: 8
params:
  segmentation:
    min_duration_off: 0.0
  clustering:
    method: centroid
    min_cluster_size: 1
    threshold: 0.7
""")
    return folder


def test_missing_weights_raise_model_error(home, monkeypatch):
    from voicebot.diarize import diarize

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VOICEBOT_DIARIZE_ENGINE", "pyannote")
    settings = load_settings()
    with pytest.raises(ModelError, match="not available here"):
        diarize(np.zeros(16000, dtype=np.float32), settings)
    (home / "models" / "empty").mkdir(parents=True)
    settings.diarize.pyannote_pipeline = "empty"
    with pytest.raises(ModelError, match="no config.yaml"):
        diarize(np.zeros(16000, dtype=np.float32), settings)


def test_a_local_pipeline_folder_under_models_loads_and_runs(home, corpus, monkeypatch):
    """The small, untrained stand-in pipeline (see the module docstring), found by name under models/."""
    from voicebot.audio import load_audio
    from voicebot.diarize import diarize

    build_small_pipeline(home / "models" / "tiny-pipeline")
    monkeypatch.setenv("VOICEBOT_DIARIZE_ENGINE", "pyannote")
    monkeypatch.setenv("VOICEBOT_DIARIZE_PYANNOTE_PIPELINE", "tiny-pipeline")
    settings = load_settings()
    steps = []
    audio = load_audio(corpus / "en" / "falcon-3spk.flac")[: 8 * 16000]  # the stand-in is slow on CPU
    turns = diarize(audio, settings, num_speakers=2, progress=lambda step, done, total: steps.append(step))
    assert all(0 <= t.start < t.end <= 8.0 for t in turns)
    assert all(t.speaker.startswith("SPEAKER_") for t in turns)
    assert steps  # pyannote's hook drove the progress callback
    assert diarize(np.zeros(4000, dtype=np.float32), settings) == []  # 0.25 s: nothing to say
