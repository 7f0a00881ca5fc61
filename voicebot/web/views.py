"""What the pages and the JSON API show, gathered once: both render these dicts.

Everything comes from the archive as the logged-in user may see it (``db`` is a
``voicebot.archive.access.MeetingView``: a meeting they may not see does not
exist for them); the audio file from the meeting's folder. Nothing here knows
about HTTP.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from voicebot import recordings, schema
from voicebot.errors import UserError

WEEKS_SHOWN = 12
RECENT_MEETINGS = 8
INCIDENTS_SHOWN = 10
JOBS_SHOWN = 20
SEARCH_LIMIT = 50
SEARCH_MAX = 500


class NotFound(UserError):
    """A meeting (or its audio, transcript, minutes) that is not there."""


def when(started_at: str | None) -> str:
    """'2026-11-24T09:30:12+01:00' -> '2026-11-24 09:30' (the meeting's own local time)."""
    return (started_at or "")[:16].replace("T", " ")


def moment_param(seconds: float) -> str:
    """Seconds as a URL's ?t= value: 754, 56.603 (milliseconds at most, no trailing zeros)."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def meeting_url(meeting_id: str, at: float | None = None) -> str:
    return f"/meetings/{meeting_id}" + (f"?t={moment_param(at)}" if at is not None else "")


# --- the dashboard -------------------------------------------------------------------------


def _local(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone() if moment.tzinfo else moment


def weekly_activity(meetings: list[dict[str, Any]], now: datetime, weeks: int = WEEKS_SHOWN) -> list[dict[str, Any]]:
    """Per week (Monday to Sunday, local time), the last ``weeks`` weeks: meetings recorded,
    meetings processed (transcribed), and hours transcribed."""
    today = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
    rows = [{"week": s.date().isoformat(), "recorded": 0, "processed": 0, "hours": 0.0} for s in starts]

    def slot(moment: datetime | None) -> dict[str, Any] | None:
        if moment is None or moment < starts[0]:
            return None
        index = (moment - starts[0]).days // 7
        return rows[index] if 0 <= index < weeks else None

    for meeting in meetings:
        recorded = slot(_local(meeting.get("started_at")))
        if recorded:
            recorded["recorded"] += 1
        processed = slot(_local(meeting.get("transcribed_at")))
        if processed:
            processed["processed"] += 1
            processed["hours"] += float(meeting.get("duration") or 0.0) / 3600
    for row in rows:
        row["hours"] = round(row["hours"], 2)
    return rows


def dashboard(db, now: datetime | None = None, *, checked=None) -> dict[str, Any]:
    """What ``voicebot status`` shows (voicebot.health.status: counts, unfinished jobs, incidents,
    recordings in progress, disk), plus activity per week, failed messages and recent meetings;
    for a member, about their meetings only (no incidents, messages or disk). For an admin of a team
    server, ``checked`` (voicebot.service.Health, the web server's last check): the workers, the queue and
    the service's incidents."""
    from voicebot import health

    now = now or datetime.now().astimezone()
    status = health.status(db.settings, now, incidents=INCIDENTS_SHOWN, viewer=db.viewer)
    jobs = []
    for meeting_id, stuck in list(status["unfinished"].items())[:JOBS_SHOWN]:
        row = db.get_meeting(meeting_id)
        jobs.append({"meeting_id": meeting_id, "title": (row or {}).get("title") or meeting_id,
                     "stage": stuck.get("stage"), "state": stuck.get("state"), "attempts": stuck.get("attempts", 0),
                     "error": stuck.get("error"), "updated_at": stuck.get("updated_at")})
    failed = [{"id": m.id, "meeting_id": m.meeting_id, "recipient": m.recipient, "kind": m.kind,
               "subject": m.subject, "attempts": m.attempts, "last_error": m.last_error}
              for m in db.outbox_list(status="failed")]
    stats = {k: v for k, v in status.items() if k not in ("unfinished", "incidents", "home")}
    return {
        "stats": stats,
        "weeks": weekly_activity(db.list_meetings(), now),  # processed lately may have been recorded long ago
        "jobs": jobs,
        "failed_messages": failed,
        "incidents": status["incidents"],
        "service": service_view(db, checked, status["unfinished"]) if db.viewer.admin else None,
        "recent": [meeting_card(m) for m in db.list_meetings(limit=RECENT_MEETINGS)],
    }


def service_view(db, checked, unfinished: dict[str, dict]) -> dict[str, Any] | None:
    """The admin's view of the processing service: workers, queue depth, the oldest meeting waiting,
    and the service's incidents (open and closed); None without a task queue."""
    if checked is None and not db.settings.queue.broker_url.strip():
        return None
    oldest = next(iter(unfinished.items()), None)
    return {"checked": checked is not None, "reachable": checked.reachable if checked else None,
            "waiting": checked.waiting if checked else None,
            "workers": checked.workers if checked else {},
            "oldest": {"meeting_id": oldest[0], "since": oldest[1].get("updated_at")} if oldest else None,
            "incidents": db.service_incidents(INCIDENTS_SHOWN)}


# --- meetings ------------------------------------------------------------------------------


def meeting_card(row: dict[str, Any]) -> dict[str, Any]:
    """A meeting row as shown (the server's folder path left out)."""
    keys = ("id", "title", "started_at", "ended_at", "duration", "language", "status", "speakers", "invitees",
            "has_transcript", "has_minutes", "transcribed_at", "purged_at")
    card = {k: row.get(k) for k in keys}
    card["title"] = card["title"] or row["id"]
    card["url"] = meeting_url(row["id"])
    return card


def get_row(db, meeting_id: str) -> dict[str, Any]:
    row = db.get_meeting(meeting_id) if recordings.is_meeting_id(meeting_id) else None
    if row is None:
        raise NotFound(f"no meeting {meeting_id!r} in the archive")
    return row


def meeting_folder(db, row: dict[str, Any]) -> Path:
    """The meeting's folder: the one the archive stored if it is named by the id, else recordings/<id>."""
    stored = Path(row["directory"]) if row.get("directory") else None
    if stored is not None and stored.name == row["id"] and stored.is_dir():
        return stored
    return recordings.meeting_dir(db.settings.recordings_dir, row["id"])


def live_transcript(db, meeting_id: str, after: int = 0) -> dict[str, Any]:
    """A meeting being recorded: the lines the live transcription has written (voicebot.live), from
    line ``after`` on; ``recording`` turns false when the recording ends, ``done`` once the
    transcript is in the archive (the page then shows it)."""
    from voicebot import live

    row = get_row(db, meeting_id)
    folder = meeting_folder(db, row)
    try:
        status = recordings.load_meeting(folder).status
    except UserError:
        status = row.get("status")
    segments = live.segments_so_far(folder)
    return {"recording": status == "recording", "done": bool(row.get("has_transcript")),
            "count": len(segments),
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in segments[max(after, 0):]]}


def audio_file(db, meeting_id: str) -> Path:
    row = get_row(db, meeting_id)
    path = meeting_folder(db, row) / recordings.AUDIO
    if not path.is_file():
        why = "was erased by the retention policy" if row.get("purged_at") else "is not there (yet)"
        raise NotFound(f"the audio of {meeting_id} {why}")
    return path


def segment_at(transcript: schema.Transcript | None, at: float | None) -> int | None:
    """Index of the segment being said at ``at`` seconds (or the next one after it)."""
    if transcript is None or at is None:
        return None
    for index, seg in enumerate(transcript.segments):
        if at < seg.end:
            return index
    return len(transcript.segments) - 1 if transcript.segments else None


def meeting_detail(db, meeting_id: str) -> dict[str, Any]:
    """A meeting with its minutes (latest version), transcript, speakers and files."""
    row = get_row(db, meeting_id)
    transcript = db.get_transcript(meeting_id)
    stored = db.get_minutes(meeting_id)
    minutes = None
    if stored:
        minutes = stored["minutes"].to_dict()
        minutes.update(version=stored["version"], created_at=stored["created_at"])
    speakers = list(dict.fromkeys([*(transcript.speakers if transcript else []), *(row.get("speakers") or [])]))
    has_audio = (meeting_folder(db, row) / recordings.AUDIO).is_file()
    downloads = {}
    if transcript is not None:
        downloads.update({fmt: f"/meetings/{meeting_id}/transcript.{fmt}" for fmt in ("txt", "srt", "vtt", "json")})
    if stored:
        downloads["md"] = f"/meetings/{meeting_id}/minutes.md"
    return {
        "meeting": meeting_card(row),
        "minutes": minutes,
        "transcript": transcript,
        "speakers": speakers,
        "talk_time": transcript.talk_time() if transcript else {},  # as the minutes count it
        "audio_url": f"/meetings/{meeting_id}/audio" if has_audio else None,
        "downloads": downloads,
        "jobs": db.job_stages(meeting_id),
        "shares": [s["user_name"] for s in db.meeting_shares(meeting_id)],
    }


def transcript_text(db, meeting_id: str, fmt: str) -> str:
    """The transcript as txt, srt, vtt or json (voicebot.formats, as the CLI exports it)."""
    from voicebot import formats

    if fmt not in formats.FORMATS:
        raise NotFound(f"no transcript format {fmt!r}; use one of {', '.join(formats.FORMATS)}")
    row = get_row(db, meeting_id)
    transcript = db.get_transcript(meeting_id)
    if transcript is None:
        why = "was erased by the retention policy" if row.get("purged_at") else "is not in the archive yet"
        raise NotFound(f"the transcript of {meeting_id} {why}")
    return formats.render(transcript, fmt)


def minutes_markdown(db, meeting_id: str) -> str:
    get_row(db, meeting_id)
    stored = db.get_minutes(meeting_id)
    if not stored:
        raise NotFound(f"meeting {meeting_id} has no minutes yet")
    return stored["markdown"]


# --- search --------------------------------------------------------------------------------


def search(db, q: str, *, speaker: str | None = None, meeting: str | None = None, since: str | None = None,
           until: str | None = None, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Archive search hits, each with the link that opens the meeting at that moment."""
    limit = max(1, min(int(limit), SEARCH_MAX))
    meeting_id = db.resolve_meeting(meeting) if meeting and meeting.strip() else None
    hits = db.search(q or "", speaker=(speaker or "").strip() or None, meeting=meeting_id,
                     since=(since or "").strip() or None, until=(until or "").strip() or None, limit=limit)
    results = []
    for hit in hits:
        data = hit.to_dict()
        data["url"] = meeting_url(hit.meeting_id, hit.start)
        results.append(data)
    return results


# --- ask ----------------------------------------------------------------------------------


def ask(db, q: str, *, speaker: str | None = None, meeting: str | None = None, since: str | None = None,
        until: str | None = None) -> dict[str, Any]:
    """An answer from the meetings this user may see (voicebot.ask), each citation with the link that
    plays its moment here."""
    from voicebot.ask import ask as answer_question

    meeting_id = db.resolve_meeting(meeting) if meeting and meeting.strip() else None
    answer = answer_question(db.settings, db, q, meeting=meeting_id, speaker=(speaker or "").strip() or None,
                             since=(since or "").strip() or None, until=(until or "").strip() or None).to_dict()
    for citation in answer["citations"]:
        citation["url"] = meeting_url(citation["meeting_id"], citation["start"])
    return answer
