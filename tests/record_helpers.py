"""Helpers for the recorder's tests: deterministic audio, recording folders
as the recorder leaves them, and finding where a recording sits in a stream."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from voicebot import recordings, schema
from voicebot.record.chunks import ChunkFile


def noise(frames: int, seed: int) -> np.ndarray:
    """Deterministic 16-bit noise: any 16 consecutive samples occur once in it."""
    return np.random.default_rng(seed).integers(-8000, 8000, frames, dtype=np.int16)


def noise_file(path: Path, seconds: float, seed: int, samplerate: int = 16000) -> np.ndarray:
    """Write ``noise`` as a 16-bit WAV at ``path`` (to play it); returns its samples."""
    import soundfile as sf

    samples = noise(int(seconds * samplerate), seed)
    sf.write(path, samples, samplerate, subtype="PCM_16")
    return samples


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


@dataclass
class Follow:
    """How a recording holds what was played (see ``follow``)."""

    ok: bool  # every sample matched, apart from runs of silence the sound server inserted
    played_start: int  # the first sample of ``played`` the recording holds
    recorded_start: int  # where it is in the recording
    held: int  # how many samples of ``played``, from played_start, the recording holds
    inserted: int  # zeros inserted by the sound server when the player was late (not the recorder's doing)
    detail: str = ""


def _find(needle: np.ndarray, haystack: np.ndarray) -> int:
    for start in np.flatnonzero(haystack == needle[0]):
        if np.array_equal(haystack[start:start + len(needle)], needle):
            return int(start)
    return -1


def follow(recorded: np.ndarray, played: np.ndarray, probe: int = 32) -> Follow:
    """Walk through ``recorded`` along ``played`` sample for sample.

    The recording may start anywhere in what was played and stop anywhere. When
    the player falls behind (a busy machine), the sound server plays silence
    and then goes on: such runs of zeros are allowed and counted. Any other
    difference (a sample lost, repeated or changed) makes ``ok`` false."""
    nonzero = np.flatnonzero(recorded)
    if len(nonzero) == 0:
        return Follow(False, 0, 0, 0, 0, "the recording is silent")
    i = j = -1
    for r in range(int(nonzero[0]), len(recorded) - probe, probe * 5):
        j = _find(recorded[r:r + probe], played)
        if j >= 0:
            i = r
            break
    if i < 0:
        return Follow(False, 0, 0, 0, 0, "nothing of what was played is in the recording")
    skipped = np.count_nonzero(recorded[nonzero[0]:i])
    start_i, start_j, inserted = i, j, 0
    while i < len(recorded) and j < len(played):
        n = min(len(played) - j, len(recorded) - i)
        differ = np.flatnonzero(recorded[i:i + n] != played[j:j + n])
        if len(differ) == 0:
            i, j = i + n, j + n
            break
        i, j = i + int(differ[0]), j + int(differ[0])
        end = i
        while end < len(recorded) and recorded[end] == 0:
            end += 1
        if end == len(recorded):
            break  # the recording ends in silence (the player stopped first)
        window = played[j:j + 16]
        resync = next((z for z in range(i, end + 1) if np.array_equal(recorded[z:z + len(window)], window)), None)
        if resync is None:
            return Follow(False, start_j, start_i, j - start_j, inserted,
                          f"sample {i} of the recording differs from sample {j} of what was played")
        inserted += resync - i
        i = resync
    ok = skipped == 0
    return Follow(ok, start_j, start_i, j - start_j, inserted,
                  "" if ok else f"{skipped} samples at the start of the recording match nothing played")


@contextmanager
def small_disk(path: Path, size: str):
    """A tmpfs of ``size`` (e.g. "256k") mounted at ``path``, to fill up; unmounted afterwards.

    Mounting needs root (CI and the dev machines run the tests as root); elsewhere the test is skipped
    with the reason."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def resize_disk(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, capture_output=True)


def wait_for_event(directory: Path, event: str, proc: subprocess.Popen, timeout: float = 60) -> dict:
    """The first ``event`` in the recorder's log (recorder.jsonl) once it is there; fails if the recorder exits."""
    from voicebot.record.control import read_events

    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in read_events(directory) if e["event"] == event]
        if found:
            return found[0]
        assert proc.poll() is None, f"the recorder exited: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {event} event"
        time.sleep(0.02)
