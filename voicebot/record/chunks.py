"""The recorder's pieces of audio on disk: ``recordings/<id>/chunks/``.

Each piece is a plain 16-bit PCM WAV file, readable on its own by any player:

- ``000123.wav.partial`` is the piece being recorded. Its header says "size
  unknown"; every block of audio from the microphone (about 0.1 s) is appended
  to it as it arrives, so after a crash of the program (kill -9, a Python
  error) it holds everything up to the last block.
- Every ``chunk_seconds`` the piece is closed: its header gets the real size,
  it is fsynced, renamed to ``000123.wav`` and the folder is fsynced. A closed
  piece survives a power cut too.

Reading a piece (``read_chunk``) cuts it at its last whole sample frame when
it is shorter than its header says (truncated, or still ``.partial``), and
raises ``ChunkError`` when it is not a WAV piece at all (zero bytes, damaged
header).
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicebot.fsutil import fsync_dir

SUFFIX = ".wav"
PARTIAL_SUFFIX = ".wav.partial"
SAMPLE_BYTES = 2  # 16-bit PCM
HEADER_BYTES = 44
UNKNOWN_SIZE = 0xFFFFFFFF  # what a streaming WAV header says before the size is known
_NAME_RE = re.compile(r"^(\d{6,})\.wav(\.partial)?$")


class ChunkError(Exception):
    """A file in chunks/ that holds no readable audio."""


def chunk_path(directory: Path, index: int, *, partial: bool = False) -> Path:
    return directory / f"{index:06d}{PARTIAL_SUFFIX if partial else SUFFIX}"


def chunk_index(path: Path) -> int | None:
    match = _NAME_RE.match(path.name)
    return int(match.group(1)) if match else None


def list_chunks(directory: Path) -> list[Path]:
    """Chunk files (closed and partial) in recording order."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_file() and chunk_index(p) is not None]
    # a closed piece sorts before a partial one with the same number (a crash between rename steps)
    return sorted(found, key=lambda p: (chunk_index(p), p.name.endswith(PARTIAL_SUFFIX)))


def wav_header(samplerate: int, channels: int, data_bytes: int) -> bytes:
    align = channels * SAMPLE_BYTES
    riff = UNKNOWN_SIZE if data_bytes == UNKNOWN_SIZE else 36 + data_bytes
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", riff, b"WAVE", b"fmt ", 16, 1, channels, samplerate,
                       samplerate * align, align, 8 * SAMPLE_BYTES, b"data", data_bytes)


class ChunkFile:
    """The piece being recorded: append blocks, then ``close()`` makes it a durable ``NNNNNN.wav``."""

    def __init__(self, directory: Path, index: int, samplerate: int, channels: int):
        self.index = index
        self.samplerate = samplerate
        self.channels = channels
        self.path = chunk_path(directory, index, partial=True)
        self.final = chunk_path(directory, index)
        self.frames = 0
        self._file = open(self.path, "wb", buffering=0)  # unbuffered: each block reaches the kernel at once
        self._write(wav_header(samplerate, channels, UNKNOWN_SIZE))

    def _write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]

    def append(self, block: np.ndarray) -> None:
        """Append int16 frames of shape (n, channels)."""
        self._write(np.ascontiguousarray(block, dtype="<i2").tobytes())
        self.frames += len(block)

    def close(self) -> Path:
        """Write the real size, fsync, rename to the final name, fsync the folder."""
        data_bytes = self.frames * self.channels * SAMPLE_BYTES
        self._file.seek(0)
        self._write(wav_header(self.samplerate, self.channels, data_bytes))
        os.ftruncate(self._file.fileno(), HEADER_BYTES + data_bytes)  # drops a half-written tail, if any
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.path, self.final)
        fsync_dir(self.final.parent)
        return self.final

    def abandon(self) -> None:
        """Close without renaming (the file stays a .partial that recovery reads)."""
        try:
            self._file.close()
        except OSError:
            pass


@dataclass
class ChunkAudio:
    path: Path
    samplerate: int
    channels: int
    frames: np.ndarray  # int16, shape (n, channels)
    cut: bool  # shorter than its header said (truncated or in progress): cut at the last whole frame

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.samplerate


def read_chunk(path: Path) -> ChunkAudio:
    """The audio of one piece; see the module help for what is repaired and what is refused."""
    data = Path(path).read_bytes()
    if not data:
        raise ChunkError("empty file (0 bytes)")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ChunkError("not a WAV file (damaged header)")
    pos, fmt, data_start, declared = 12, None, None, 0
    while pos + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, pos)
        if kind == b"fmt " and size >= 16 and pos + 24 <= len(data):
            fmt = struct.unpack_from("<HHIIHH", data, pos + 8)
        elif kind == b"data":
            data_start, declared = pos + 8, size
            break
        pos += 8 + size + (size & 1)
    if fmt is None or data_start is None:
        raise ChunkError("not a WAV file (no fmt or data section)")
    tag, channels, samplerate, _, _, bits = fmt
    if tag not in (1, 0xFFFE) or bits != 8 * SAMPLE_BYTES or not 1 <= channels <= 64 \
            or not 1000 <= samplerate <= 768000:
        raise ChunkError(f"not a 16-bit PCM WAV piece (format {tag}, {bits} bits, {channels} ch, {samplerate} Hz)")
    available = len(data) - data_start
    usable = min(declared, available)
    frame_bytes = channels * SAMPLE_BYTES
    usable -= usable % frame_bytes
    frames = np.frombuffer(data, dtype="<i2", count=usable // SAMPLE_BYTES, offset=data_start)
    return ChunkAudio(Path(path), samplerate, channels, frames.reshape(-1, channels), cut=declared > available)
