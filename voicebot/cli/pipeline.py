"""`voicebot process`, `voicebot resume`, `voicebot status`, `voicebot doctor`."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from voicebot.cli.app import app, console, err_console, progress_bar, settings
from voicebot.errors import UserError


class StageView:
    """Pipeline events as a progress bar per stage (on a terminal) and one line per stage (always)."""

    def __init__(self, *, announce: bool = False) -> None:
        self.announce = announce  # print "meeting: ID" when a new meeting starts (resume goes through several)
        self._meeting: str | None = None
        self._bar: ExitStack | None = None
        self._update = None

    def __call__(self, event) -> None:
        if self.announce and event.meeting_id != self._meeting:
            self.close()
            console.print(f"meeting: {event.meeting_id}", highlight=False)
        self._meeting = event.meeting_id
        if event.kind == "progress":
            if self._bar is None:
                self._bar = ExitStack()
                self._update = self._bar.enter_context(progress_bar(event.stage, event.total))
            self._update(event.done)
            return
        self.close()
        if event.kind == "done":
            err_console.print(f"[green]✓[/] {event.stage:<10} {event.seconds:6.1f} s  {escape(event.detail)}",
                              highlight=False, soft_wrap=True)
        elif event.kind == "failed":
            err_console.print(f"[red]✗[/] {event.stage:<10} {event.seconds:6.1f} s  {escape(event.detail)}",
                              highlight=False, soft_wrap=True)
        elif event.kind == "skip":
            err_console.print(f"[dim]· {event.stage:<10}   done earlier[/]", highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar, self._update = None, None


def run_pipeline(meeting_id: str, *, email: bool | None = None, redo_from: str | None = None, confirm=None) -> None:
    """Run the pipeline on a meeting with progress, then say where the minutes are and who got them.

    ``confirm(job)``: called once the speakers are named, before the minutes (see pipeline.process)."""
    from voicebot import pipeline

    view = StageView()

    def pause(job) -> None:
        view.close()
        confirm(job)

    try:
        job = pipeline.process(settings(), meeting_id, email=email, redo_from=redo_from, hook=view,
                               confirm=pause if confirm else None)
    finally:
        view.close()
    report(job)


def report(job) -> None:
    """Where the minutes are, what they could not do, and who they were sent to (or queued for)."""
    from voicebot import recordings, schema

    path = job.path(recordings.MINUTES_JSON)
    if path.is_file():
        drafted = schema.Minutes.from_dict(schema.read_json(path))
        for line in drafted.notes:
            err_console.print(f"[yellow]note:[/] {escape(line)}", highlight=False, soft_wrap=True)
        for label, names in (("present", drafted.present), ("absent", drafted.absent),
                             ("not known whether present (they get the minutes as attendees)", drafted.unknown)):
            if names:
                console.print(f"{label}: {escape(', '.join(names))}", highlight=False, soft_wrap=True)
    console.print(f"minutes: {escape(str(job.path(recordings.MINUTES_MD)))}", highlight=False, soft_wrap=True)
    for problem in job.problems:
        err_console.print(f"[yellow]mail:[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if not job.email:
        console.print("email: off (--no-email); nothing was sent")
        return
    from voicebot.archive import open_archive

    with open_archive(job.settings) as db:
        outbox = db.outbox_list(meeting_id=job.meeting.id)
    groups = {("attendee", "sent"): "sent to", ("absentee", "sent"): "'you missed it' version sent to",
              ("attendee", "pending"): "queued for", ("absentee", "pending"): "'you missed it' version queued for",
              ("attendee", "failed"): "could not be sent to", ("absentee", "failed"): "could not be sent to"}
    for (kind, status), label in groups.items():
        people = [m.recipient for m in outbox if m.kind == kind and m.status == status]
        if people:
            console.print(f"{label}: {escape(', '.join(people))}", highlight=False, soft_wrap=True)
    waiting = [m for m in outbox if m.status == "pending" and m.last_error]
    if waiting:
        console.print(f"waiting in the outbox ({escape(waiting[0].last_error)}); `voicebot outbox send` retries",
                      highlight=False, soft_wrap=True)
    if not outbox:
        console.print("nobody to email (no invite list and no recognised voice with an address)")
    elif not job.settings.smtp.url.strip():
        console.print(f"no SMTP server set (VOICEBOT_SMTP_URL): the messages are files in "
                      f"{escape(str(job.settings.maildir))}/new",
                      highlight=False, soft_wrap=True)


@app.command()
def process(
    source: str = typer.Argument(..., help="An audio file to import as a new meeting (wav, flac, mp3, m4a, ogg, "
                                           "webm...), or the id of a meeting already under recordings/ to continue."),
    title: str = typer.Option("", "--title", "-t", help="Meeting title. Default: the .ics SUMMARY, else the file name."),
    invite: List[str] = typer.Option([], "--invite", "-i", help="Invitees: 'a@x.org, Name <b@y.org>; Alice' "
                                                                "(repeatable). They get the minutes, or their "
                                                                "'you missed it' version when absent."),
    ics: Optional[Path] = typer.Option(None, "--ics", help="Calendar invitation (.ics): attendees, organizer, "
                                                           "title (SUMMARY), date (DTSTART)."),
    language: str = typer.Option("", "--language", "-l", help="Language of the meeting (fr, en...). Default: "
                                                              "detected per chunk, so mixed meetings work."),
    no_email: bool = typer.Option(False, "--no-email", help="Draft and archive the minutes, send no email (a later `voicebot process ID` sends them)."),
    new_meeting: bool = typer.Option(False, "--new-meeting", help="The same audio was processed before: make a new meeting of it anyway (by default its meeting is continued; nobody gets the same minutes twice either way)."),
    owner: str = typer.Option(None, "--owner", help="The web user who organised the meeting: they see it on the web (`voicebot users list`)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Accept more than 50 invitees (each gets an email)."),
) -> None:
    """Transcribe, tell who spoke, draft the minutes, archive them and email them; a rerun continues where it stopped.

    On a meeting id, --title, --invite, --ics and --language update the meeting and redo what they change
    (the minutes; the speakers' names too for a new invite list; everything for a new language). The same
    audio file given again is recognised and continues its meeting (--new-meeting makes another)."""
    from voicebot import invites, pipeline, record, recordings

    s = settings()
    if owner:
        check_owner(owner)
    for recovered in record.recover(s):  # a crash's leftovers first, so nothing waits unnoticed
        err_console.print(f"recovered the unfinished recording {recovered.id} "
                          f"(`voicebot process {recovered.id}` or `voicebot resume` processes it)", highlight=False)
    invitation = invites.collect(invite, ics, yes=yes) if (invite or ics) else None
    language = language.strip().lower() or None
    path = Path(source).expanduser()
    redo_from = None
    if path.is_file():
        meeting, reused = pipeline.import_or_reuse(s, path, title=title, invitation=invitation, language=language,
                                                   new_meeting=new_meeting)
        meeting_id = meeting.id
        if reused:
            err_console.print(f"this recording was processed before as meeting {meeting_id}: continuing it "
                              "(--new-meeting makes another)", highlight=False)
            redo_from = pipeline.amend(s, meeting_id, title=title, invitation=invitation, language=language)
    elif recordings.is_meeting_id(source):
        meeting_id = source
        if not recordings.meeting_dir(s.recordings_dir, meeting_id).is_dir():
            raise UserError(f"no meeting {meeting_id} under {s.recordings_dir}; `voicebot meetings list` shows them")
        redo_from = pipeline.amend(s, meeting_id, title=title, invitation=invitation, language=language)
    elif path.exists():
        raise UserError(f"{source} is a directory; give an audio file or a meeting id")
    else:
        raise UserError(f"{source} is neither an audio file nor a meeting id (like 20261124-093012-weekly-sync-3f9a)")
    console.print(f"meeting: {meeting_id}", highlight=False)
    if owner:
        set_owner(meeting_id, owner)
    run_pipeline(meeting_id, email=False if no_email else None, redo_from=redo_from)


def check_owner(name: str) -> None:
    """UserError unless ``name`` is a web user (``--owner``)."""
    from voicebot.archive import open_archive

    with open_archive(settings()) as db:
        if db.get_user(name) is None:
            raise UserError(f"--owner {name}: no such web user; `voicebot users list` shows them")


def set_owner(meeting_id: str, name: str) -> None:
    """The meeting in the archive, organised by the web user ``name`` (who then sees it)."""
    from voicebot import recordings
    from voicebot.archive import open_archive

    directory = recordings.meeting_dir(settings().recordings_dir, meeting_id)
    with open_archive(settings()) as db, db.transaction():
        if db.get_meeting(meeting_id) is None:
            db.save_meeting(recordings.load_meeting(directory), directory=directory)
        db.set_owner(meeting_id, name)


@app.command()
def resume() -> None:
    """Finish what a crash interrupted: recover unfinished recordings, then complete every unfinished meeting."""
    from voicebot import pipeline

    view = StageView(announce=True)

    def on_meeting(meeting_id: str, job, error) -> None:
        view.close()
        if error is not None:
            err_console.print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        else:
            report(job)

    try:
        result = pipeline.resume(settings(), hook=view, on_meeting=on_meeting)
    finally:
        view.close()
    for meeting_id in result["recovered"]:
        err_console.print(f"recovered the unfinished recording {meeting_id}", highlight=False, soft_wrap=True)
    for meeting_id, server in result["for_server"].items():
        err_console.print(f"{meeting_id}: recorded for the team server {escape(server)}, which processes it: send "
                          f"what it lacks with `voicebot upload {meeting_id} --server {escape(server)}`",
                          highlight=False, soft_wrap=True)
    for meeting_id in result["busy"]:
        err_console.print(f"{meeting_id}: another voicebot process is working on it; left to it", highlight=False,
                          soft_wrap=True)
    delivery = result.get("delivery") or {}
    if delivery.get("sent") or delivery.get("retry"):
        console.print(f"outbox: {delivery['sent']} sent, {delivery['retry']} to retry, {delivery['failed']} failed")
    if not result["done"] and not result["failed"] and not result["busy"] and not result["for_server"]:
        console.print("nothing to resume: every meeting is processed")
    if result["failed"]:
        raise typer.Exit(1)


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """One screen: meetings recorded and processed, jobs running or failed, emails waiting, the task queue and its
    workers (with queue.broker_url), disk, last incidents."""
    from voicebot import health

    data = health.status(settings())
    if settings().queue.broker_url.strip():
        from voicebot import queue

        data["queue"] = queue.snapshot(settings())
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(show_header=True, title="voicebot status", title_justify="left")
    table.add_column("", style="bold")
    table.add_column("today", justify="right")
    table.add_column("this week", justify="right")
    table.add_column("all", justify="right")
    table.add_row("meetings recorded", str(data["recorded_today"]), str(data["recorded_this_week"]),
                  str(data["meetings_total"]))
    table.add_row("meetings processed", str(data["processed_today"]), str(data["processed_this_week"]),
                  f"{data['hours_transcribed']:.1f} h transcribed")
    console.print(table)
    red = lambda n: f"[red]{n}[/]" if n else str(n)  # noqa: E731
    console.print(f"jobs: {data['jobs_running']} running, {data['jobs_pending']} pending, "
                  f"{red(data['jobs_failed'])} failed")
    for meeting_id, stuck in data["unfinished"].items():
        if stuck:
            console.print(f"  {meeting_id}: {stuck['stage']} {stuck['state']} (attempts {stuck['attempts']})"
                          + (f": {escape(stuck['error'])}" if stuck.get("error") else ""), highlight=False,
                          soft_wrap=True)
    console.print(f"emails: {data['outbox_pending']} waiting, {red(data['outbox_failed'])} failed, "
                  f"{data['outbox_sent']} sent")
    if data.get("queue"):
        print_queue(data["queue"])
    if data["recording_now"]:
        console.print(f"recording now: {', '.join(data['recording_now'])}")
    console.print(f"disk: recordings {_size(data['recordings_bytes'])}, database {_size(data['database_bytes'])}, "
                  f"models {_size(data['models_bytes'])}; {_size(data['free_bytes'])} free "
                  f"({escape(data['home'])})", highlight=False)
    if data["incidents"]:
        console.print("last incidents:")
        for incident in data["incidents"]:
            console.print(f"  {incident['created_at'][:19].replace('T', ' ')}  {incident['meeting_id'] or '-'}  "
                          f"{incident['stage']}: {escape(incident['error'])}", highlight=False, soft_wrap=True)
    else:
        console.print("no incidents")


def print_queue(queue: dict) -> None:
    """The task queue's lines of `voicebot status`: the broker, jobs waiting, the workers and their meetings."""
    if not queue["reachable"]:
        console.print(f"queue: [red]broker down[/] ({escape(queue['broker'])}: {escape(queue.get('error', ''))})",
                      highlight=False, soft_wrap=True)
        return
    workers, takes = queue["workers"], queue.get("takes", {})
    per_queue = ", ".join(f"{name} {count}" for name, count in queue.get("queues", {}).items())
    console.print(f"queue: {queue['waiting']} waiting ({per_queue}), {len(workers)} worker(s) answering "
                  f"({escape(queue['broker'])})", highlight=False, soft_wrap=True)
    if not workers:
        console.print("  [yellow]no worker answered[/]: start one with `voicebot worker`")
    for name, count in queue.get("queues", {}).items():
        if count and workers and not any(name in taken for taken in takes.values()):
            console.print(f"  [yellow]no worker takes the {name} queue[/]: start one with `voicebot worker "
                          f"--queues {name}`", highlight=False)
    for name, meetings in sorted(workers.items()):
        console.print(f"  {escape(name)} ({', '.join(takes.get(name, [])) or '?'}): "
                      f"{escape(', '.join(meetings)) if meetings else 'idle'}", highlight=False, soft_wrap=True)


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check what the bot needs: models, audio input, mail server, database, disk; say how to fix what fails."""
    from voicebot import health

    checks = health.doctor(settings())
    if as_json:
        typer.echo(json.dumps([c.to_dict() for c in checks], ensure_ascii=False, indent=2))
    else:
        marks = {health.OK: "[green]ok  [/]", health.WARN: "[yellow]warn[/]", health.FAIL: "[red]FAIL[/]"}
        for check in checks:
            console.print(f"{marks[check.state]} {check.name:<15} {escape(check.detail)}", highlight=False,
                          soft_wrap=True)
            if check.fix and check.state != health.OK:
                console.print(f"     {'':<15} fix: {escape(check.fix)}", highlight=False, soft_wrap=True)
    if any(c.state == health.FAIL for c in checks):
        raise typer.Exit(1)
