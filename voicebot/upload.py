"""Meetings recorded on one machine, processed on a team server: both ends of an upload.

The laptop (``voicebot upload FILE|RECORDING_ID --server URL --token T``) sends a
recording's audio as the API token's user, in pieces of 4 MB (``PUT
/api/uploads/<sha256>/pieces/<n>``, each stored as it arrives, the same piece again
replacing it), then finishes the upload (``POST /api/uploads/<sha256>/finish``, with
the title, invite list, date): the server puts the pieces together and checks them
against the sha256. While the server cannot be reached or answers 5xx it tries
again (up to ``retry_for`` seconds), each time from the pieces the server already
has; it never touches the local file. ``POST /api/uploads`` takes a whole file in
one request (scripts, curl).

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


class TooLarge(UserError):
    """An upload past ``web.max_upload_mb`` (the web answers 413)."""


class PiecesMissing(UserError):
    """An upload finished before all its pieces arrived, or with pieces that do not make its file (the web
    answers 409: send them)."""


PIECE_BYTES = 4 * 1024 * 1024  # what `voicebot upload` sends in one request
MAX_PIECE_BYTES = 16 * 1024 * 1024  # the largest piece the server takes
INVITATION = "invitation.ics"


def receive(settings: Settings, viewer, audio: Path, *, title: str = "", invite: str = "", ics: bytes | None = None,
            language: str = "", recorded_at: str = "") -> dict:
    """A meeting from an uploaded audio file (in a folder of its own, which the caller removes), owned by
    ``viewer`` (voicebot.archive.access.Viewer), and its processing started; {"meeting_id", "reused",
    "processing": "queue" | "server"}. Raises UserError for bad input and QueueUnavailable when the queue cannot
    be reached (the meeting is kept; the same upload again queues it)."""
    from voicebot import invites, pipeline
    from voicebot.errors import AudioError
    from voicebot.invites import MAX_ICS_BYTES

    calendar = None
    if ics:
        calendar = audio.parent / INVITATION
        calendar.write_bytes(ics[:MAX_ICS_BYTES + 1])  # a larger one is refused when read
    invitation = invites.collect([invite] if invite.strip() else [], calendar) if (invite.strip() or ics) else None
    date_file(audio, recorded_at)
    language = language.strip().lower() or None
    try:
        meeting, reused = pipeline.import_or_reuse(settings, audio, title=title, invitation=invitation,
                                                   language=language, viewer=viewer)
    except AudioError as exc:  # said with the uploaded file's name, not the server's temporary path
        raise UserError(str(exc).replace(str(audio.resolve()), audio.name).replace(str(audio), audio.name)) from None
    if reused:
        _adopt(settings, viewer, meeting.id)
    start_processing(settings, meeting.id)
    return {"meeting_id": meeting.id, "reused": reused,
            "processing": "queue" if settings.queue.broker_url.strip() else "server"}


def _adopt(settings: Settings, viewer, meeting_id: str) -> None:
    """A meeting the uploader may see but nobody organised (imported by the command line) becomes theirs."""
    from voicebot.archive import open_archive

    with open_archive(settings) as db, db.transaction():
        row = db.get_meeting(meeting_id)
        if row is not None and not row.get("owner"):
            db.set_owner(meeting_id, viewer.name)


def limit_bytes(settings: Settings) -> int:
    return settings.web.max_upload_mb * 1024 * 1024


def too_large(settings: Settings) -> TooLarge:
    return TooLarge(f"the file is larger than {settings.web.max_upload_mb} MB (web.max_upload_mb)")


# Pieces: a large file goes in pieces, each stored as it arrives, so an upload cut off resumes where it stopped.
# The upload's id is the sha256 of the whole file: the pieces of one user's upload of one file meet in one folder,
# and the assembled file is checked against it.


def user_folder(settings: Settings, viewer, kind: str) -> Path:
    """Where the server keeps a user's uploads in progress of one kind ("pieces", "recordings"): one folder
    per user, so one user's upload never meets another's."""
    import hashlib

    return settings.home / "uploads" / kind / hashlib.sha256(viewer.name.encode("utf-8")).hexdigest()[:16]


SWEEP_EVERY = 3600.0  # seconds between two looks for abandoned uploads in one process
_swept = {"at": float("-inf")}


def sweep_abandoned(settings: Settings, *, now: float | None = None) -> int:
    """Shred the uploads in progress (pieces of a file, pieces of a recording) that got no piece for
    ``web.abandoned_upload_days``: audio is personal data, and an upload nobody finishes would stay for
    ever. Their sender keeps the audio (nothing is deleted on a laptop before the server confirms it
    has the whole), so a late finish is answered "send the pieces" and goes on. The number removed."""
    from voicebot.archive.erase import shred_tree

    days = settings.web.abandoned_upload_days
    if days <= 0:
        return 0
    cutoff = (time.time() if now is None else now) - days * 86400
    removed = 0
    for upload in (settings.home / "uploads").glob("*/*/*"):
        if not upload.is_dir() or upload.is_symlink():
            continue
        newest = max((p.stat().st_mtime for p in upload.rglob("*") if p.is_file()), default=upload.stat().st_mtime)
        if newest < cutoff:
            shred_tree(upload)
            removed += 1
            log.info("upload %s abandoned since %s: removed", upload.name, time.ctime(newest))
    return removed


def sweep_now_and_then(settings: Settings) -> None:
    """``sweep_abandoned`` at most once per ``SWEEP_EVERY`` in this process (called as pieces arrive)."""
    now = time.monotonic()
    if now - _swept["at"] >= SWEEP_EVERY:
        _swept["at"] = now
        try:
            sweep_abandoned(settings)
        except OSError as exc:  # a folder removed under us: the next sweep looks again
            log.warning("sweeping abandoned uploads: %s", exc)


def _pieces_dir(settings: Settings, viewer, digest: str) -> Path:
    import re

    if not re.fullmatch(r"[0-9a-f]{64}", digest or ""):
        raise UserError("an upload's id is the sha256 of the whole file, 64 lower-case hexadecimal digits")
    return user_folder(settings, viewer, "pieces") / digest


def _piece(folder: Path, number: int) -> Path:
    return folder / f"{number:06d}.piece"


def pieces_held(settings: Settings, viewer, digest: str) -> list[int]:
    """The piece numbers of an upload the server has."""
    folder = _pieces_dir(settings, viewer, digest)
    return sorted(int(p.stem) for p in folder.glob("*.piece")) if folder.is_dir() else []


def store_piece(settings: Settings, viewer, digest: str, number: int, data: bytes) -> None:
    """Keep piece ``number`` of an upload (written atomically; the same piece again replaces it)."""
    from voicebot.fsutil import atomic_write

    folder = _pieces_dir(settings, viewer, digest)
    if not data:
        raise UserError(f"piece {number} is empty")
    if len(data) > MAX_PIECE_BYTES:
        raise TooLarge(f"a piece is at most {MAX_PIECE_BYTES // 2**20} MB")
    held = sum(p.stat().st_size for p in folder.glob("*.piece") if p != _piece(folder, number)) if folder.is_dir() \
        else 0
    if held + len(data) > limit_bytes(settings):
        raise too_large(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(_piece(folder, number), data)
    sweep_now_and_then(settings)


def finish(settings: Settings, viewer, digest: str, pieces: int, *, filename: str = "", **meeting) -> dict:
    """Pieces 0..pieces-1 of an upload put together, checked against its sha256, then ``receive``d; the pieces
    are removed once the meeting is stored and queued. PiecesMissing names the pieces not there (some were never
    sent, or the upload was finished already); pieces that do not make the file of that sha256 are dropped, and
    PiecesMissing says to send them again."""
    import hashlib
    import shutil
    import tempfile

    from voicebot.fsutil import exclusive_lock

    folder = _pieces_dir(settings, viewer, digest)
    if pieces < 1:
        raise UserError("an upload has at least one piece")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with exclusive_lock(folder.parent / f".{digest}.lock", wait=True):  # one finish of an upload at a time
        missing = [n for n in range(pieces) if not _piece(folder, n).is_file()]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise PiecesMissing(f"pieces missing: {shown} (of {pieces}); send them, then finish again")
        if sum(_piece(folder, n).stat().st_size for n in range(pieces)) > limit_bytes(settings):
            raise too_large(settings)
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            audio = Path(tmp) / safe_name(filename)
            hashed = hashlib.sha256()
            with audio.open("wb") as out:
                for n in range(pieces):
                    data = _piece(folder, n).read_bytes()
                    hashed.update(data)
                    out.write(data)
            if hashed.hexdigest() != digest:
                shutil.rmtree(folder, ignore_errors=True)
                raise PiecesMissing("the pieces do not make the file announced (its sha256 differs); they were "
                                    "dropped: send them again")
            result = receive(settings, viewer, audio, **meeting)
        shutil.rmtree(folder, ignore_errors=True)  # the meeting has the audio now
    return result


def date_file(path: Path, recorded_at: str) -> None:
    """Give an uploaded file the time of its recording on the laptop (the import reads the meeting's date from
    the file when there is no invitation, as for a local file); UserError unless ``recorded_at`` is empty or an
    ISO 8601 time with its offset."""
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


def safe_name(filename: str | None) -> str:
    """An uploaded file's name as a plain file name of at most 100 characters (``audio`` when it has none)."""
    name = Path(filename or "").name
    stem = "".join(c if c.isalnum() or c in "-_ " else "-" for c in Path(name).stem).strip(" -")[:90] or "audio"
    suffix = "".join(c for c in Path(name).suffix if c.isalnum() or c == ".")[:10]
    return stem + suffix


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
         piece_bytes: int = PIECE_BYTES, on_retry=None, on_piece=None) -> Sent:
    """Upload an audio file to a voicebot server as the token's user, in pieces: ask which pieces the server
    has, send the others, then finish (the server checks the whole against its sha256, stores and queues the
    meeting). While the server cannot be reached, fails (5xx) or lost pieces (409), try again, for up to
    ``retry_for`` seconds, each time from the pieces it has. A refusal (4xx) raises UserError with the server's
    reason. ``recorded_at`` (ISO 8601): when it was recorded (default: the file's modification time).
    ``on_retry(attempt, reason, wait)`` hears of each failed attempt, ``on_piece(number, count)`` of each piece
    the server took. The file is only read."""
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
    digest, size = _digest(path), path.stat().st_size
    count = max(1, -(-size // piece_bytes))
    data = {"title": title, "invite": invite, "language": language, "recorded_at": recorded, "pieces": str(count),
            "filename": path.name}
    deadline = time.monotonic() + max(0.0, retry_for)
    attempt = 0
    with httpx.Client(base_url=base, timeout=httpx.Timeout(60.0, connect=10.0),
                      headers={"Authorization": f"Bearer {token.strip()}"}) as client:
        while True:
            attempt += 1
            try:
                answer = _send_once(client, path, digest, count, piece_bytes, data, ics, on_piece)
                reason = None
                if answer.status_code >= 500 or answer.status_code == 409:
                    reason = f"the server answered {answer.status_code}: {answer_detail(answer)}"
            except httpx.HTTPError as exc:
                reason = unreachable(base, exc)
            if reason is None:
                break
            wait = min(pause * 2 ** min(attempt - 1, 6), 300.0)
            if time.monotonic() + wait > deadline:
                raise UserError(f"{reason}; gave up after {attempt} attempts (the file is untouched: run the "
                                "same command again, it goes on from the pieces the server has)")
            if on_retry is not None:
                on_retry(attempt, reason, wait)
            time.sleep(wait)
    if answer.status_code >= 400:
        raise UserError(f"the server refused the upload ({answer.status_code}): {answer_detail(answer)}")
    body = answer.json()
    return Sent(body["meeting_id"], bool(body.get("reused")), str(body.get("processing", "")), attempt,
                f"{base}/meetings/{body['meeting_id']}")


def _send_once(client, path: Path, digest: str, count: int, piece_bytes: int, data: dict, ics: Path | None,
               on_piece):
    """One try: the pieces the server lacks, then finish; the first answer that is not a success, else finish's."""
    answer = client.get(f"{ROUTE}/{digest}")
    if answer.status_code >= 400:
        return answer
    held = set(answer.json().get("pieces", []))
    with path.open("rb") as audio:
        for number in range(count):
            if number in held:
                continue
            audio.seek(number * piece_bytes)
            answer = client.put(f"{ROUTE}/{digest}/pieces/{number}", content=audio.read(piece_bytes),
                                headers={"Content-Type": "application/octet-stream"})
            if answer.status_code >= 400:
                return answer
            if on_piece is not None:
                on_piece(number, count)
    return post_finish(client, f"{ROUTE}/{digest}/finish", data, ics)


def post_finish(client, url: str, data: dict, ics: Path | None):
    """POST the form that finishes an upload, with the invitation file when there is one."""
    with Path(ics).open("rb") if ics else nullcontext() as calendar:
        files = {"ics": (Path(ics).name, calendar, "text/calendar")} if calendar is not None else None
        return client.post(url, data=data, files=files)


def unreachable(base: str, exc: Exception) -> str:
    """Why a server could not be reached, in one line."""
    return f"cannot reach {base}: {' '.join(str(exc).split()) or type(exc).__name__}"


def _digest(path: Path) -> str:
    import hashlib

    hashed = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            hashed.update(block)
    return hashed.hexdigest()


def answer_detail(answer) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = answer.text
    if isinstance(detail, list):  # FastAPI's validation errors
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in detail)
    return " ".join(str(detail or "").split())[:300]
