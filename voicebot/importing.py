"""`voicebot meetings import`: a transcript that has no audio (from another tool, or a benchmark)
into the archive, searchable and askable like any recorded meeting.

The transcript is voicebot's JSON (``voicebot transcribe --format json``: segments with start,
end, text, and optionally speaker and words). The meeting gets an id like a recording's, the
status ``imported``, the file's path as its source, and no folder; its passages are embedded at
once (``archive/vectors.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from voicebot.config import Settings
from voicebot.errors import UserError


@dataclass
class Imported:
    meeting_id: str
    segments: int
    passages: int


def meeting_start(text: str) -> datetime:
    """'2026-11-24' (09:00 that day) or '2026-11-24T14:30[:00][+01:00]', in local time when no zone is given."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"date {text!r} is not a date like 2026-11-24 or 2026-11-24T14:30") from None
    if len(text.strip()) == 10:
        value = value.replace(hour=9)
    return value if value.tzinfo else value.astimezone()


def import_transcript(settings: Settings, path: Path, *, title: str, date: str, language: str | None = None) -> Imported:
    from voicebot import recordings, schema
    from voicebot.archive import open_archive
    from voicebot.minutes import read_transcript

    title = " ".join((title or "").split())
    if not title:
        raise UserError("give the meeting a title (--title)")
    started = meeting_start(date)
    transcript = read_transcript(Path(path))
    transcript.segments = [s for s in transcript.segments if s.text.strip()]
    if not transcript.segments:
        raise UserError(f"{path} has no segment with text; nothing to import")
    for n, segment in enumerate(transcript.segments, start=1):
        if not (isinstance(segment.start, (int, float)) and isinstance(segment.end, (int, float))
                and 0 <= segment.start <= segment.end):
            raise UserError(f"{path}: segment {n} has no valid start and end times (seconds, start <= end)")
    language = language or transcript.language or None
    meeting = schema.Meeting(id=recordings.new_meeting_id(title, started), title=title,
                             started_at=started.isoformat(timespec="seconds"), language=language,
                             ended_at=(started + timedelta(seconds=transcript.duration)).isoformat(timespec="seconds"),
                             source=str(Path(path).resolve()), status="imported")
    transcript.title, transcript.date = title, meeting.date
    with open_archive(settings) as db:
        with db.transaction():
            db.save_meeting(meeting)
            stored = db.save_transcript(meeting.id, transcript)
        passages = db.index_passages([meeting.id])
    return Imported(meeting.id, stored, passages)
