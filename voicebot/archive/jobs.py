"""Pipeline jobs and incidents.

A job is one pipeline stage of one meeting (transcribe, diarize, speakers,
minutes, archive, send) and its state; ``voicebot.pipeline`` records each
attempt, and resumes the meetings with a stage not done. An incident is an error worth
telling an admin about, kept for ``voicebot status`` and the dashboard, with its timeline (what
happened to it, in order) and a note an admin writes afterwards.
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
        self.incident_event(row["id"], f"stage {stage} failed: {error}")  # type: ignore[index]
        return row["id"]  # type: ignore[index]

    def incident_event(self, incident_id: int, event: str) -> None:
        """One line of an incident's timeline (opened, who was told, over...), at this moment."""
        self.backend.execute("INSERT INTO incident_events (incident_id, at, event) VALUES (?, ?, ?)",
                             (incident_id, now_iso(), event[:1000]))

    def incident(self, incident_id: int) -> dict[str, Any] | None:
        """One incident with its ``timeline`` (events, oldest first); None when there is no such incident."""
        row = self.backend.one("SELECT * FROM incidents WHERE id = ?", (int(incident_id),))
        if row is None:
            return None
        row["timeline"] = self.backend.query("SELECT at, event FROM incident_events WHERE incident_id = ? "
                                             "ORDER BY id", (int(incident_id),))
        return row

    def set_incident_note(self, incident_id: int, note: str, by: str) -> None:
        """The post-incident note (what caused it, what was done), replacing the last one; in the timeline too."""
        note = note.strip()[:5000]
        self.backend.execute("UPDATE incidents SET note = ?, note_by = ?, note_at = ? WHERE id = ?",
                             (note, by, now_iso(), int(incident_id)))
        self.incident_event(incident_id, f"note {'written' if note else 'removed'} by {by}")

    def incidents(self, limit: int = 20) -> list[dict[str, Any]]:
        return self.backend.query("SELECT * FROM incidents ORDER BY created_at DESC, id DESC LIMIT ?", (int(limit),))

    # -- incidents of the service (voicebot.service): the broker, the workers ----------------------

    def open_service_incident(self, kind: str, error: str, detail: str = "") -> int | None:
        """Open the incident of a service ``kind``; its id, or None when one is open already (opened by
        this or another process: the unique index on open incidents is the arbiter)."""
        row = self.backend.one("INSERT INTO incidents (meeting_id, stage, error, detail, created_at, kind) "
                               "VALUES (NULL, 'service', ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                               (error, detail, now_iso(), kind))
        if row is None:
            return None
        self.incident_event(row["id"], f"opened: {error}" + (f" ({detail})" if detail else ""))
        return row["id"]

    def close_service_incident(self, kind: str) -> dict[str, Any] | None:
        """Close the open incident of a service ``kind``; the row closed, or None when none was open (or
        another process closed it first)."""
        row = self.backend.one("UPDATE incidents SET resolved_at = ? WHERE kind = ? AND resolved_at IS NULL "
                               "RETURNING *", (now_iso(), kind))
        if row is not None:
            self.incident_event(row["id"], "over")
        return row

    def service_incidents(self, limit: int = 20, *, open_only: bool = False) -> list[dict[str, Any]]:
        """Incidents of the service, newest first (``open_only``: those not resolved)."""
        extra = " AND resolved_at IS NULL" if open_only else ""
        return self.backend.query(f"SELECT * FROM incidents WHERE kind <> 'meeting'{extra} "
                                  "ORDER BY created_at DESC, id DESC LIMIT ?", (int(limit),))

