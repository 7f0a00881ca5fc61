"""Turn ``chunks/`` into ``audio.flac`` (16 kHz mono, the whole meeting) and
prove it holds every sample.

Used at a clean stop and by recovery. The FLAC file is written under a
temporary name, read back and compared (sample count and SHA-256 of the
samples) with what was encoded, fsynced, then renamed: ``audio.flac`` is
either absent or complete. Chunks recorded at another rate or with more
channels are mixed down to mono and resampled to 16 kHz on the way.

A failure to write it (disk full, I/O error, a read-back that differs)
raises ``OSError`` and leaves chunks/ untouched.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicebot import recordings
from voicebot.audio import SAMPLE_RATE
from voicebot.fsutil import fsync_dir
from voicebot.record.chunks import ChunkError, chunk_index, list_chunks, read_chunk

TMP_PREFIX = ".audio.flac.tmp-"


@dataclass
class Assembly:
    path: Path | None  # audio.flac, or None when no chunk held any audio
    frames: int = 0  # at 16 kHz
    chunks: int = 0  # pieces used
    cut: list[str] = field(default_factory=list)  # pieces cut at their last whole frame
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (name, why): left in chunks/
    missing: list[int] = field(default_factory=list)  # numbers absent from the sequence
    verified: bool = False  # audio.flac was read back and holds exactly the samples of chunks/
    sha256: str = ""  # of the samples (16-bit little-endian), what ``samples_digest`` gives for audio.flac
    kept_existing: bool = False  # audio.flac was already there and longer: left as it was

    @property
    def seconds(self) -> float:
        return self.frames / SAMPLE_RATE

    @property
    def complete(self) -> bool:
        """Every readable sample of chunks/ is in audio.flac, and nothing in chunks/ was unreadable."""
        return self.verified and not self.unreadable and not self.kept_existing


class To16kMono:
    """Mix down to mono and resample to 16 kHz, keeping the resampler's state across pieces."""

    def __init__(self) -> None:
        self._rate: int | None = None
        self._resampler = None

    def convert(self, frames: np.ndarray, samplerate: int) -> np.ndarray:
        mono = frames[:, 0] if frames.shape[1] == 1 else frames.astype(np.int32).mean(axis=1).round().astype(np.int16)
        out = self.flush() if samplerate != self._rate else []
        self._rate = samplerate
        if samplerate == SAMPLE_RATE:
            self._resampler = None
            return np.concatenate([*out, mono]) if out else mono
        import av

        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = samplerate
        out += [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)

    def flush(self) -> list[np.ndarray]:
        if self._resampler is None:
            return []
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(None)]
        self._resampler = None
        return out


def assemble(directory: Path) -> Assembly:
    """Write ``directory/audio.flac`` from ``directory/chunks/`` (see the module help).

    An ``audio.flac`` already there that is longer than what chunks/ holds now
    (pieces removed by hand, say) is kept, never replaced by less audio."""
    import soundfile as sf

    chunks_dir = directory / recordings.CHUNKS
    result = Assembly(path=None)
    for stale in directory.glob(TMP_PREFIX + "*"):
        stale.unlink()  # a temporary output of an assembly that was interrupted, never a recording
    files = list_chunks(chunks_dir)
    numbers = sorted({chunk_index(p) for p in files})
    if numbers:
        result.missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    target = directory / recordings.AUDIO
    tmp = directory / f"{TMP_PREFIX}{os.getpid()}.flac"
    digest = hashlib.sha256()
    converter = To16kMono()
    try:
        out = sf.SoundFile(tmp, "w", samplerate=SAMPLE_RATE, channels=1, format="FLAC", subtype="PCM_16")
    except sf.SoundFileError as exc:
        raise OSError(f"could not create {tmp.name}: {exc}") from None
    try:
        with out:
            def write(samples: np.ndarray) -> None:
                if len(samples):
                    out.write(samples)
                    digest.update(samples.astype("<i2").tobytes())
                    result.frames += len(samples)

            for path in files:
                try:
                    piece = read_chunk(path)
                except (ChunkError, OSError) as exc:
                    result.unreadable.append((path.name, str(exc)))
                    continue
                if piece.cut:
                    result.cut.append(path.name)
                if len(piece.frames):
                    result.chunks += 1
                    write(converter.convert(piece.frames, piece.samplerate))
            tail = converter.flush()
            if tail:
                write(np.concatenate(tail).astype(np.int16))
        result.sha256 = digest.hexdigest()
        result.verified = result.frames > 0 and samples_digest(tmp) == (result.frames, result.sha256)
        existing = flac_frames(target) if target.exists() else None
        if existing and existing > result.frames:
            tmp.unlink(missing_ok=True)
            result.path, result.frames, result.kept_existing = target, existing, True
            return result
        if result.frames == 0:
            tmp.unlink(missing_ok=True)
            return result
        if not result.verified:
            raise OSError(f"{recordings.AUDIO} did not read back identical to {recordings.CHUNKS}/ (disk error?)")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        fsync_dir(directory)
    except sf.SoundFileError as exc:  # libsndfile says "System error." when the disk is full
        tmp.unlink(missing_ok=True)
        raise OSError(f"could not write {recordings.AUDIO}: {exc} (is the disk full?)") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    result.path = target
    return result


def samples_digest(path: Path) -> tuple[int, str] | None:
    """(sample count, sha256 of the 16-bit samples) of a 16 kHz mono file; None for any other format."""
    import soundfile as sf

    digest = hashlib.sha256()
    count = 0
    with sf.SoundFile(path) as audio:
        if audio.samplerate != SAMPLE_RATE or audio.channels != 1:
            return None
        for block in audio.blocks(blocksize=1 << 16, dtype="int16"):
            digest.update(block.astype("<i2").tobytes())
            count += len(block)
    return count, digest.hexdigest()


def flac_frames(path: Path) -> int | None:
    """Sample count of a readable FLAC file, or None when it cannot be read."""
    import soundfile as sf

    try:
        with sf.SoundFile(path) as audio:
            return audio.frames if audio.samplerate == SAMPLE_RATE else None
    except (RuntimeError, OSError, sf.LibsndfileError):
        return None
