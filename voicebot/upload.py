"""Meetings recorded on one machine, processed on a team server: both ends of an upload.

The laptop (``voicebot upload FILE --server URL --token T``) sends a recording's
audio, with its title and invite list, to ``POST /api/uploads`` as the API token's
user; it tries again while the server cannot be reached or answers 5xx (up to
``retry_for`` seconds) and never touches the local file.

The server (``receive``) imports the audio as ``voicebot process`` does
(``pipeline.import_or_reuse``: converted to 16 kHz FLAC, checked, recognised by the
hash of its samples), so the same recording uploaded twice is one meeting: a
retried upload is harmless. The uploader becomes the meeting's owner (a user
uploads only as themselves); a meeting uploaded again keeps its title and invite
list. Then the meeting's job goes on the task queue
(``voicebot.queue``) or, with no broker set, the web server runs the pipeline
itself in a background thread. Audio the same as a meeting the uploader may not
see makes a meeting of its own (nothing of the other one shows), and nobody is
mailed the same recording's minutes twice either way.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from voicebot.config import Settings
from voicebot.errors import UserError

ROUTE = "/api/uploads"
log = logging.getLogger("voicebot.upload")


# --- the server's end ---------------------------------------------------------------------------


def receive(settings: Settings, viewer, audio: Path, *, title: str = "", invite: str = "",
            ics: Path | None = None, language: str = "") -> dict:
    """A meeting from an uploaded audio file, owned by ``viewer`` (voicebot.archive.access.Viewer), and its
    processing started; {"meeting_id", "reused", "processing": "queue" | "server"}. Raises UserError for
    bad input and QueueUnavailable when the queue cannot be reached (the meeting is kept; try again)."""
    from voicebot import invites, pipeline
    from voicebot.archive import open_archive
    from voicebot.errors import AudioError

    invitation = invites.collect([invite] if invite.strip() else [], ics) if (invite.strip() or ics) else None
    language = language.strip().lower() or None
    try:
        meeting, reused = pipeline.import_or_reuse(settings, audio, title=title, invitation=invitation,
                                                   language=language, viewer=viewer)
    except AudioError as exc:  # said with the uploaded file's name, not the server's temporary path
        raise UserError(str(exc).replace(str(audio.resolve()), audio.name).replace(str(audio), audio.name)) from None
    with open_archive(settings) as db:
        with db.transaction():
            row = db.get_meeting(meeting.id)
            if row is None or not row.get("owner"):
                db.set_owner(meeting.id, viewer.name)
    start_processing(settings, meeting.id)
    return {"meeting_id": meeting.id, "reused": reused,
            "processing": "queue" if settings.queue.broker_url.strip() else "server"}


def safe_name(filename: str | None) -> str:
    """An uploaded file's name as a plain file name of at most 100 characters (``audio`` when it has none)."""
    name = Path(filename or "").name
    stem = "".join(c if c.isalnum() or c in "-_ " else "-" for c in Path(name).stem).strip(" -")[:90] or "audio"
    suffix = "".join(c for c in Path(name).suffix if c.isalnum() or c == ".")[:10]
    return stem + suffix


def date_file(path: Path, recorded_at: str) -> None:
    """Give an uploaded file the time of its recording on the laptop (the import reads the meeting's date from
    the file when there is no invitation, as for a local file); UserError unless ``recorded_at`` is empty or an ISO 8601 time with its offset."""
    from datetime import datetime

    if not recorded_at.strip():
        return
    try:
        when = datetime.fromisoformat(recorded_at.strip())
    except ValueError:
        raise UserError(f"recorded_at {recorded_at!r} is not an ISO 8601 time like 2026-11-24T09:30:00+01:00") from None
    if when.tzinfo is None:
        raise UserError(f"recorded_at {recorded_at!r} needs its offset from UTC, like 2026-11-24T09:30:00+01:00")
    os.utime(path, (when.timestamp(), when.timestamp()))


def start_processing(settings: Settings, meeting_id: str) -> None:
    """The meeting's job on the task queue; without a broker, the pipeline in a thread of this process."""
    from voicebot import queue

    if settings.queue.broker_url.strip():
        queue.enqueue(settings, meeting_id)
        return
    threading.Thread(target=_process_here, args=(settings, meeting_id), name=f"pipeline-{meeting_id}",
                     daemon=True).start()


def _process_here(settings: Settings, meeting_id: str) -> None:
    from voicebot import pipeline

    try:
        pipeline.process(settings, meeting_id, force=False)
    except UserError as exc:  # recorded in its job (StageFailed) or another process has it (Busy)
        log.warning("%s", exc)


# --- the laptop's end ---------------------------------------------------------------------------


@dataclass
class Sent:
    meeting_id: str
    reused: bool
    processing: str
    attempts: int
    url: str


def recording(settings: Settings, meeting_id: str) -> tuple[Path, dict]:
    """A meeting recorded on this machine, as what ``send`` takes: its audio file, and its title, invite list,
    language and start (``recorded_at``). UserError while it is still being recorded or has no audio."""
    from email.utils import formataddr

    from voicebot import pipeline, recordings

    directory = recordings.meeting_dir(settings.recordings_dir, meeting_id)
    if not directory.is_dir():
        raise UserError(f"no meeting {meeting_id} under {settings.recordings_dir}; `voicebot meetings list` shows them")
    meeting = recordings.load_meeting(directory)
    audio = directory / recordings.AUDIO
    if meeting.status not in pipeline.PROCESSABLE or not audio.is_file():
        raise UserError(f"meeting {meeting_id} is {meeting.status!r}: its audio is not complete yet (`voicebot stop` "
                        "ends a recording, `voicebot recover` repairs one a crash left)")
    people = [formataddr((p.name, p.email)) if p.email else '"' + p.name.replace('"', "") + '"'
              for p in meeting.invitees]
    return audio, {"title": meeting.title, "invite": ", ".join(people), "language": meeting.language or "",
                   "recorded_at": meeting.started_at}


def send(path: Path, *, server: str, token: str, title: str = "", invite: str = "", ics: Path | None = None,
         language: str = "", recorded_at: str = "", retry_for: float = 3600.0, pause: float = 5.0,
         on_retry=None) -> Sent:
    """Upload an audio file to a voicebot server as the token's user; try again while the server is away or
    failing (5xx), for up to ``retry_for`` seconds. A refusal (4xx) raises UserError with the server's reason.
    ``recorded_at`` (ISO 8601): when it was recorded (default: the file's modification time).
    ``on_retry(attempt, reason, wait)`` hears of each failed attempt."""
    import httpx

    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if ics is not None and not Path(ics).is_file():
        raise UserError(f"--ics {ics}: no such file")
    base = server.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UserError(f"--server {server!r}: give the server's address, like https://voicebot.example.org")
    if not token.strip():
        raise UserError("an API token is needed: `voicebot users token NAME` on the server makes one")
    from datetime import datetime

    recorded = recorded_at or datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="seconds")
    data = {"title": title, "invite": invite, "language": language, "recorded_at": recorded}
    deadline = time.monotonic() + max(0.0, retry_for)
    attempt = 0
    with httpx.Client(base_url=base, timeout=httpx.Timeout(60.0, connect=10.0),
                      headers={"Authorization": f"Bearer {token.strip()}"}) as client:
        while True:
            attempt += 1
            try:
                with path.open("rb") as audio, (Path(ics).open("rb") if ics else nullcontext()) as calendar:
                    files = {"audio": (path.name, audio, "application/octet-stream")}
                    if calendar is not None:
                        files["ics"] = (Path(ics).name, calendar, "text/calendar")
                    answer = client.post(ROUTE, data=data, files=files)
                reason = None if answer.status_code < 500 else f"the server answered {answer.status_code}: " \
                                                                 f"{_detail(answer)}"
            except httpx.HTTPError as exc:
                reason = f"cannot reach {base}: {' '.join(str(exc).split()) or type(exc).__name__}"
            if reason is None:
                break
            wait = min(pause * 2 ** min(attempt - 1, 6), 300.0)
            if time.monotonic() + wait > deadline:
                raise UserError(f"{reason}; gave up after {attempt} attempts (the file is untouched: run the "
                                "same command again)")
            if on_retry is not None:
                on_retry(attempt, reason, wait)
            time.sleep(wait)
    if answer.status_code >= 400:
        raise UserError(f"the server refused the upload ({answer.status_code}): {_detail(answer)}")
    body = answer.json()
    return Sent(body["meeting_id"], bool(body.get("reused")), str(body.get("processing", "")), attempt,
                f"{base}/meetings/{body['meeting_id']}")


def _detail(answer) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = answer.text
    if isinstance(detail, list):  # FastAPI's validation errors
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in detail)
    return " ".join(str(detail or "").split())[:300]
