"""The JSON API under /api/ (the same data as the pages), and the files: a meeting's
audio (with HTTP Range requests, so a player can seek) and its downloads."""

from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from voicebot import schema
from voicebot.speakers import Renamed
from voicebot.web import views
from voicebot.web.deps import get_db

router = APIRouter(prefix="/api", tags=["api"])
files = APIRouter(tags=["files"])

NOT_FOUND = {404: {"description": "No such meeting (or it has no such file)"}}


# --- response models ----------------------------------------------------------------------


class SessionOut(BaseModel):
    user: str = Field(description="The logged-in user")
    role: str = Field(description="admin (sees every meeting, manages users) or member (sees their meetings)")
    csrf_token: Optional[str] = Field(description="Send it as X-CSRF-Token with every POST made with the "
                                                  "session cookie (null with an API token, which needs none)")


class Invitee(BaseModel):
    name: str
    email: Optional[str] = None
    role: str = "attendee"


class MeetingCard(BaseModel):
    id: str = Field(description="Meeting id, e.g. 20261124-093012-weekly-sync-3f9a")
    title: str
    started_at: str = Field(description="ISO 8601, in the meeting's own time zone")
    ended_at: Optional[str] = None
    duration: Optional[float] = Field(None, description="Seconds")
    language: Optional[str] = None
    status: Optional[str] = None
    speakers: list[str] = []
    invitees: list[Invitee] = []
    has_transcript: bool
    has_minutes: bool
    transcribed_at: Optional[str] = None
    purged_at: Optional[str] = Field(None, description="Set when the retention policy erased audio and transcript")
    url: str = Field(description="The meeting's page")


class Week(BaseModel):
    week: str = Field(description="The Monday starting the week (YYYY-MM-DD)")
    recorded: int
    processed: int
    hours: float = Field(description="Hours of audio transcribed that week")


class Stats(BaseModel):
    model_config = ConfigDict(extra="allow")
    recording_now: list[str] = Field(description="Meetings being recorded at this moment")
    recordings_bytes: Optional[int] = Field(description="Disk used by recordings/ (audio and artifacts); "
                                                        "null for a member")
    free_bytes: Optional[int] = Field(description="Free disk space where the home folder is; null for a member")
    meetings_total: int
    recorded_today: int
    recorded_this_week: int
    processed_today: int
    processed_this_week: int
    jobs_running: int
    jobs_pending: int
    jobs_failed: int
    outbox_pending: int
    outbox_failed: int
    outbox_sent: int
    hours_transcribed: float
    incidents_this_week: int


class Job(BaseModel):
    meeting_id: str
    title: str
    stage: Optional[str] = Field(description="The first stage not done")
    state: Optional[str] = Field(description="pending, running or failed")
    attempts: int = 0
    error: Optional[str] = None
    updated_at: Optional[str] = None


class FailedMessage(BaseModel):
    id: int
    meeting_id: Optional[str]
    recipient: str
    kind: str
    subject: str
    attempts: int
    last_error: Optional[str]


class Incident(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    meeting_id: Optional[str]
    stage: str
    error: str
    detail: Optional[str] = None
    created_at: str


class Status(BaseModel):
    stats: Stats
    weeks: list[Week] = Field(description="Meetings recorded and processed per week, oldest first")
    jobs: list[Job] = Field(description="Meetings whose processing is not finished, with the stage they are at")
    failed_messages: list[FailedMessage]
    incidents: list[Incident] = Field(description="Most recent first")
    recent: list[MeetingCard]


class MeetingDetail(BaseModel):
    meeting: MeetingCard
    minutes: Optional[schema.Minutes] = Field(description="The latest minutes, null when none were drafted")
    minutes_version: Optional[int] = None
    speakers: list[str]
    talk_time: dict[str, float] = Field(description="Seconds spoken per speaker")
    audio_url: Optional[str] = Field(description="The audio (FLAC; Range requests supported), null when not kept")
    downloads: dict[str, str] = Field(description="Format (txt, srt, vtt, json, md) -> URL")
    transcript_url: str
    shares: list[str] = Field(description="The users this meeting was shared with")


class LiveLine(BaseModel):
    start: float = Field(description="Seconds into the recording")
    end: float
    text: str


class LiveTranscript(BaseModel):
    recording: bool = Field(description="The meeting is being recorded now")
    done: bool = Field(description="The final transcript is in the archive (GET .../transcript)")
    count: int = Field(description="Lines transcribed so far; ask again with ?after=count for the new ones")
    segments: list[LiveLine] = Field(description="The lines from ?after= on")


class SearchHit(BaseModel):
    meeting_id: str
    title: str
    started_at: str
    speaker: Optional[str]
    start: float = Field(description="Seconds into the recording")
    end: float
    text: str
    snippet: str = Field(description="The words around the hit, each matching word wrapped in [ and ]")
    fragments: list[tuple[str, bool]] = Field(description="The snippet as (text, is_hit) pieces")
    score: float
    url: str = Field(description="The meeting's page, opened at this moment (?t=seconds)")


class AskCitation(BaseModel):
    number: int = Field(description="The passage number the claims cite")
    meeting_id: str
    title: str
    started_at: str
    speakers: list[str]
    start: float = Field(description="Seconds into the recording")
    end: float
    text: str = Field(description="What was said there")
    link: str = Field(description="The meeting's page at that moment, on the configured web address")
    url: str = Field(description="The same page, relative to this server (?t=seconds)")


class AskClaim(BaseModel):
    text: str
    citations: list[int] = Field(description="Numbers of the citations that say it")


class AskAnswer(BaseModel):
    question: str
    language: str = Field(description="fr or en: the question's, the answer's")
    found: bool = Field(description="False: the meetings this user may see do not answer it")
    engine: str = Field(description="llama (claims by the local model) or passages (the best passages alone)")
    text: str = Field(description="The answer with [n] citation marks, or that it was not found")
    claims: list[AskClaim]
    citations: list[AskCitation]
    note: str
    seconds: dict[str, float]


class RenameIn(BaseModel):
    old: str = Field(max_length=200, description="The speaker as shown now, e.g. 'Speaker 2'")
    new: str = Field(max_length=200, description="Their name, e.g. 'Claire'")
    enroll: bool = Field(False, description="Also store this speaker's voice as the new name's voiceprint (a "
                                            "member may enroll only their own voice)")


class ShareIn(BaseModel):
    user: str = Field(max_length=64, description="The web user who may see the meeting from now on")


class Shared(BaseModel):
    meeting_id: str
    shares: list[str]


class TokenOut(BaseModel):
    token_id: str = Field(description="The beginning of the token's id (what `voicebot users tokens` shows)")
    user_name: str
    label: str
    created_at: str
    expires_at: str
    revoked_at: Optional[str] = None
    live: bool


class UploadOut(BaseModel):
    meeting_id: str = Field(description="The meeting the audio became (the same one when it was uploaded before)")
    reused: bool = Field(description="The same recording was uploaded before: its meeting goes on")
    processing: str = Field(description="queue (a worker will process it) or server (this server processes it)")
    url: str = Field(description="The meeting's page")


# --- the API --------------------------------------------------------------------------------


@router.get("/session", response_model=SessionOut)
def session(request: Request) -> Any:
    """Who is logged in, and the CSRF token for POSTs made with the session cookie."""
    by_token = request.state.by_token
    return {"user": request.state.user.name, "role": request.state.user.role,
            "csrf_token": None if by_token else request.state.session.csrf_token}


@router.get("/status", response_model=Status)
def status(db=Depends(get_db)) -> Any:
    """The dashboard: what `voicebot status` shows (counts today and this week, jobs, outbox,
    incidents), activity per week, and the latest meetings."""
    return views.dashboard(db)


@router.get("/meetings", response_model=list[MeetingCard])
def meetings(since: Optional[str] = Query(None, description="Only meetings on or after this date (YYYY-MM-DD)"),
             until: Optional[str] = Query(None, description="Only meetings on or before this date (the day included)"),
             limit: int = Query(100, ge=1, le=10000, description="At most this many, newest first"),
             db=Depends(get_db)) -> Any:
    """Archived meetings, newest first."""
    return [views.meeting_card(row) for row in db.list_meetings(since=since, until=until, limit=limit)]


@router.get("/meetings/{meeting_id}", response_model=MeetingDetail, responses=NOT_FOUND)
def meeting(meeting_id: str, db=Depends(get_db)) -> Any:
    """A meeting: its card, latest minutes, speakers and where its audio and downloads are."""
    detail = views.meeting_detail(db, meeting_id)
    minutes = detail["minutes"]
    return {**detail, "minutes": minutes, "minutes_version": minutes["version"] if minutes else None,
            "transcript_url": f"/api/meetings/{meeting_id}/transcript"}


MAX_VERSION = 2**31 - 1


@router.get("/meetings/{meeting_id}/transcript", response_model=schema.Transcript, responses=NOT_FOUND)
def transcript(meeting_id: str, db=Depends(get_db)) -> Any:
    """The speaker-attributed transcript (the Transcript JSON of `voicebot transcribe --format json`)."""
    views.get_row(db, meeting_id)
    found = db.get_transcript(meeting_id)
    if found is None:
        raise views.NotFound(f"meeting {meeting_id} has no transcript in the archive")
    return found.to_dict()


@router.get("/meetings/{meeting_id}/live", response_model=LiveTranscript, responses=NOT_FOUND)
def live_transcript(meeting_id: str, after: int = Query(0, ge=0, le=10**7, description="Lines already shown"),
                    db=Depends(get_db)) -> Any:
    """A meeting being recorded: its transcript as it grows (poll it; the page does every few seconds)."""
    return views.live_transcript(db, meeting_id, after)


@router.get("/meetings/{meeting_id}/minutes", response_model=schema.Minutes, responses=NOT_FOUND)
def minutes(meeting_id: str, version: Optional[int] = Query(None, ge=1, le=MAX_VERSION,
                                                            description="A version (default: latest)"),
            db=Depends(get_db)) -> Any:
    """The minutes: summary, key points, decisions, action items (owner, due date, source span), questions."""
    views.get_row(db, meeting_id)
    stored = db.get_minutes(meeting_id, version)
    if not stored:
        raise views.NotFound(f"meeting {meeting_id} has no minutes" + (f" version {version}" if version else ""))
    return stored["minutes"].to_dict()


@router.post("/meetings/{meeting_id}/speakers/rename", response_model=Renamed, responses=NOT_FOUND)
def rename_speaker(meeting_id: str, body: RenameIn, db=Depends(get_db)) -> Any:
    """Rename a speaker in a meeting (transcript, minutes, files and archive), as
    `voicebot meetings rename-speaker` does; optionally enroll their voice. A member may enroll
    only their own voice, and only an admin may merge two speakers (403 otherwise)."""
    views.get_row(db, meeting_id)
    return db.rename_speaker(meeting_id, body.old, body.new, enroll=body.enroll)


@router.post("/meetings/{meeting_id}/share", response_model=Shared, responses=NOT_FOUND)
def share(meeting_id: str, body: ShareIn, db=Depends(get_db)) -> Any:
    """Let another web user see this meeting (anyone who may see it may share it)."""
    views.get_row(db, meeting_id)
    db.share_meeting(meeting_id, body.user.strip())
    return {"meeting_id": meeting_id, "shares": [s["user_name"] for s in db.meeting_shares(meeting_id)]}


@router.get("/tokens", response_model=list[TokenOut])
def tokens(request: Request, db=Depends(get_db)) -> Any:
    """Your API tokens (an admin: everyone's), live or not, newest first."""
    user = request.state.user
    return db.tokens(None if user.admin else user.name)


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut,
             responses={404: {"description": "No such token of yours"}})
def revoke_token(token_id: str, request: Request, db=Depends(get_db)) -> Any:
    """End an API token (yours; an admin: anyone's) at once."""
    user = request.state.user
    return db.revoke_token(token_id, None if user.admin else user.name)


@router.get("/search", response_model=list[SearchHit])
def search(q: str = Query(..., max_length=1000, description='Words (all must match), "a phrase", prefix*, '
                                                            "a OR b, -excluded; accents and case ignored"),
           speaker: Optional[str] = Query(None, description="Only what this person said (whole name or part)"),
           meeting: Optional[str] = Query(None, description="Only in this meeting (id, or its beginning)"),
           since: Optional[str] = Query(None, description="Only meetings on or after this date"),
           until: Optional[str] = Query(None, description="Only meetings on or before this date"),
           limit: int = Query(20, ge=1, le=views.SEARCH_MAX), db=Depends(get_db)) -> Any:
    """Search every archived transcript, best first."""
    return views.search(db, q, speaker=speaker, meeting=meeting, since=since, until=until, limit=limit)


@router.get("/ask", response_model=AskAnswer)
def ask(q: str = Query(..., max_length=1000, description="A question, in French or English"),
        speaker: Optional[str] = Query(None, description="Only what this person said (whole name or part)"),
        meeting: Optional[str] = Query(None, description="Only in this meeting (id, or its beginning)"),
        since: Optional[str] = Query(None, description="Only meetings on or after this date"),
        until: Optional[str] = Query(None, description="Only meetings on or before this date"),
        db=Depends(get_db)) -> Any:
    """Ask the meetings you may see; each claim of the answer cites passages (meeting, speakers, moment)."""
    return views.ask(db, q, speaker=speaker, meeting=meeting, since=since, until=until)


UPLOAD_ERRORS = {400: {"description": "Not audio, an empty file, or a bad invite list"},
                 413: {"description": "Larger than web.max_upload_mb"},
                 503: {"description": "The task queue cannot be reached; the audio is kept, send it again later"}}


class MeetingForm:
    """What an upload says about its meeting (both ways of uploading take it)."""

    def __init__(self,
                 title: str = Form("", max_length=300, description="Default: the .ics SUMMARY, else the file name"),
                 invite: str = Form("", max_length=20000, description="Invitees: 'a@x.org, Name <b@y.org>; Alice'"),
                 ics: Optional[UploadFile] = File(None, description="The calendar invitation (.ics), at most 2 MB"),
                 language: str = Form("", max_length=10, description="fr, en...; default: detected per chunk"),
                 recorded_at: str = Form("", max_length=40, description="The recording's time, ISO 8601 with its "
                                                                        "offset (`voicebot upload` sends the file's "
                                                                        "modification time, which `voicebot "
                                                                        "process` reads); the .ics DTSTART wins")):
        from voicebot.invites import MAX_ICS_BYTES

        calendar = ics.file.read(MAX_ICS_BYTES + 1) if ics is not None and ics.filename else None
        self.values = {"title": title, "invite": invite, "ics": calendar, "language": language,
                       "recorded_at": recorded_at}


def _uploaded(result: dict) -> dict:
    return {**result, "url": f"/meetings/{result['meeting_id']}"}


@router.post("/uploads", status_code=202, response_model=UploadOut, responses=UPLOAD_ERRORS)
def upload(request: Request,
           audio: UploadFile = File(..., description="The recording: wav, flac, mp3, m4a, ogg, webm..."),
           meeting: MeetingForm = Depends()) -> Any:
    """Upload a recording in one request, to be processed here as a meeting you organised. The same audio sent
    again is the same meeting, so a retried upload is harmless. Answers once the audio is stored and its
    processing queued; the meeting's page then shows its progress. (`voicebot upload` sends pieces instead.)"""
    import tempfile
    from pathlib import Path

    from voicebot import upload as uploads

    settings = request.app.state.settings
    folder = settings.home / "uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        saved = Path(tmp) / uploads.safe_name(audio.filename)  # its stem: the title when none is given
        with saved.open("wb") as out:
            size = 0
            while chunk := audio.file.read(1024 * 1024):
                size += len(chunk)
                if size > uploads.limit_bytes(settings):
                    raise uploads.too_large(settings)
                out.write(chunk)
        if size == 0:
            raise HTTPException(400, "the audio file is empty")
        result = uploads.receive(settings, request.state.user.viewer, saved, **meeting.values)
    return _uploaded(result)


class PiecesOut(BaseModel):
    upload_id: str = Field(description="The sha256 of the whole file")
    pieces: list[int] = Field(description="The piece numbers the server has")


UPLOAD_ID = "The sha256 of the whole file (64 hexadecimal digits): the upload's id"


async def _piece_body(request: Request) -> bytes:
    """The body of a PUT of one piece, read up to the largest piece the server takes (413 past it)."""
    from voicebot import upload as uploads

    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > uploads.MAX_PIECE_BYTES:
            raise uploads.TooLarge(f"a piece is at most {uploads.MAX_PIECE_BYTES // 2**20} MB")
    return bytes(body)


@router.get("/uploads/{upload_id}", response_model=PiecesOut, responses={400: {"description": "Not a sha256"}})
def upload_pieces(request: Request, upload_id: str = FastPath(..., description=UPLOAD_ID)) -> Any:
    """Which pieces of an upload of yours the server has (to resume an upload cut off)."""
    from voicebot import upload as uploads

    held = uploads.pieces_held(request.app.state.settings, request.state.user.viewer, upload_id)
    return {"upload_id": upload_id, "pieces": held}


@router.put("/uploads/{upload_id}/pieces/{number}", response_model=PiecesOut,
            responses={400: {"description": "Not a sha256, or an empty piece"},
                       413: {"description": "A piece over 16 MB, or the upload past web.max_upload_mb"}})
async def upload_piece(request: Request, upload_id: str = FastPath(..., description=UPLOAD_ID),
                       number: int = FastPath(..., ge=0, le=99999, description="The piece's number, from 0")) -> Any:
    """Store one piece of an upload (the request's body: the file's bytes from number x piece size on). Sending a
    piece again replaces it, so a retry is harmless."""
    from starlette.concurrency import run_in_threadpool

    from voicebot import upload as uploads

    body = await _piece_body(request)
    settings, viewer = request.app.state.settings, request.state.user.viewer
    await run_in_threadpool(uploads.store_piece, settings, viewer, upload_id, number, body)
    return {"upload_id": upload_id, "pieces": await run_in_threadpool(uploads.pieces_held, settings, viewer, upload_id)}


@router.post("/uploads/{upload_id}/finish", status_code=202, response_model=UploadOut,
             responses={**UPLOAD_ERRORS, 409: {"description": "Pieces missing: send them, then finish again"}})
def finish_upload(request: Request, upload_id: str = FastPath(..., description=UPLOAD_ID),
                  pieces: int = Form(..., ge=1, le=100000, description="How many pieces the file was cut into"),
                  filename: str = Form("", max_length=300, description="The file's name (its stem is the "
                                                                      "default title)"),
                  meeting: MeetingForm = Depends()) -> Any:
    """Put an upload's pieces together, check them against the upload's sha256, and store and queue the meeting,
    as POST /api/uploads does with a whole file. Finishing again is harmless (the same audio is the same
    meeting)."""
    from voicebot import upload as uploads

    result = uploads.finish(request.app.state.settings, request.state.user.viewer, upload_id, pieces,
                            filename=filename, **meeting.values)
    return _uploaded(result)


class ChunksOut(BaseModel):
    recording_id: str = Field(description="The recording's id on the laptop")
    chunks: list[int] = Field(description="The piece numbers the server has")


RECORDING_ID = "The recording's id on the laptop that records it (like 20261124-093000-weekly-a1b2)"


@router.get("/recordings/{recording_id}", response_model=ChunksOut, responses={400: {"description": "Not an id"}})
def recording_chunks(request: Request, recording_id: str = FastPath(..., description=RECORDING_ID)) -> Any:
    """Which pieces of a recording you are sending while it is made the server has (`voicebot record --server`)."""
    from voicebot import upload_live

    held = upload_live.chunks_held(request.app.state.settings, request.state.user.viewer, recording_id)
    return {"recording_id": recording_id, "chunks": held}


@router.put("/recordings/{recording_id}/chunks/{number}", response_model=ChunksOut,
            responses={400: {"description": "Not an id, or not a 16-bit PCM WAV piece"},
                       413: {"description": "A piece over 16 MB, or the recording past web.max_upload_mb"}})
async def recording_chunk(request: Request, recording_id: str = FastPath(..., description=RECORDING_ID),
                          number: int = FastPath(..., ge=0, le=999999, description="The piece's number, from 0")) -> Any:
    """Store one piece of a recording as the recorder closed it (the request's body: the WAV file). Sending a piece
    again replaces it, so a retry is harmless."""
    from starlette.concurrency import run_in_threadpool

    from voicebot import upload_live

    body = await _piece_body(request)
    settings, viewer = request.app.state.settings, request.state.user.viewer
    await run_in_threadpool(upload_live.store_chunk, settings, viewer, recording_id, number, body)
    return {"recording_id": recording_id,
            "chunks": await run_in_threadpool(upload_live.chunks_held, settings, viewer, recording_id)}


@router.post("/recordings/{recording_id}/finish", status_code=202, response_model=UploadOut,
             responses={**UPLOAD_ERRORS, 409: {"description": "Pieces missing (send them, then finish again), or "
                                                              "pieces that do not make the recording (dropped)"}})
def finish_recording(request: Request, recording_id: str = FastPath(..., description=RECORDING_ID),
                     chunks: int = Form(..., ge=1, le=1000000, description="How many pieces the recording has"),
                     frames: int = Form(..., ge=0, description="Its samples at 16 kHz mono, as the laptop assembled "
                                                              "them"),
                     sha256: str = Form(..., max_length=64, description="The sha256 of those samples (16-bit "
                                                                       "little-endian)"),
                     meeting: MeetingForm = Depends()) -> Any:
    """Put a recording's pieces together as the recorder does, check them against the laptop's samples, and store
    and queue the meeting, as an upload. Finishing again is harmless (the same audio is the same meeting)."""
    from voicebot import upload_live

    result = upload_live.finish(request.app.state.settings, request.state.user.viewer, recording_id, chunks, frames,
                                sha256, **meeting.values)
    return _uploaded(result)


@router.get("/speakers", response_model=list[str])
def speakers(db=Depends(get_db)) -> Any:
    """Every speaker name in the archive (for the search filter)."""
    return db.speakers()


# --- files ----------------------------------------------------------------------------------

TEXT_TYPES = {"txt": "text/plain; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
              "vtt": "text/vtt; charset=utf-8", "json": "application/json", "md": "text/markdown; charset=utf-8"}


def _download(text: str, meeting_id: str, fmt: str, name: str = "") -> Response:
    filename = f"{meeting_id}{name}.{fmt}"
    return Response(text, media_type=TEXT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@files.get("/meetings/{meeting_id}/audio", response_class=FileResponse,
           responses={200: {"content": {"audio/flac": {}}, "description": "The whole recording"},
                      206: {"description": "The byte range asked for (Range: bytes=...)"}, **NOT_FOUND})
def audio(meeting_id: str, db=Depends(get_db)) -> Any:
    """The meeting's audio (16 kHz mono FLAC). Range requests are answered with 206, so players can seek."""
    path = views.audio_file(db, meeting_id)
    return FileResponse(path, media_type="audio/flac", headers={"Cache-Control": "private, no-cache"})


@files.get("/meetings/{meeting_id}/transcript.{fmt}", response_class=Response,
           responses={200: {"content": {t.split(";")[0]: {} for t in TEXT_TYPES.values()}}, **NOT_FOUND})
def transcript_file(meeting_id: str, fmt: str, db=Depends(get_db)) -> Any:
    """Download the transcript as txt, srt, vtt or json."""
    return _download(views.transcript_text(db, meeting_id, fmt), meeting_id, fmt)


@files.get("/meetings/{meeting_id}/minutes.md", response_class=Response,
           responses={200: {"content": {"text/markdown": {}}}, **NOT_FOUND})
def minutes_file(meeting_id: str, db=Depends(get_db)) -> Any:
    """Download the minutes as Markdown."""
    return _download(views.minutes_markdown(db, meeting_id), meeting_id, "md", "-minutes")
