"""Recordings that never finished (crash, kill -9, power cut, full disk):
find them and make them processable.

A recording is unfinished when its ``meeting.json`` still says
``"recording"`` and no process holds its lock (see ``control``). Recovery
takes the lock, reads every piece in ``chunks/`` (a truncated piece, or the
``.partial`` one that was being written, is cut at its last whole frame),
writes and verifies ``audio.flac``, and sets the status to ``"recovered"``.

Nothing recorded is deleted: ``chunks/`` is removed only when every sample
in it is verified to be in ``audio.flac`` and no piece was unreadable (and
never with ``record.keep_chunks = true``); otherwise it stays, and the
report names the pieces that could not be read. A folder whose recording
never got any audio gets the status ``"empty"`` (it keeps its invite list).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from voicebot import recordings, schema
from voicebot.config import Settings
from voicebot.errors import UserError
from voicebot.record.assemble import Assembly, assemble
from voicebot.record.chunks import list_chunks
from voicebot.record.control import STOP, DirLock, is_live, log_event


@dataclass
class Recovery:
    """What recovery did to one recording."""

    meeting: schema.Meeting
    directory: Path
    assembly: Assembly
    chunks_removed: bool = False
    rebuilt_metadata: bool = False  # meeting.json was missing or damaged and was made again
    error: str | None = None  # audio.flac could not be written (disk full...): still unfinished, chunks/ intact

    @property
    def seconds(self) -> float:
        return self.assembly.seconds

    @property
    def processable(self) -> bool:
        return self.meeting.status == "recovered"


def _load_or_rebuild(directory: Path, *, repair: bool = False) -> tuple[schema.Meeting | None, bool]:
    """The meeting of a folder; when meeting.json is missing or damaged but audio pieces are there, one
    rebuilt from the folder name (with ``repair`` the damaged file is kept as meeting.json.damaged)."""
    path = directory / recordings.MEETING_JSON
    try:
        return schema.Meeting.from_dict(schema.read_json(path)), False
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    if not list_chunks(directory / recordings.CHUNKS):
        return None, False
    if repair and path.exists():
        path.replace(directory / (recordings.MEETING_JSON + ".damaged"))
    started = datetime.strptime(directory.name[:15], "%Y%m%d-%H%M%S").astimezone()
    return schema.Meeting(id=directory.name, title="Recovered recording", started_at=started.isoformat(),
                          status="recording"), True


def find_unfinished(settings: Settings) -> list[schema.Meeting]:
    """Recordings left unfinished (status "recording", no live recorder), oldest first."""
    found = []
    for directory in recordings.list_meeting_dirs(settings.recordings_dir):
        meeting, _ = _load_or_rebuild(directory)
        if meeting is not None and meeting.status == "recording" and not is_live(directory):
            found.append(meeting)
    return found


def recover(settings: Settings, *, meeting_id: str | None = None,
            on_recovered: Callable[[Recovery], None] | None = None) -> list[schema.Meeting]:
    """Repair every unfinished recording (or one); the meetings made processable (status "recovered").

    ``on_recovered`` gets the full report of each folder handled, including empty ones."""
    if meeting_id:
        directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
        if not directory.is_dir():
            raise UserError(f"no recording {meeting_id} in {settings.recordings_dir}")
        candidates = [directory]
    else:
        candidates = recordings.list_meeting_dirs(settings.recordings_dir)
    done = []
    for directory in candidates:
        report = recover_folder(directory, keep_chunks=settings.record.keep_chunks)
        if report is None:
            if meeting_id:
                raise UserError(f"recording {meeting_id} is not unfinished (it is finished, or being recorded now)")
            continue
        if on_recovered:
            on_recovered(report)
        if report.processable:
            done.append(report.meeting)
    return done


def recover_folder(directory: Path, *, keep_chunks: bool = False) -> Recovery | None:
    """Recover one folder; None when it needs nothing (finished, or a recorder is working in it)."""
    lock = DirLock(directory)
    if not lock.acquire():
        return None  # a recorder (or another recovery) is working here
    try:
        meeting, rebuilt = _load_or_rebuild(directory, repair=True)
        if meeting is None or meeting.status != "recording":
            return None
        try:
            result = assemble(directory)
        except OSError as exc:
            log_event(directory, "recovery-failed", error=str(exc))
            return Recovery(meeting=meeting, directory=directory, assembly=Assembly(path=None),
                            rebuilt_metadata=rebuilt, error=str(exc))
        report = Recovery(meeting=meeting, directory=directory, assembly=result, rebuilt_metadata=rebuilt)
        meeting.ended_at = meeting.ended_at or _last_audio_time(directory)
        meeting.status = "recovered" if result.path else "empty"
        recordings.save_meeting(directory, meeting)
        if result.complete and not keep_chunks:
            shutil.rmtree(directory / recordings.CHUNKS)
            report.chunks_removed = True
        (directory / STOP).unlink(missing_ok=True)
        log_event(directory, "recovered", status=meeting.status, seconds=round(report.seconds, 3),
                  chunks=result.chunks, cut=result.cut, unreadable=result.unreadable, missing=result.missing,
                  chunks_removed=report.chunks_removed)
        return report
    finally:
        lock.release()


def _last_audio_time(directory: Path) -> str | None:
    """When the last piece was written (the end of a recording that did not stop cleanly)."""
    pieces = list_chunks(directory / recordings.CHUNKS)
    if not pieces:
        return None
    mtime = max(p.stat().st_mtime for p in pieces)
    return datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")


def summary(report: Recovery) -> str:
    """One line a person can read: what was recovered and what was kept."""
    r = report.assembly
    if report.error:
        return (f"{report.meeting.id}: could not be recovered now ({report.error}); "
                f"nothing was changed, its audio is still in {recordings.CHUNKS}/; fix that and run `voicebot recover` again")
    if report.meeting.status == "empty":
        parts = [f"{report.meeting.id}: no audio had been recorded; marked empty (folder and invite list kept)"]
    else:
        parts = [f"{report.meeting.id}: recovered {report.seconds:.1f} s of audio into {recordings.AUDIO}"]
    if r.cut:
        parts.append(f"{len(r.cut)} piece(s) cut at their last whole frame")
    if r.missing:
        parts.append(f"pieces missing from the sequence: {', '.join(map(str, r.missing))}")
    if r.unreadable:
        names = ", ".join(f"{name} ({why})" for name, why in r.unreadable)
        parts.append(f"unreadable pieces kept in {recordings.CHUNKS}/: {names}")
    if report.chunks_removed:
        parts.append(f"{recordings.CHUNKS}/ removed (every sample verified in {recordings.AUDIO})")
    elif r.frames:
        parts.append(f"{recordings.CHUNKS}/ kept")
    if r.kept_existing:
        parts.append(f"the {recordings.AUDIO} already there was longer and was kept as it was")
    if report.rebuilt_metadata:
        parts.append(f"{recordings.MEETING_JSON} was missing or damaged and was rebuilt")
    return "; ".join(parts)

