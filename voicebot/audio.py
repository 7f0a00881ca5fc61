"""Reading any audio a user may bring: wav, flac, mp3, m4a, ogg, webm...

Everything is decoded with PyAV (FFmpeg's libraries, shipped in the ``av``
wheel) and resampled to 16 kHz mono float32, the form every model here wants.
Anything that is not readable audio raises ``AudioError`` with one line that
says what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicebot.errors import AudioError

SAMPLE_RATE = 16000


def check_audio_path(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path} is a directory; give an audio file (wav, flac, mp3, m4a, ogg, webm)")
    if path.stat().st_size == 0:
        raise AudioError(f"{path} is empty (0 bytes); nothing to transcribe")
    return path


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate``; raise AudioError if it is not audio."""
    import av  # heavy-ish import kept out of CLI start-up

    path = check_audio_path(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioError(f"{path} is not an audio file FFmpeg can read ({_reason(exc)}); "
                         "convert it to wav or flac") from None
    try:
        if not container.streams.audio:
            raise AudioError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        pieces: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1))
        except (av.error.InvalidDataError, av.error.FFmpegError) as exc:
            if not pieces:
                raise AudioError(f"{path} is corrupt ({_reason(exc)}); no audio could be decoded") from None
            # a damaged tail: keep what decoded, as players do
    finally:
        container.close()
    if not pieces:
        raise AudioError(f"{path} contains no decodable audio (corrupt, or not an audio file)")
    return np.concatenate(pieces).astype(np.float32, copy=False)


def duration_of(path: Path) -> float:
    """Duration in seconds from the container, without decoding (0.0 if unknown)."""
    import av

    path = check_audio_path(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.error.FFmpegError, IndexError) as exc:
        raise AudioError(f"{path} is not an audio file FFmpeg can read ({_reason(exc)})") from None
    return 0.0


def write_flac(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono float audio as 16-bit FLAC (not atomic; callers rename)."""
    import soundfile as sf

    sf.write(str(path), audio, sample_rate, format="FLAC", subtype="PCM_16")


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() or type(exc).__name__
