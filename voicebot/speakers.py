"""Renaming a speaker after the fact, everywhere a meeting keeps the name.

``voicebot meetings rename-speaker`` and the web's meeting page both call
``rename_speaker``: the meeting folder's files (transcript.json,
speakers.json, minutes.json, minutes.md), the archive's copies (segments,
speaker list, every minutes version), and, when asked, the speaker's voice
stored as the new name's voiceprint so later meetings name them.

It wires two stages (diarize: files and voices; archive: rows), so it lives
beside them rather than in either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from voicebot import recordings
from voicebot.errors import UserError

if TYPE_CHECKING:
    from voicebot.archive import Archive

MAX_NAME = 120  # characters in a speaker's name


@dataclass
class Renamed:
    """What ``rename_speaker`` changed."""

    meeting_id: str
    old: str
    new: str
    segments: int = 0  # archived transcript segments renamed
    files: list[str] = field(default_factory=list)  # files of the meeting folder rewritten
    enrolled: bool = False  # the speaker's voice was stored as NEW's voiceprint


def clean_name(text: str | None) -> str:
    """A speaker name as stored: spaces collapsed; UserError when empty, too long or holding control characters."""
    name = " ".join((text or "").split())
    if not name:
        raise UserError("the new speaker name is empty")
    if len(name) > MAX_NAME:
        raise UserError(f"a speaker name is at most {MAX_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UserError("a speaker name cannot hold control characters")
    return name


def rename_speaker(db: Archive, meeting_id: str, old: str, new: str, *, enroll: bool = False) -> Renamed:
    """Rename speaker ``old`` to ``new`` in meeting ``meeting_id`` (folder and archive).

    ``enroll``: also store the speaker's voice in this meeting as ``new``'s voiceprint
    (needs the folder's audio.flac and diarization.rttm). UserError when the meeting or
    the speaker is not found."""
    from voicebot.diarize.naming import rename_in_files, speaker_voice

    new = clean_name(new)
    directory = recordings.meeting_dir(db.settings.recordings_dir, meeting_id)
    row = db.get_meeting(meeting_id)
    if row is not None and old not in row["speakers"] and old not in _file_speakers(directory):
        shown = ", ".join(row["speakers"]) or "none"
        raise UserError(f"no speaker {old!r} in meeting {meeting_id} (its speakers: {shown})")
    voice = speaker_voice(directory, old) if enroll else None  # before the files change: it reads the old label
    result = Renamed(meeting_id, old, new)
    if directory.is_dir():
        result.files = rename_in_files(directory, old, new)
    if row is not None:
        result.segments = db.rename_speaker(meeting_id, old, new)
    if voice is not None:
        db.upsert_person(new, voiceprint=voice, source=f"meeting {meeting_id}")
        result.enrolled = True
    if directory.is_dir():
        result.files += _rename_minutes_files(directory, old, new)
    if row is None and not result.files:
        raise UserError(f"no meeting {meeting_id!r} in the archive or under {db.settings.recordings_dir}")
    return result


def _file_speakers(directory: Path) -> list[str]:
    """Speakers of the folder's transcript.json (empty when there is none)."""
    from voicebot.schema import Transcript, read_json

    path = directory / recordings.TRANSCRIPT
    return Transcript.from_dict(read_json(path)).speakers if path.is_file() else []


def _rename_minutes_files(directory: Path, old: str, new: str) -> list[str]:
    """minutes.json / minutes.md on disk, renamed as the archive renames its copies."""
    from voicebot.archive.erase import name_pattern
    from voicebot.archive.store import _rename_in_minutes
    from voicebot.fsutil import atomic_write
    from voicebot.schema import dumps, read_json

    changed = []
    path = directory / recordings.MINUTES_JSON
    if path.is_file():
        atomic_write(path, dumps(_rename_in_minutes(read_json(path), old, new)))
        changed.append(path.name)
    path = directory / recordings.MINUTES_MD
    pattern = name_pattern([old])
    if path.is_file() and pattern:
        atomic_write(path, pattern.sub(new, path.read_text(encoding="utf-8")))
        changed.append(path.name)
    return changed
