"""What every route of the web app needs, in one module the routes import (so that app.py, which
assembles them, is imported by nobody): the page renderer and the archive dependency.

Routes never get the archive itself: ``get_db`` gives the archive as the logged-in user may
see it (``voicebot.archive.access.MeetingView``), so every page, API route, download, audio
request, search and dashboard figure goes through the one access rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from voicebot import __version__, formats, service
from voicebot.archive import open_archive
from voicebot.archive.access import MeetingView
from voicebot.minutes import render
from voicebot.web import views

HERE = Path(__file__).resolve().parent


def templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(clock=formats.clock, when=views.when, duration=render.duration, moment=views.moment_param)
    env.globals.update(labels=lambda language: render.LABELS[render.lang(language)], version=__version__,
                       short_date=render.short_date, long_date=render.long_date)
    return Jinja2Templates(env=env)


def page(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    """A page rendered from a template, with the user, the CSRF token and one-time messages."""
    session = request.state.session
    values = {"user": request.state.user, "csrf_token": session.csrf_token, "flashes": session.pop_flashes(),
              "path": request.url.path, "service_banner": service_banner(request), **(context or {})}
    return request.app.state.templates.TemplateResponse(request, name, values, status_code=status)


def service_health(request: Request) -> service.Health | None:
    """The last check of the broker and the workers by this server (none without a task queue)."""
    watch = getattr(request.app.state, "watch", None)
    return watch.health if watch is not None else None


def service_banner(request: Request) -> str:
    """The line a logged-in user sees on every page while processing is degraded (read, never checked here)."""
    return service.banner(service_health(request)) if request.state.user is not None else ""


def get_db(request: Request) -> Iterator[MeetingView]:
    """The archive as the logged-in user may see it, opened for one request (a FastAPI dependency)."""
    with open_archive(request.app.state.settings) as db:
        yield MeetingView(db, request.state.user.viewer)
