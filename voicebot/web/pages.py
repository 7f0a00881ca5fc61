"""The HTML pages: login, dashboard, meetings, a meeting (minutes, transcript, audio,
renaming a speaker, sharing it), search, ask, upload a recording, and the admin's users page.
Server-rendered; ``static/meeting.js`` adds the synced audio player, ``static/upload.js`` sends a
recording in resumable pieces through the upload API (upload.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from voicebot import formats
from voicebot.errors import UserError
from voicebot.web import views
from voicebot.web.deps import get_db, page, service_health
from voicebot.web.guard import safe_next

router = APIRouter(include_in_schema=False)

MEETINGS_LIMIT = 500
MEETING_CHOICES = 300  # meetings offered in the search page's meeting filter


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _moment(text: str | None) -> float | None:
    """?t=754, ?t=754.2 or ?t=12:34 -> seconds; anything else is ignored."""
    if not text:
        return None
    try:
        return formats.parse_clock(text)
    except ValueError:
        return None


# --- login --------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Any:
    if request.state.user is not None:
        return _redirect(safe_next(next))
    return page(request, "login.html", {"next": safe_next(next), "error": None, "username": ""})


@router.post("/login")
def login(request: Request, username: str = Form("", max_length=1000), password: str = Form("", max_length=4096),
          next: str = Form("/", max_length=4096)) -> Any:
    throttle = request.app.state.login_throttle
    # the peer's address; a proxy's X-Forwarded-For counts only from web.trusted_proxies (see `voicebot serve`)
    address = request.client.host if request.client else "unknown"
    name = username.strip()
    form = {"next": safe_next(next), "username": name}
    wait = throttle.retry_after(name, address)
    if wait > 0:
        seconds = int(wait) + 1
        response = page(request, "login.html", {**form, "error": f"Too many failed logins for {name or 'this name'}"
                                                                  f" from here: wait {seconds} s, then try again."},
                        status=429)
        response.headers["Retry-After"] = str(seconds)
        return response
    users = request.app.state.users
    user = users.authenticate(name, password)
    if user is None:
        throttle.failed(name, address)
        return page(request, "login.html", {**form, "error": "Wrong user name or password."}, status=401)
    throttle.succeeded(name, address)
    request.state.session.login(users.start_session(user))
    return _redirect(safe_next(next))


@router.post("/logout")
def logout(request: Request) -> Any:
    request.app.state.users.end_session(request.state.session.secret)  # the cookie stops working everywhere
    request.state.session.logout()
    return _redirect("/login")


# --- pages --------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, db=Depends(get_db)) -> Any:
    return page(request, "dashboard.html", views.dashboard(db, checked=service_health(request)))


@router.get("/meetings")
def meetings(request: Request, since: str = Query("", max_length=64), until: str = Query("", max_length=64),
             db=Depends(get_db)) -> Any:
    error = None
    try:
        rows = db.list_meetings(since=since.strip() or None, until=until.strip() or None, limit=MEETINGS_LIMIT)
    except UserError as exc:
        rows, error = [], str(exc)
    return page(request, "meetings.html", {"meetings": [views.meeting_card(r) for r in rows], "since": since,
                                           "until": until, "error": error, "limit": MEETINGS_LIMIT},
                status=400 if error else 200)


@router.get("/meetings/{meeting_id}")
def meeting(request: Request, meeting_id: str, t: str | None = None, db=Depends(get_db)) -> Any:
    detail = views.meeting_detail(db, meeting_id)
    moment = _moment(t)
    detail.update(moment=moment, current=views.segment_at(detail["transcript"], moment))
    return page(request, "meeting.html", detail)


@router.post("/meetings/{meeting_id}/rename-speaker")
def rename_speaker(request: Request, meeting_id: str, old: str = Form(..., max_length=200),
                   new: str = Form("", max_length=200), enroll: bool = Form(False), db=Depends(get_db)) -> Any:
    views.get_row(db, meeting_id)
    session = request.state.session
    try:
        done = db.rename_speaker(meeting_id, old, new, enroll=enroll)
    except UserError as exc:
        session.flash(f"Could not rename {old}: {exc}", "error")
    else:
        session.flash(f"Renamed {done.old} to {done.new} ({done.segments} transcript lines)"
                      + ("; their voice is enrolled, so later meetings will name them." if done.enrolled else "."))
    return _redirect(views.meeting_url(meeting_id))


@router.post("/meetings/{meeting_id}/share")
def share(request: Request, meeting_id: str, user: str = Form(..., max_length=64), db=Depends(get_db)) -> Any:
    views.get_row(db, meeting_id)
    session = request.state.session
    try:
        added = db.share_meeting(meeting_id, user.strip())
    except UserError as exc:
        session.flash(f"Could not share: {exc}", "error")
    else:
        session.flash(f"Shared with {user.strip()}." if added else f"{user.strip()} could see it already.")
    return _redirect(views.meeting_url(meeting_id))


@router.get("/search")
def search(request: Request, q: str = Query("", max_length=1000), speaker: str = Query("", max_length=200),
           meeting: str = Query("", max_length=200), since: str = Query("", max_length=64),
           until: str = Query("", max_length=64), limit: int = Query(views.SEARCH_LIMIT, ge=1, le=views.SEARCH_MAX),
           db=Depends(get_db)) -> Any:
    results, error = [], None
    if q.strip():
        try:
            results = views.search(db, q, speaker=speaker, meeting=meeting, since=since, until=until, limit=limit)
        except UserError as exc:
            error = str(exc)
    form = {"q": q, "speaker": speaker, "meeting": meeting, "since": since, "until": until}
    choices = [views.meeting_card(r) for r in db.list_meetings(limit=MEETING_CHOICES)]
    return page(request, "search.html", {"form": form, "results": results, "error": error, "searched": bool(q.strip()),
                                         "speakers": db.speakers(), "choices": choices,
                                         "limit": max(1, min(limit, views.SEARCH_MAX)),
                                         "more": len(results) >= limit and limit < views.SEARCH_MAX},
                status=400 if error else 200)


@router.get("/ask")
def ask(request: Request, q: str = Query("", max_length=1000), speaker: str = Query("", max_length=200),
        meeting: str = Query("", max_length=200), since: str = Query("", max_length=64),
        until: str = Query("", max_length=64), db=Depends(get_db)) -> Any:
    answer, error = None, None
    if q.strip():
        try:
            answer = views.ask(db, q, speaker=speaker, meeting=meeting, since=since, until=until)
        except UserError as exc:
            error = str(exc)
    form = {"q": q, "speaker": speaker, "meeting": meeting, "since": since, "until": until}
    choices = [views.meeting_card(r) for r in db.list_meetings(limit=MEETING_CHOICES)]
    return page(request, "ask.html", {"form": form, "answer": answer, "error": error, "choices": choices,
                                      "speakers": db.speakers()}, status=400 if error else 200)


@router.get("/upload")
def upload(request: Request) -> Any:
    from voicebot import upload as uploads

    settings = request.app.state.settings
    return page(request, "upload.html", {"piece_bytes": uploads.PIECE_BYTES, "max_mb": settings.web.max_upload_mb,
                                         "address": settings.web_address})
