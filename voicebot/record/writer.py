"""The writer thread: takes blocks from the audio callback's queue and puts
them on disk as chunk files (see ``chunks``).

The audio callback only copies the block and puts it on a queue (no disk
I/O, no lock it could wait on). Everything slow happens here. When the disk
fails (full, removed), the writer keeps what it wrote readable, records the
error, and from then on drops blocks (counting them) so the recorder can stop
cleanly.
"""

from __future__ import annotations

import math
import queue
import threading
from pathlib import Path

import numpy as np

from voicebot.record.chunks import ChunkFile

SILENCE_DBFS = -50.0  # a block whose peak stays below this counts as silence


def peak_dbfs(block: np.ndarray) -> float:
    if block.size == 0:
        return -math.inf
    peak = int(np.abs(block.astype(np.int32)).max())
    return 20 * math.log10(peak / 32768) if peak else -math.inf


class ChunkWriter(threading.Thread):
    def __init__(self, directory: Path, samplerate: int, channels: int, chunk_seconds: float, first_index: int = 0):
        super().__init__(name="voicebot-chunk-writer", daemon=True)
        self.directory = directory
        self.samplerate = samplerate
        self.channels = channels
        self.chunk_seconds = chunk_seconds
        self.index = first_index
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.current: ChunkFile | None = None
        # read by the recorder's main loop (plain attributes: the GIL makes each read whole)
        self.frames_written = 0  # frames handed to the kernel, all chunks together
        self.seconds_written = 0.0  # the same in seconds (chunks may change rate after a device reopens)
        self.chunks_closed = 0
        self.dropped_frames = 0  # blocks dropped after a disk error
        self.error: OSError | None = None
        self.peak_db = -math.inf  # loudest block since the main loop last reset it
        self.silent_seconds = 0.0  # length of the current silent stretch

    # --- called from other threads ---------------------------------------------------
    def submit(self, block: np.ndarray) -> None:
        """From the audio callback: never blocks, never touches the disk."""
        self.queue.put(block)

    def change_format(self, samplerate: int, channels: int) -> None:
        """After a device reopened with another format: the next block starts a new chunk."""
        self.queue.put(("format", samplerate, channels))

    def finish(self, timeout: float | None = None) -> None:
        """Write what is queued, close the last chunk, stop the thread."""
        self.queue.put(None)
        self.join(timeout)

    # --- the thread --------------------------------------------------------------------
    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                self._close_current()
                return
            if isinstance(item, tuple):
                self._close_current()
                _, self.samplerate, self.channels = item
                continue
            self._level(item)
            if self.error is not None:
                self.dropped_frames += len(item)
                continue
            try:
                self._write(item)
            except OSError as exc:
                self.error = exc
                self.dropped_frames += len(item)
                self._close_current()

    def _level(self, block: np.ndarray) -> None:
        db = peak_dbfs(block)
        self.peak_db = max(self.peak_db, db)
        seconds = len(block) / self.samplerate
        self.silent_seconds = self.silent_seconds + seconds if db < SILENCE_DBFS else 0.0

    def _write(self, block: np.ndarray) -> None:
        chunk_frames = max(1, round(self.chunk_seconds * self.samplerate))
        while len(block):
            if self.current is None:
                self.current = ChunkFile(self.directory, self.index, self.samplerate, self.channels)
                self.index += 1
            room = chunk_frames - self.current.frames
            piece, block = block[:room], block[room:]
            self.current.append(piece)
            self.frames_written += len(piece)
            self.seconds_written += len(piece) / self.samplerate
            if self.current.frames >= chunk_frames:
                self.current.close()
                self.current = None
                self.chunks_closed += 1

    def _close_current(self) -> None:
        """Close the open chunk; after a disk error try to, and leave a readable .partial if it fails."""
        current, self.current = self.current, None
        if current is None:
            return
        if current.frames == 0:
            current.abandon()
            current.path.unlink(missing_ok=True)
            return
        try:
            current.close()
            self.chunks_closed += 1
        except OSError as exc:
            current.abandon()
            self.error = self.error or exc
