"""Pipeline jobs and incidents.

A job is one pipeline stage of one meeting (transcribe, diarize, speakers,
minutes, archive, send) and its state; ``voicebot.pipeline`` records each
attempt, and resumes the meetings with a stage not done. An incident is an error worth
telling an admin about, kept for ``voicebot status`` and the dashboard.
"""

from __future__ import annotations

from typing import Any

from voicebot.archive.base import ArchivePart
from voicebot.archive.times import now_iso

JOB_STATES = ("pending", "running", "done", "failed")


class Jobs(ArchivePart):
    """Pipeline stages per meeting, and incidents."""

    def set_stage(self, meeting_id: str, stage: str, state: str, *, error: str | None = None) -> None:
        """Record a pipeline stage's state; 'running' counts an attempt."""
        if state not in JOB_STATES:
            raise ValueError(f"job state {state!r} is not one of {JOB_STATES}")
        bump = 1 if state == "running" else 0
        self.backend.execute(
            "INSERT INTO jobs (meeting_id, stage, state, attempts, error, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (meeting_id, stage) DO UPDATE SET state = excluded.state, "
            "attempts = jobs.attempts + ?, error = excluded.error, updated_at = excluded.updated_at",
            (meeting_id, stage, state, bump, error, now_iso(), bump))

    def job_stages(self, meeting_id: str) -> dict[str, dict[str, Any]]:
        rows = self.backend.query("SELECT stage, state, attempts, error, updated_at FROM jobs WHERE meeting_id = ? "
                                  "ORDER BY updated_at, stage", (meeting_id,))
        return {r.pop("stage"): r for r in rows}

    def unfinished_jobs(self) -> list[str]:
        """Meetings with a stage not done (pending, running or failed), oldest first."""
        rows = self.backend.query("SELECT meeting_id, MIN(updated_at) AS since FROM jobs WHERE state <> 'done' "
                                  "GROUP BY meeting_id ORDER BY since, meeting_id")
        return [r["meeting_id"] for r in rows]

    def add_incident(self, meeting_id: str | None, stage: str, error: str, detail: str = "") -> int:
        row = self.backend.one("INSERT INTO incidents (meeting_id, stage, error, detail, created_at) "
                               "VALUES (?, ?, ?, ?, ?) RETURNING id", (meeting_id, stage, error, detail, now_iso()))
        return row["id"]  # type: ignore[index]

    def incidents(self, limit: int = 20) -> list[dict[str, Any]]:
        return self.backend.query("SELECT * FROM incidents ORDER BY created_at DESC, id DESC LIMIT ?", (int(limit),))

