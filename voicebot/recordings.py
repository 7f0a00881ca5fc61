"""The recordings folder: one directory per meeting, named by its id.

``recordings/<id>/`` holds ``meeting.json`` (the Meeting), the audio
(``audio.flac`` once a recording is closed; ``chunks/`` while recording) and
each stage's artifact, named below. Stages read and write these names only
through this module, so the layout is stated once.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path

from voicebot import schema
from voicebot.errors import UserError
from voicebot.fsutil import atomic_write

MEETING_JSON = "meeting.json"
AUDIO = "audio.flac"  # the whole meeting, 16 kHz mono FLAC
CHUNKS = "chunks"  # the recorder's pieces, while recording
TRANSCRIPT = "transcript.json"
DIARIZATION = "diarization.rttm"
SPEAKERS = "speakers.json"  # speaker naming: label -> person, and who was present
MINUTES_JSON = "minutes.json"
MINUTES_MD = "minutes.md"
TRANSCRIPT_PARTIAL = "transcript.partial.json"  # the transcription's checkpoint (segments so far), while it runs
VAD_SCORES = "vad.partial.npz"  # voice activity scores of the recording's whole blocks, scored live while recording
LIVE_LOG = "live.jsonl"  # the live transcription's events (started, chunk transcribed, behind, stopped)
PIPELINE_LOG = "pipeline.jsonl"  # the pipeline's events (stage started, done, failed...), one JSON a line
PIPELINE_LOCK = ".pipeline.lock"  # held by the process working on the meeting

_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-z0-9-]{1,40}$")


def slugify(text: str, limit: int = 24) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-")


def new_meeting_id(title: str, started: datetime) -> str:
    """Sortable, unique and readable: ``20261124-093012-weekly-sync-3f9a``."""
    slug = slugify(title)
    suffix = secrets.token_hex(2)
    return f"{started:%Y%m%d-%H%M%S}-{slug + '-' if slug else ''}{suffix}"


def is_meeting_id(text: str) -> bool:
    return bool(_ID_RE.match(text))


def meeting_dir(recordings_dir: Path, meeting_id: str) -> Path:
    if not is_meeting_id(meeting_id):
        raise UserError(f"{meeting_id!r} is not a meeting id (like 20261124-093012-weekly-sync-3f9a); "
                        "`voicebot meetings list` shows them")
    return recordings_dir / meeting_id


def save_meeting(directory: Path, meeting: schema.Meeting) -> Path:
    return atomic_write(directory / MEETING_JSON, schema.dumps(meeting))


def load_meeting(directory: Path) -> schema.Meeting:
    path = directory / MEETING_JSON
    if not path.is_file():
        raise UserError(f"no meeting at {directory} ({MEETING_JSON} missing)")
    return schema.Meeting.from_dict(schema.read_json(path))


def list_meeting_dirs(recordings_dir: Path) -> list[Path]:
    if not recordings_dir.is_dir():
        return []
    return sorted(p for p in recordings_dir.iterdir() if p.is_dir() and is_meeting_id(p.name))
