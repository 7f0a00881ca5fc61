"""Audio in bounded blocks: a meeting of hours is never decoded into memory at once.

``blocks(source)`` yields consecutive float32 arrays (16 kHz mono) from a
path (decoded incrementally with PyAV, as voicebot.audio does for whole
files) or from an array already in memory. Each call starts a fresh pass, so
an engine can read a file twice (voice activity first, then embeddings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from voicebot.audio import SAMPLE_RATE, check_audio_path, load_audio
from voicebot.errors import AudioError

BLOCK_SECONDS = 60.0


class AudioSource:
    """A path or an array; ``blocks()`` can be iterated several times."""

    def __init__(self, audio: str | Path | np.ndarray, block_seconds: float = BLOCK_SECONDS):
        self.block = int(block_seconds * SAMPLE_RATE)
        if isinstance(audio, np.ndarray):
            if audio.ndim != 1:
                raise AudioError(f"audio array must be 1-D mono 16 kHz samples, got shape {audio.shape}")
            self.array: np.ndarray | None = np.asarray(audio, dtype=np.float32)
            self.path: Path | None = None
        else:
            self.array = None
            self.path = check_audio_path(Path(audio))

    def blocks(self) -> Iterator[np.ndarray]:
        if self.array is not None:
            for start in range(0, len(self.array), self.block):
                yield self.array[start:start + self.block]
            return
        yield from self._decode()

    def _decode(self) -> Iterator[np.ndarray]:
        import av

        try:
            container = av.open(str(self.path), metadata_errors="ignore")
        except (av.error.FFmpegError, UnicodeDecodeError):
            # let load_audio produce its one-line explanation
            load_audio(self.path)
            raise AudioError(f"{self.path} cannot be read") from None
        pending: list[np.ndarray] = []
        have = 0
        produced = False
        try:
            if not container.streams.audio:
                raise AudioError(f"{self.path} has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            frames = container.decode(container.streams.audio[0])
            try:
                for frame in frames:
                    for out in resampler.resample(frame):
                        piece = out.to_ndarray().reshape(-1)
                        pending.append(piece)
                        have += len(piece)
                        while have >= self.block:
                            joined = np.concatenate(pending)
                            yield joined[:self.block].astype(np.float32, copy=False)
                            produced = True
                            rest = joined[self.block:]
                            pending, have = ([rest] if len(rest) else []), len(rest)
                for out in resampler.resample(None):
                    pending.append(out.to_ndarray().reshape(-1))
            except (av.error.InvalidDataError, av.error.FFmpegError):
                if not produced and not pending:
                    raise AudioError(f"{self.path} is corrupt; no audio could be decoded") from None
                # a damaged tail: keep what decoded
        finally:
            container.close()
        if pending:
            yield np.concatenate(pending).astype(np.float32, copy=False)
        elif not produced:
            raise AudioError(f"{self.path} holds no audio samples")
