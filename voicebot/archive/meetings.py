"""Meetings, their transcripts (segments, words) and their minutes versions.

A meeting's row mirrors its card (``meeting.json`` in its recordings folder);
its transcript is one row per segment (indexed for search by the database);
its minutes are numbered versions, each with the mail it queued in the same
transaction. Renaming a speaker changes all three.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from voicebot import recordings, schema
from voicebot.archive import erase
from voicebot.archive.access import Viewer
from voicebot.archive.base import ArchivePart
from voicebot.archive.outbox import OutboxMessage, queue_messages
from voicebot.archive.times import iso, now_iso, time_bound
from voicebot.errors import UserError


def _words_json(words: Sequence[schema.Word]) -> str | None:
    if not words:
        return None
    return json.dumps([[round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 3)] for w in words],
                      ensure_ascii=False, separators=(",", ":"))


def _words_from_json(text: str | None) -> list[schema.Word]:
    if not text:
        return []
    return [schema.Word(start=s, end=e, word=w, probability=p) for s, e, w, p in json.loads(text)]


def rename_in_minutes(data: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A speaker's name changed everywhere in minutes JSON: present/absent, talk time, owners, and the
    label inside every text (summary, notes, tasks...). A renamed speaker who spoke is present now
    (an unnamed voice was not; an invitee listed absent while their voice was unknown is not absent)."""
    pattern = erase.name_pattern([old], ignore_case=False)
    if pattern is None:
        return data
    spoke = old in data.get("talk_time", {})
    data = erase.redact_value(data, pattern, new)
    data["present"] = list(dict.fromkeys([*data.get("present", []), *([new] if spoke else [])]))
    data["absent"] = [name for name in dict.fromkeys(data.get("absent", [])) if name not in data["present"]]
    return data


class Meetings(ArchivePart):
    """Meetings, transcripts and minutes versions."""

    # meetings ------------------------------------------------------------------------------
    def save_meeting(self, meeting: schema.Meeting, *, directory: Path | None = None) -> None:
        """Insert or update the meeting's row (its transcript and minutes are kept)."""
        if not recordings.is_meeting_id(meeting.id):
            raise UserError(f"{meeting.id!r} is not a meeting id")
        now = now_iso()
        directory = Path(directory) if directory is not None else self.settings.recordings_dir / meeting.id
        self.backend.execute(
            "INSERT INTO meetings (id, title, started_at, started_utc, ended_at, language, status, directory, "
            "meeting_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET title = excluded.title, started_at = excluded.started_at, "
            "started_utc = excluded.started_utc, ended_at = excluded.ended_at, "
            "language = COALESCE(meetings.language, excluded.language), status = excluded.status, "
            "directory = excluded.directory, meeting_json = excluded.meeting_json, "
            "updated_at = excluded.updated_at",
            (meeting.id, meeting.title or "", meeting.started_at, iso(meeting.started_at), meeting.ended_at,
             meeting.language, meeting.status, str(directory.resolve()), json.dumps(meeting.to_dict(), ensure_ascii=False),
             now, now),
        )
        self.refresh_meeting_people(meeting.id)  # its invitees may see it (access.py)

    def _meeting_dict(self, row: dict[str, Any]) -> dict[str, Any]:
        meeting = json.loads(row.pop("meeting_json") or "{}")
        row["speakers"] = json.loads(row.get("speakers") or "[]")
        row["invitees"] = meeting.get("invitees", [])
        row["date"] = (row.get("started_at") or "")[:10]
        row["has_transcript"] = bool(row.get("transcribed_at")) and not row.get("purged_at")
        row["has_minutes"] = bool(row.pop("minutes_count", 0))
        row.pop("started_utc", None)
        return row

    _MEETING_COLUMNS = ("m.id, m.title, m.started_at, m.started_utc, m.ended_at, m.duration, m.language, m.status, "
                        "m.directory, m.meeting_json, m.speakers, m.engine, m.model, m.transcribed_at, m.purged_at, "
                        "m.created_at, m.updated_at, "
                        "(SELECT COUNT(*) FROM minutes n WHERE n.meeting_id = m.id) AS minutes_count")

    def get_meeting(self, meeting_id: str) -> dict[str, Any] | None:
        row = self.backend.one(f"SELECT {self._MEETING_COLUMNS} FROM meetings m WHERE m.id = ?", (meeting_id,))
        return self._meeting_dict(row) if row else None

    def list_meetings(self, since: str | datetime | None = None, until: str | datetime | None = None,
                      limit: int | None = None, *, viewer: Viewer | None = None) -> list[dict[str, Any]]:
        """Meetings, newest first; ``since``/``until`` are dates (until includes its day) or datetimes.
        ``viewer``: only the meetings this web user may see (access.py)."""
        where, params = self._date_filter(since, until)
        if viewer is not None:
            visible, more = self.visible_sql(viewer)
            where += f" AND {visible}"
            params += more
        sql = f"SELECT {self._MEETING_COLUMNS} FROM meetings m WHERE 1 = 1 {where} ORDER BY m.started_utc DESC, m.id"
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._meeting_dict(r) for r in self.backend.query(sql, params)]

    def resolve_meeting(self, text: str, *, viewer: Viewer | None = None) -> str:
        """A meeting id from an id or a unique beginning of one (among those ``viewer`` may see);
        UserError otherwise."""
        text = (text or "").strip()
        visible, params = self.visible_sql(viewer) if viewer is not None else ("1 = 1", [])
        if self.backend.one(f"SELECT m.id FROM meetings m WHERE m.id = ? AND {visible}", (text, *params)):
            return text
        if not text or not re.fullmatch(r"[a-z0-9-]+", text):
            raise UserError(f"no meeting {text!r} in the archive; `voicebot meetings list` shows them")
        rows = self.backend.query(f"SELECT m.id FROM meetings m WHERE m.id >= ? AND m.id < ? AND {visible} "
                                  "ORDER BY m.id LIMIT 3", (text, text + "\uffff", *params))
        if not rows:
            raise UserError(f"no meeting {text!r} in the archive; `voicebot meetings list` shows them")
        if len(rows) > 1:
            raise UserError(f"{text!r} matches several meetings ({', '.join(r['id'] for r in rows)}...); "
                            "give more of the id")
        return rows[0]["id"]

    @staticmethod
    def _date_filter(since: Any, until: Any) -> tuple[str, list[Any]]:
        where, params = "", []
        if since:
            where += " AND m.started_utc >= ?"
            params.append(time_bound(since, end=False))
        if until:
            where += " AND m.started_utc < ?"
            params.append(time_bound(until, end=True))
        return where, params


    # the recording's content -------------------------------------------------------------------
    def set_audio_hash(self, meeting_id: str, sha256: str) -> None:
        """The hash of the meeting's audio, so the same recording processed again is recognised."""
        self.backend.execute("UPDATE meetings SET audio_sha256 = ? WHERE id = ?", (sha256, meeting_id))

    def audio_hash(self, meeting_id: str) -> str | None:
        return self.backend.value("SELECT audio_sha256 FROM meetings WHERE id = ?", (meeting_id,))

    def meeting_by_audio(self, sha256: str, *, viewer: Viewer | None = None) -> str | None:
        """The oldest meeting made from audio with this hash, if any (``viewer``: of those this web user may see)."""
        where, params = "", []
        if viewer is not None:
            visible, params = self.visible_sql(viewer)
            where = f" AND {visible}"
        return self.backend.value(f"SELECT m.id FROM meetings m WHERE m.audio_sha256 = ?{where} "
                                  "ORDER BY m.created_at, m.id LIMIT 1", (sha256, *params))

    # transcripts ---------------------------------------------------------------------------
    def save_transcript(self, meeting_id: str, transcript: schema.Transcript) -> int:
        """Replace the meeting's segments (and their index entries); the number stored."""
        # NUL cannot be stored in PostgreSQL text; nobody says it anyway
        rows = [(meeting_id, i, float(s.start), float(s.end), s.speaker, s.language, s.text.replace("\x00", "").strip(),
                 _words_json(s.words)) for i, s in enumerate(transcript.segments)]
        with self.backend.transaction():
            if not self.backend.one("SELECT id FROM meetings WHERE id = ?", (meeting_id,)):
                raise UserError(f"meeting {meeting_id} is not in the archive: save the meeting before its transcript")
            self.backend.execute("DELETE FROM segments WHERE meeting_id = ?", (meeting_id,))
            self.backend.executemany(
                "INSERT INTO segments (meeting_id, position, start_time, end_time, speaker, language, text, words) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.backend.execute(
                "UPDATE meetings SET duration = ?, language = ?, speakers = ?, engine = ?, model = ?, "
                "transcribed_at = ?, purged_at = NULL, updated_at = ? WHERE id = ?",
                (float(transcript.duration), transcript.language or None,
                 json.dumps(transcript.speakers, ensure_ascii=False), transcript.engine, transcript.model,
                 now_iso(), now_iso(), meeting_id))
            self.refresh_meeting_people(meeting_id)  # who spoke may see it (access.py)
        return len(rows)

    def get_transcript(self, meeting_id: str) -> schema.Transcript | None:
        meeting = self.backend.one("SELECT title, started_at, duration, language, engine, model, transcribed_at, "
                                   "purged_at FROM meetings WHERE id = ?", (meeting_id,))
        if not meeting or not meeting["transcribed_at"] or meeting["purged_at"]:
            return None
        rows = self.backend.query("SELECT start_time, end_time, speaker, language, text, words FROM segments "
                                  "WHERE meeting_id = ? ORDER BY position", (meeting_id,))
        segments = [schema.Segment(start=r["start_time"], end=r["end_time"], text=r["text"], speaker=r["speaker"],
                                   language=r["language"], words=_words_from_json(r["words"])) for r in rows]
        return schema.Transcript(language=meeting["language"] or "", duration=meeting["duration"] or 0.0,
                                 model=meeting["model"] or "", engine=meeting["engine"] or "", segments=segments,
                                 title=meeting["title"] or None, date=(meeting["started_at"] or "")[:10] or None)

    def segments_between(self, meeting_id: str, start: float, end: float) -> list[schema.Segment]:
        """The segments overlapping [start, end] seconds (for ``meetings show --at``)."""
        rows = self.backend.query("SELECT start_time, end_time, speaker, language, text FROM segments "
                                  "WHERE meeting_id = ? AND end_time >= ? AND start_time <= ? ORDER BY position",
                                  (meeting_id, start, end))
        return [schema.Segment(start=r["start_time"], end=r["end_time"], text=r["text"], speaker=r["speaker"],
                               language=r["language"]) for r in rows]

    def rename_speaker(self, meeting_id: str, old: str, new: str, *, minutes: schema.Minutes | None = None,
                       markdown: str | None = None) -> int:
        """Rename a speaker in a meeting's segments, its speaker list and every minutes version;
        the number of segments renamed. ``minutes``/``markdown``: the latest minutes as the caller
        drafted or rendered them again with the new name (the archive cannot draft or render
        minutes; without them the name is replaced in the stored JSON and text)."""
        new = (new or "").strip()
        if not new:
            raise UserError("the new speaker name is empty")
        pattern = erase.name_pattern([old], ignore_case=False)
        with self.backend.transaction():
            row = self.backend.one("SELECT speakers FROM meetings WHERE id = ?", (meeting_id,))
            if row is None:
                raise UserError(f"no meeting {meeting_id!r} in the archive; `voicebot meetings list` shows them")
            count = self.backend.execute("UPDATE segments SET speaker = ? WHERE meeting_id = ? AND speaker = ?",
                                         (new, meeting_id, old))
            speakers = [new if s == old else s for s in json.loads(row["speakers"] or "[]")]
            self.backend.execute("UPDATE meetings SET speakers = ?, updated_at = ? WHERE id = ?",
                                 (json.dumps(list(dict.fromkeys(speakers)), ensure_ascii=False), now_iso(),
                                  meeting_id))
            versions = self.backend.query("SELECT version, minutes_json, markdown FROM minutes "
                                          "WHERE meeting_id = ? ORDER BY version", (meeting_id,))
            for n, version in enumerate(versions):
                latest = n == len(versions) - 1
                data = (minutes.to_dict() if latest and minutes is not None
                        else rename_in_minutes(json.loads(version["minutes_json"]), old, new))
                text = markdown if latest and markdown is not None else (
                    pattern.sub(new, version["markdown"]) if pattern else version["markdown"])
                self.backend.execute("UPDATE minutes SET minutes_json = ?, markdown = ? "
                                     "WHERE meeting_id = ? AND version = ?",
                                     (json.dumps(data, ensure_ascii=False), text, meeting_id,
                                      version["version"]))
            self.refresh_meeting_people(meeting_id)
        return count


    # minutes -------------------------------------------------------------------------------
    def save_minutes(self, meeting_id: str, minutes: schema.Minutes, markdown: str, *,
                     outbox: Iterable[OutboxMessage] = ()) -> int:
        """Store a new version of the minutes and queue its messages, in one transaction;
        the version number. A message whose message_id is already queued is skipped."""
        with self.backend.transaction():
            if not self.backend.one("SELECT id FROM meetings WHERE id = ?", (meeting_id,)):
                raise UserError(f"meeting {meeting_id} is not in the archive: save the meeting before its minutes")
            version = (self.backend.value("SELECT MAX(version) AS v FROM minutes WHERE meeting_id = ?",
                                          (meeting_id,)) or 0) + 1
            self.backend.execute("INSERT INTO minutes (meeting_id, version, minutes_json, markdown, engine, created_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?)",
                                 (meeting_id, version, json.dumps(minutes.to_dict(), ensure_ascii=False), markdown,
                                  minutes.engine, now_iso()))
            queue_messages(self.backend, outbox)
        return version

    def get_minutes(self, meeting_id: str, version: int | None = None) -> dict[str, Any] | None:
        """{'minutes': schema.Minutes, 'markdown', 'version', 'created_at', 'engine'} (latest by default)."""
        if version is None:
            row = self.backend.one("SELECT * FROM minutes WHERE meeting_id = ? ORDER BY version DESC LIMIT 1",
                                   (meeting_id,))
        else:
            row = self.backend.one("SELECT * FROM minutes WHERE meeting_id = ? AND version = ?", (meeting_id, version))
        if not row:
            return None
        return {"minutes": schema.Minutes.from_dict(json.loads(row["minutes_json"])), "markdown": row["markdown"],
                "version": row["version"], "created_at": row["created_at"], "engine": row["engine"]}

