"""Crash-safe file writes: write a temp file, fsync it, rename it over the
target, fsync the directory. A reader (or a crash) sees the old file or the
new one, never half of one."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


@contextmanager
def exclusive_lock(path: Path, *, wait: bool = False) -> Iterator[bool]:
    """True while this process alone holds the lock file ``path`` (an flock: the kernel drops it when the
    process dies, even on kill -9); False at once when another process holds it (``wait``: wait for it)."""
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def append_jsonl(path: Path, record: dict) -> bool:
    """Append one JSON line to an event log, stamped with the time. Best effort: False when it could not."""
    import json
    from datetime import datetime

    line = json.dumps({"at": datetime.now().astimezone().isoformat(timespec="milliseconds"), **record},
                      ensure_ascii=False)
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError:
        return False
    return True


def read_jsonl(path: Path) -> list[dict]:
    """The events of a JSON-lines log (a line cut by a crash is skipped)."""
    import json

    path = Path(path)
    events = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
