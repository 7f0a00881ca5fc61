"""`voicebot worker` (process meetings from the team server's task queue), `voicebot upload` (send a
recording to a team server) and `voicebot report` (the day's report for the admins)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from voicebot.cli.app import app, console, err_console, settings
from voicebot.errors import UserError


@app.command()
def worker(
    queues: str = typer.Option("transcribe,meetings", "--queues", "-Q", help="Queues to take jobs from, "
                               "comma-separated: transcribe (transcription alone: a GPU machine), meetings (every "
                               "other stage)."),
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="Meetings processed at once, each in its own "
                                                                   "process (up to about 1.4 GB of memory each)."),
) -> None:
    """Process meetings from the task queue (queue.broker_url, a Redis server) until stopped (Ctrl-C, SIGTERM).

    Start one or more on every machine that mounts the home folder and reaches the archive; each job is one
    meeting's pipeline, resumed from its checkpoints when a worker dies."""
    from voicebot import queue

    s = settings()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    queue.broker_url(s)  # no broker set: one line, before Celery starts
    console.print(f"voicebot worker: queue {', '.join(names)} on {escape(queue.redacted(s.queue.broker_url))}, "
                  f"{concurrency} at a time (Ctrl-C stops)", highlight=False)
    code = queue.run_worker(s, queues=names, concurrency=concurrency)
    if code:
        raise typer.Exit(code)


@app.command()
def upload(
    source: str = typer.Argument(..., help="An audio file (wav, flac, mp3, m4a, ogg, webm...), or the id of a "
                                           "meeting recorded here (its title, invite list and date go with it); "
                                           "nothing local is changed or deleted."),
    server: str = typer.Option(..., "--server", envvar="VOICEBOT_SERVER", help="The team server, e.g. "
                                                                              "https://voicebot.example.org"),
    token: str = typer.Option(..., "--token", envvar="VOICEBOT_TOKEN", help="Your API token (`voicebot users "
                                                                           "token NAME` on the server)."),
    title: str = typer.Option("", "--title", "-t", help="Meeting title. Default: the .ics SUMMARY, else the file "
                                                        "name."),
    invite: List[str] = typer.Option([], "--invite", "-i", help="Invitees: 'a@x.org, Name <b@y.org>; Alice' "
                                                                "(repeatable)."),
    ics: Optional[Path] = typer.Option(None, "--ics", help="Calendar invitation (.ics)."),
    language: str = typer.Option("", "--language", "-l", help="Language of the meeting (fr, en...). Default: "
                                                              "detected per chunk."),
    retry_for: float = typer.Option(3600, "--retry-for", min=0, help="Seconds to keep trying while the server "
                                                                     "cannot be reached or fails (5xx)."),
) -> None:
    """Send a recording (a file, or a meeting recorded here) to a team server, which processes it as a meeting
    you organised.

    Sending the same recording again is harmless (the server recognises it); while the server is away it tries
    again, and the local file stays as it is."""
    from voicebot import invites, recordings
    from voicebot import upload as uploads

    text = "; ".join(invite)
    if text.strip():
        invites.collect([text])  # a bad address stops here, in one line, before anything is sent
    file, recorded = Path(source).expanduser(), {}
    if not file.is_file() and recordings.is_meeting_id(source):
        file, recorded = uploads.recording(settings(), source)
        text = "; ".join(t for t in (recorded["invite"], text) if t)
        title, language = title or recorded["title"], language or recorded["language"]

    def on_retry(attempt: int, reason: str, wait: float) -> None:
        err_console.print(f"attempt {attempt}: {escape(reason)}; trying again in {wait:.0f} s", highlight=False,
                          soft_wrap=True)

    sent = uploads.send(file, server=server, token=token, title=title, invite=text, ics=ics, language=language,
                        recorded_at=recorded.get("recorded_at", ""), retry_for=retry_for, on_retry=on_retry)
    console.print(f"meeting: {sent.meeting_id}", highlight=False)
    how = "queued for the workers" if sent.processing == "queue" else "the server processes it"
    again = " (uploaded before: the same meeting)" if sent.reused else ""
    console.print(f"uploaded{again}; {how}: {escape(sent.url)}", highlight=False, soft_wrap=True)


@app.command()
def report(
    day: str = typer.Option("", "--day", help="The day, YYYY-MM-DD. Default: yesterday."),
    send: bool = typer.Option(False, "--send", help="Also mail it to mail.admin (once per day: again does nothing). "
                                                    "`voicebot serve` mails yesterday's from queue.report_hour."),
) -> None:
    """The day's report for the admins: meetings and hours, what was not processed, emails, incidents and how
    each ended."""
    from datetime import date, timedelta

    from voicebot import service

    try:
        when = date.fromisoformat(day.strip()) if day.strip() else date.today() - timedelta(days=1)
    except ValueError:
        raise UserError(f"--day {day!r} is not a date like 2026-11-24") from None
    subject, text = service.daily_report(settings(), when)
    console.print(subject, highlight=False, soft_wrap=True)
    console.print(escape(text), highlight=False, soft_wrap=True)
    if send:
        queued = service.send_daily_report(settings(), when)
        console.print("mailed to mail.admin" if queued else "not mailed: already sent for that day, or no mail.admin",
                      highlight=False)
