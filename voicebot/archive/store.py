"""The archive: every meeting, transcript, person, minutes version, outgoing
message, pipeline job, incident and web user, in one database.

``open_archive(settings)`` opens SQLite (``<home>/voicebot.db``) or, when
``settings.database.url`` is set, PostgreSQL. ``Archive`` is one class made of
a part per concern, each in the module of its name:

    meetings.py   meetings, transcripts (segments), rename_speaker, minutes versions
    search.py     full-text search, speaker names
    vectors.py    passages and their vectors; retrieval by meaning, words, or both (ask)
    people.py     people and voiceprints; web users
    outbox.py     OutboxMessage and the outbox queue
    jobs.py       pipeline stages and incidents
    privacy.py    forget_meeting, forget_person, purge
    access.py     who may see which meeting (Viewer, MeetingView), owners, shares
    sessions.py   web logins and API tokens (server-side, revocable)

This module has what concerns the database as a whole: opening and closing,
transactions, stats, check and reindex. The SQL is portable; what differs
lives in ``backends.py``. Every multi-row write is one transaction. Times are
ISO 8601 UTC strings ("2026-11-24T09:30:12+00:00", ``times.py``); times inside
a recording are seconds (floats).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from voicebot.archive.access import Access, Viewer
from voicebot.archive.backends import Backend, PostgresBackend, SQLiteBackend
from voicebot.archive.jobs import Jobs
from voicebot.archive.meetings import Meetings
from voicebot.archive.outbox import Outbox
from voicebot.archive.people import People, WebUsers
from voicebot.archive.privacy import Privacy
from voicebot.archive.search import Search
from voicebot.archive.sessions import Sessions
from voicebot.archive.times import iso
from voicebot.archive.vectors import Vectors
from voicebot.config import Settings
from voicebot.errors import UserError


class Archive(Meetings, Privacy, Vectors, Search, People, Outbox, Jobs, WebUsers, Access, Sessions):
    """The archive database. Use ``with open_archive(settings) as db:``."""

    def __init__(self, backend: Backend, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings
        self.schema_version = backend.migrate()
        if 3 in backend.applied:  # the access rule's index of each meeting's people, for meetings from before
            self.refresh_meeting_people()

    # context manager ---------------------------------------------------------------
    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.backend.close()

    @property
    def kind(self) -> str:
        return self.backend.name

    def transaction(self) -> AbstractContextManager[None]:
        """``with db.transaction():`` groups several calls into one transaction (all or nothing;
        one commit, so bulk imports are fast). Calls inside join it."""
        return self.backend.transaction()

    def describe(self) -> str:
        return self.backend.describe()

    # health -------------------------------------------------------------------------------------
    def stats(self, now: datetime | None = None, *, viewer: Viewer | None = None) -> dict[str, Any]:
        """Counts for `voicebot status` and the web dashboard (days and weeks in ``now``'s timezone).
        ``viewer``: a member's figures count only the meetings they may see, and leave out the
        server's own business (outbox, incidents, people, where the database is)."""
        now = now or datetime.now().astimezone()
        if now.tzinfo is None:
            now = now.astimezone()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        week = today - timedelta(days=today.weekday())
        t, w = iso(today), iso(week)
        b = self.backend
        member = viewer is not None and not viewer.admin
        visible, vp = self.visible_sql(viewer) if member else ("1 = 1", [])  # type: ignore[arg-type]
        count = lambda sql, *p: int(b.value(sql, (*p, *vp)) or 0)  # noqa: E731
        mine = f"FROM meetings m WHERE {visible}"
        jobs_sql = "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state" if not member else (
            f"SELECT j.state, COUNT(*) AS n FROM jobs j JOIN meetings m ON m.id = j.meeting_id WHERE {visible} "
            "GROUP BY j.state")
        jobs = {r["state"]: r["n"] for r in b.query(jobs_sql, vp)}
        outbox = {} if member else {r["status"]: r["n"] for r in b.query(
            "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")}
        stats = {
            "meetings_total": count(f"SELECT COUNT(*) AS n {mine}"),
            "recorded_today": count(f"SELECT COUNT(*) AS n FROM meetings m WHERE m.started_utc >= ? AND {visible}", t),
            "recorded_this_week": count(f"SELECT COUNT(*) AS n FROM meetings m WHERE m.started_utc >= ? AND {visible}",
                                        w),
            "processed_today": count(f"SELECT COUNT(*) AS n FROM meetings m WHERE m.transcribed_at >= ? AND {visible}",
                                     t),
            "processed_this_week": count("SELECT COUNT(*) AS n FROM meetings m WHERE m.transcribed_at >= ? "
                                         f"AND {visible}", w),
            "jobs_running": int(jobs.get("running", 0)),
            "jobs_pending": int(jobs.get("pending", 0)),
            "jobs_failed": int(jobs.get("failed", 0)),
            "outbox_pending": int(outbox.get("pending", 0)),
            "outbox_failed": int(outbox.get("failed", 0)),
            "outbox_sent": int(outbox.get("sent", 0)),
            "hours_transcribed": round(float(b.value(
                "SELECT COALESCE(SUM(m.duration), 0) AS s FROM meetings m WHERE m.transcribed_at IS NOT NULL "
                f"AND m.purged_at IS NULL AND {visible}", vp) or 0) / 3600, 2),
            "segments": count("SELECT COUNT(*) AS n FROM segments" if not member else
                              f"SELECT COUNT(*) AS n FROM segments s JOIN meetings m ON m.id = s.meeting_id "
                              f"WHERE {visible}"),
        }
        if member:
            return {**stats, "people": 0, "incidents_this_week": 0, "database": self.backend.name, "database_bytes": 0}
        return {**stats,
                "people": int(b.value("SELECT COUNT(*) AS n FROM people") or 0),
                "incidents_this_week": int(b.value("SELECT COUNT(*) AS n FROM incidents WHERE created_at >= ?",
                                                   (w,)) or 0),
                "database": self.backend.describe(),
                "database_bytes": self.backend.size_bytes()}

    def check(self) -> list[str]:
        """Problems found in the database (empty: all fine)."""
        return self.backend.check()

    def reindex(self) -> None:
        """Rebuild the full-text index from the stored segments (after a damaged-index report)."""
        self.backend.rebuild_index()

def open_archive(settings: Settings) -> Archive:
    """The archive of these settings: PostgreSQL when settings.database.url is set, else the
    SQLite file settings.database_path. Migrations are applied on opening."""
    url = (settings.database.url or "").strip()
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise UserError(f"database url {url.split(':', 1)[0]}:... is not supported; use postgresql://... "
                            "or leave VOICEBOT_DATABASE_URL empty for the SQLite file")
        backend: Backend = PostgresBackend(url)
    else:
        backend = SQLiteBackend(settings.database_path)
    try:
        return Archive(backend, settings)
    except BaseException:
        backend.close()
        raise
