"""Renaming a speaker after the fact, everywhere a meeting keeps the name.

``voicebot meetings rename-speaker`` and the web's meeting page both call
``rename_speaker``: the meeting folder's files (transcript.json,
speakers.json, minutes.json, minutes.md), the archive's copies (segments,
speaker list, every minutes version), and, when asked, the speaker's voice
stored as the new name's voiceprint so later meetings name them.

It wires two stages (diarize: files and voices; archive: rows), so it lives
beside them rather than in either.

Who may do what (``by``, the web user; the command line is ``SYSTEM``, an admin):
a member may rename a speaker of a meeting they may see, and enroll a voice only
as their own (the person with their email address) from a speaker who is not
somebody else already; merging two speakers of a meeting (renaming one to the
name of another) and enrolling anyone else's voice need an admin. Every
voiceprint change is logged with who made it, and can be undone
(``voicebot people history`` / ``undo``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from voicebot import recordings
from voicebot.archive.access import SYSTEM, Forbidden, Viewer
from voicebot.archive.erase import fold
from voicebot.errors import UserError
from voicebot.schema import Minutes

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


def rename_speaker(db: Archive, meeting_id: str, old: str, new: str, *, enroll: bool = False,
                   by: Viewer = SYSTEM) -> Renamed:
    """Rename speaker ``old`` to ``new`` in meeting ``meeting_id`` (folder and archive).

    ``enroll``: also store the speaker's voice in this meeting as ``new``'s voiceprint
    (needs the folder's audio.flac and diarization.rttm). UserError when the meeting or
    the speaker is not found; Forbidden when ``by`` may not do it (see the module help)."""
    from voicebot.diarize.naming import rename_in_files, speaker_voice

    new = clean_name(new)
    directory = recordings.meeting_dir(db.settings.recordings_dir, meeting_id)
    row = db.get_meeting(meeting_id)
    if row is not None and old not in row["speakers"] and old not in _file_speakers(directory):
        shown = ", ".join(row["speakers"]) or "none"
        raise UserError(f"no speaker {old!r} in meeting {meeting_id} (its speakers: {shown})")
    email = _check_allowed(db, by, row, old, new, enroll)
    voice = speaker_voice(directory, old) if enroll else None  # before the files change: it reads the old label
    result = Renamed(meeting_id, old, new)
    minutes = markdown = None
    if directory.is_dir():
        result.files = rename_in_files(directory, old, new)
        minutes, markdown = _rename_minutes_files(directory, db.settings, old, new)
        result.files += [recordings.MINUTES_JSON, recordings.MINUTES_MD] if minutes is not None else []
    if row is not None:
        result.segments = db.rename_speaker(meeting_id, old, new, minutes=minutes, markdown=markdown)
    if voice is not None:
        db.upsert_person(new, email=email, voiceprint=voice, source=f"meeting {meeting_id}", changed_by=by.name,
                         reason=f"meeting {meeting_id}, speaker {old}")
        result.enrolled = True
    if row is None and not result.files:
        raise UserError(f"no meeting {meeting_id!r} in the archive or under {db.settings.recordings_dir}")
    return result


def _check_allowed(db: Archive, by: Viewer, row: dict | None, old: str, new: str, enroll: bool) -> str | None:
    """Forbidden unless ``by`` may make this change; the email address to give the enrolled person."""
    if by.admin:
        return None
    if row is not None and new != old and new in row["speakers"]:
        raise Forbidden(f"{new} is already a speaker of this meeting: merging two speakers cannot be undone "
                        "from the web, so only an admin may do it")
    if not enroll:
        return None
    mine = db.person_by_email(by.email)
    if not by.email:
        raise Forbidden("you can enroll only your own voice, and your account has no email address to tell "
                        "which person you are; ask an admin to add it")
    if mine is not None and fold(mine["name"]) != fold(new):
        raise Forbidden(f"you can enroll only your own voice, as {mine['name']}; an admin may enroll others")
    claimed = db.get_person(old)
    if claimed is not None and (mine is None or fold(claimed["name"]) != fold(mine["name"])):
        raise Forbidden(f"{old} is somebody else's name: you can claim only an unnamed speaker as your voice")
    target = db.get_person(new)
    if mine is None and target is not None and (target["has_voiceprint"] or (target.get("email") or "").lower()
                                                 not in ("", by.email.lower())):
        raise Forbidden(f"{new} is somebody else: you can enroll only your own voice; an admin may enroll others")
    return by.email


def _file_speakers(directory: Path) -> list[str]:
    """Speakers of the folder's transcript.json (empty when there is none)."""
    from voicebot.schema import Transcript, read_json

    path = directory / recordings.TRANSCRIPT
    return Transcript.from_dict(read_json(path)).speakers if path.is_file() else []


def _rename_minutes_files(directory: Path, settings, old: str, new: str) -> tuple[Minutes | None, str | None]:
    """The folder's minutes with the new name: drafted again when the rule-based engine made them
    (deterministic and quick, and present/absent, talk time, owners and notes then agree with the
    renamed transcript and speakers.json); a model's minutes get the name replaced (no slow,
    different redraft behind a rename). (minutes, markdown) as written, or (None, None)."""
    from voicebot.archive.meetings import rename_in_minutes
    from voicebot.minutes import draft_meeting, write_minutes
    from voicebot.schema import read_json

    path = directory / recordings.MINUTES_JSON
    if not path.is_file():
        return None, None
    current = Minutes.from_dict(read_json(path))
    if current.engine == "extractive":
        minutes = draft_meeting(directory, settings, engine="extractive")
    else:
        minutes = Minutes.from_dict(rename_in_minutes(current.to_dict(), old, new))
    _, markdown = write_minutes(directory, minutes)
    return minutes, markdown.read_text(encoding="utf-8")
