"""The FastAPI application: pages (server-rendered Jinja2), the JSON API under /api/,
the audio and download files, static files, all behind ``voicebot.web.guard``.

    from voicebot.web.app import create_app
    app = create_app(settings)       # uvicorn.run(app, host="127.0.0.1", port=8000)

The OpenAPI description is at ``/api/openapi.json``, behind the login like
everything else (no interactive docs page: it would load scripts from a CDN).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from voicebot import __version__, service
from voicebot.archive.access import Forbidden
from voicebot.config import Settings
from voicebot.errors import UserError
from voicebot.queue import QueueUnavailable
from voicebot.upload import PiecesMissing, TooLarge
from voicebot.web import admin, api, pages, views
from voicebot.web.auth import LoginThrottle, Users, load_secret
from voicebot.web.deps import HERE, page, templates
from voicebot.web.guard import Guard

DESCRIPTION = """The meeting archive of a voicebot server: meetings, minutes, transcripts, search, status.

Every route needs a login: either the session cookie of a browser logged in at /login (then every
POST also sends the session's CSRF token in the `X-CSRF-Token` header; `GET /api/session` gives it),
or an API token from `voicebot users token NAME`, sent as `Authorization: Bearer <token>`.
A member sees the meetings they organised, were invited to, spoke in, or that were shared with
them (any other meeting answers 404); an admin sees every meeting, the incidents and the outbox.
Times inside a recording are seconds; other times are ISO 8601."""


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def _error(request: Request, status: int, message: str) -> Any:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    return page(request, "error.html", {"status": status, "message": message}, status=status)


def create_app(settings: Settings) -> FastAPI:
    """The web application for these settings (archive, recordings, login secret)."""
    users = Users(settings, load_secret(settings))
    watch = service.Watch(settings) if settings.queue.broker_url.strip() else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # serving: the broker and the workers checked in a thread
        if watch is not None:
            watch.start()
        yield
        if watch is not None:
            watch.stop()

    app = FastAPI(title="voicebot", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None, openapi_url="/api/openapi.json", lifespan=lifespan)
    app.state.watch = watch
    app.state.settings = settings
    app.state.users = users
    app.state.templates = templates()
    app.state.login_throttle = LoginThrottle()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(api.files)
    app.include_router(admin.router)

    @app.exception_handler(views.NotFound)
    async def not_found(request: Request, exc: views.NotFound) -> Any:
        return _error(request, 404, str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Any:
        return _error(request, 403, str(exc))

    @app.exception_handler(QueueUnavailable)
    async def queue_down(request: Request, exc: QueueUnavailable) -> Any:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "30"})

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> Any:
        return _error(request, 413, str(exc))

    @app.exception_handler(PiecesMissing)
    async def pieces_missing(request: Request, exc: PiecesMissing) -> Any:
        return _error(request, 409, str(exc))

    @app.exception_handler(UserError)
    async def bad_request(request: Request, exc: UserError) -> Any:
        return _error(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Any:
        if _wants_json(request):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        return _error(request, 422, "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors()))

    app.add_middleware(Guard, users=users, session_seconds=settings.web.session_hours * 3600)
    return app
