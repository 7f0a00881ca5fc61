"""Speaker encoders whose weights ship inside PyPI packages (usable offline).

An encoder turns log/linear mel frames (10 ms hop) of speech into one
L2-normalised vector per window. ``resemblyzer`` (GE2E d-vector, 256-d, in
the Resemblyzer wheel) is the one every install has. Heavy imports happen in
the constructors only.
"""

from __future__ import annotations

from functools import lru_cache

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


ENCODERS = {"resemblyzer": ResemblyzerEncoder}


@lru_cache(maxsize=2)
def get_encoder(name: str = "resemblyzer"):
    """A shared encoder instance (loading costs ~0.2 s; keep one per process)."""
    from voicebot.errors import ModelError

    if name not in ENCODERS:
        raise ModelError(f"unknown speaker encoder {name!r}; known: {', '.join(ENCODERS)}")
    return ENCODERS[name]()
