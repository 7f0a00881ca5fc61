"""The middleware in front of every route: no login, no answer.

For each HTTP request, before any route runs:

1. the session cookie is checked (its signature, then its server-side record: not
   logged out, not expired, the user still exists, is not disabled and has the same
   password) or, for scripts, an ``Authorization: Bearer`` API token (the same checks);
2. without a valid login, only the login page (GET and POST ``/login``) and its
   own stylesheet (``/static/login.css``) answer; pages get ``303`` to
   ``/login?next=...``, everything else (API, audio, downloads, static files,
   unknown paths) ``401``;
3. a state-changing request (POST, PUT, PATCH, DELETE) made with the session
   cookie must carry the session's CSRF token (form field ``csrf_token`` or
   header ``X-CSRF-Token``) and must not come from another site (``Origin``,
   ``Sec-Fetch-Site``); else ``403``;
4. every answer gets the security headers (a strict Content-Security-Policy:
   scripts and styles only from this server, nothing inline), ``no-store``
   unless the route chose its caching, and the session cookie when it changed
   (HttpOnly, SameSite=Lax, Secure when served over https).

Routes find the session and the user in ``request.state.session`` and
``request.state.user``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request

from voicebot.web.auth import Session, Users

COOKIE = "voicebot_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = frozenset({("GET", "/login"), ("HEAD", "/login"), ("POST", "/login"),
                    ("GET", "/static/login.css"), ("HEAD", "/static/login.css")})
FORM_LIMIT = 64 * 1024  # the largest form body read to find its CSRF token

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
     b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def safe_next(target: str | None) -> str:
    """A place to go after login: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ord(c) < 32 for c in target):
        return "/"
    return target


class Guard:
    """ASGI middleware: authentication, CSRF and security headers for every request."""

    def __init__(self, app: Any, users: Users, session_seconds: float) -> None:
        self.app = app
        self.users = users
        self.session_seconds = int(session_seconds)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        session = Session(self.users.signer.load_session(request.cookies.get(COOKIE)) or {})
        send = self._sender(send, session, scope.get("scheme") == "https")
        user, by_token = None, False
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            by_token = True
            user = await run_in_threadpool(self.users.from_token, authorization[7:].strip())
            if user is None:
                await self._plain(send, 401, "invalid or expired API token; make a new one with "
                                             "`voicebot users token NAME`")
                return
        elif session.secret:
            user = await run_in_threadpool(self.users.from_session, session)
            if user is None:
                session.logout()  # logged out, expired, or the user was disabled, removed or changed password
        state = scope.setdefault("state", {})
        state.update(session=session, user=user, by_token=by_token)
        method, path = scope["method"], scope["path"]
        if user is None and (method, path) not in PUBLIC:
            await self._refuse(request, send)
            return
        if method not in SAFE_METHODS and not by_token:
            if not _same_site(request):
                await self._plain(send, 403, "refused: the request came from another site")
                return
            sent, receive = await _csrf_value(request, receive)
            if sent is _TOO_LARGE:
                await self._plain(send, 413, "form too large")
                return
            if not session.csrf_ok(sent) and path == "/login":
                session.flash("The login form had expired; please log in again.", "error")
                await self._redirect(send, "/login")
                return
            if not session.csrf_ok(sent):
                await self._plain(send, 403, "refused: missing or wrong CSRF token; reload the page and try again")
                return
        await self.app(scope, receive, send)

    async def _refuse(self, request: Request, send: Any) -> None:
        wants_page = request.method in ("GET", "HEAD") and not request.url.path.startswith("/api/") \
            and "text/html" in request.headers.get("accept", "")
        if wants_page:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            await self._redirect(send, "/login" if target == "/" else f"/login?next={quote(safe_next(target), safe='/')}")
            return
        await self._plain(send, 401, "login required: log in at /login, or send an API token "
                                     "(Authorization: Bearer ...)", [(b"www-authenticate", b'Bearer realm="voicebot"')])

    @staticmethod
    async def _redirect(send: Any, location: str) -> None:
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _plain(send: Any, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        body = json.dumps({"detail": detail}).encode("utf-8")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _sender(self, send: Any, session: Session, https: bool) -> Any:
        async def wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                headers.append((b"vary", b"Cookie"))
                if session.modified:
                    headers.append((b"set-cookie", self._cookie(session, https).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    def _cookie(self, session: Session, https: bool) -> str:
        value = self.users.signer.dump_session(session.data)
        return (f"{COOKIE}={value}; Path=/; Max-Age={self.session_seconds}; HttpOnly; SameSite=Lax"
                + ("; Secure" if https else ""))


def _same_site(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser form or fetch (curl, scripts): the CSRF token decides
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


_TOO_LARGE = object()


async def _csrf_value(request: Request, receive: Any) -> tuple[Any, Any]:
    """The CSRF token a request sends (header, or the field of a urlencoded form), and the
    ``receive`` the app must use (a form's body is read here, then handed on unchanged)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent:
        return sent, receive
    headers = Headers(scope=request.scope)
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return None, receive
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > FORM_LIMIT:
            return _TOO_LARGE, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD, [])
    replayed = False

    async def replay() -> dict:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return (values[0] if values else None), replay
