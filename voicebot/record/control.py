"""Who is recording where, and how to ask a recorder to stop.

- The recorder (and recovery) holds an exclusive ``flock`` on the folder
  ``recordings/<id>/`` itself for as long as it works there (no lock file:
  it works on a full disk too). The kernel drops the lock when the process
  dies, even on kill -9, and a power cut drops every lock, so "status
  recording and nobody holds the lock" means the recording never finished.
- ``.stop``: ``voicebot stop`` (another terminal, another program) creates it;
  the recorder checks for it several times a second and stops cleanly.
- ``recorder.jsonl``: the recorder's events (start, device lost and reopened,
  overflows, disk full, stop, recovery), one JSON object a line, fsynced.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from datetime import datetime
from pathlib import Path

from voicebot import recordings, schema
from voicebot.config import Settings
from voicebot.errors import UserError

STOP = ".stop"
EVENTS = "recorder.jsonl"


class DirLock:
    """An exclusive lock on a recording folder (see the module help)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def is_live(directory: Path) -> bool:
    """True when a process holds the folder's lock now (a recording in progress, or a recovery)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock if we just took it
    return False


def log_event(directory: Path, event: str, **fields) -> bool:
    """Append one event to recorder.jsonl and fsync it (small, rare writes: never from the audio callback).

    Best effort: a full disk must not stop a recording or a recovery because its log could not grow."""
    line = json.dumps({"event": event, "at": datetime.now().astimezone().isoformat(timespec="milliseconds"),
                       **fields}, ensure_ascii=False)
    try:
        with open(directory / EVENTS, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        return False
    return True


def read_events(directory: Path) -> list[dict]:
    """The events logged so far (a line cut by a crash is skipped)."""
    path = directory / EVENTS
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def stop_requested(directory: Path) -> bool:
    return (directory / STOP).exists()


def live_recordings(settings: Settings) -> list[schema.Meeting]:
    """Recordings in progress now, on this machine."""
    live = []
    for directory in recordings.list_meeting_dirs(settings.recordings_dir):
        if is_live(directory):
            try:
                meeting = recordings.load_meeting(directory)
            except (UserError, ValueError):
                continue
            if meeting.status == "recording":
                live.append(meeting)
    return live


def request_stop(settings: Settings, meeting_id: str | None = None, *, wait: float = 120.0) -> list[schema.Meeting]:
    """Ask the recorder(s) to stop (all live ones, or one), wait up to ``wait`` s; the meetings as they are then."""
    live = live_recordings(settings)
    if meeting_id:
        live = [m for m in live if m.id == meeting_id]
        if not live:
            raise UserError(f"no recording in progress with id {meeting_id}")
    if not live:
        raise UserError("no recording in progress")
    directories = [recordings.meeting_dir(settings.recordings_dir, m.id) for m in live]
    for directory in directories:
        (directory / STOP).touch()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(is_live(d) for d in directories):
        time.sleep(0.1)
    return [recordings.load_meeting(d) for d in directories]
