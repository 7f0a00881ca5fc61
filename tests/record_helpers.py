"""Helpers for the recorder's tests: deterministic audio, recording folders
as the recorder leaves them, and finding where a recording sits in a stream."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from voicebot import recordings, schema
from voicebot.record.chunks import ChunkFile


def noise(frames: int, seed: int) -> np.ndarray:
    """Deterministic 16-bit noise: any 16 consecutive samples occur once in it."""
    return np.random.default_rng(seed).integers(-8000, 8000, frames, dtype=np.int16)


def make_recording(settings, audio: np.ndarray, *, chunk_seconds: float = 1.0, finish: bool = False,
                   title: str = "test", invitees=(), samplerate: int = 16000):
    """A folder as the recorder leaves it: meeting.json, chunks/ with ``audio`` in closed pieces and,
    unless ``finish``, the last piece still ``.partial`` (the program died while writing it)."""
    started = datetime.now().astimezone()
    meeting_id = recordings.new_meeting_id(title, started)
    directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
    (directory / recordings.CHUNKS).mkdir(parents=True)
    recordings.save_meeting(directory, schema.Meeting(
        id=meeting_id, title=title, started_at=started.isoformat(timespec="seconds"), invitees=list(invitees),
        device="test", samplerate=samplerate, channels=1, status="recording"))
    step = round(chunk_seconds * samplerate)
    starts = list(range(0, len(audio), step))
    for index, start in enumerate(starts):
        piece = ChunkFile(directory / recordings.CHUNKS, index, samplerate, 1)
        piece.append(audio[start:start + step].reshape(-1, 1))
        if finish or index < len(starts) - 1:
            piece.close()
        else:
            piece.abandon()
    return directory


def prefix_offset(recorded: np.ndarray, stream: np.ndarray, probe: int = 32) -> int | None:
    """Where ``recorded`` (leading zeros skipped) starts in ``stream`` when it is an exact slice of it."""
    nonzero = np.flatnonzero(recorded)
    if len(nonzero) == 0:
        return None
    lead = int(nonzero[0])
    body = recorded[lead:]
    head = body[:probe]
    for start in np.flatnonzero(stream == head[0]):
        if np.array_equal(stream[start:start + len(head)], head):
            if np.array_equal(stream[start:start + len(body)], body):
                return int(start) - lead
            return None
    return None
