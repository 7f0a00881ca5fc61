"""`voicebot record`, `voicebot stop`, `voicebot recover`, `voicebot devices`."""

from __future__ import annotations

import math
import re
from pathlib import Path

import typer
from rich.markup import escape

from voicebot.cli.app import app, console, err_console, settings
from voicebot.errors import UserError


def parse_duration(text: str) -> float | None:
    """``90m``, ``1h30m``, ``45s``, ``1.5h`` or plain seconds -> seconds (None for empty)."""
    text = text.strip().lower().replace(" ", "")
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UserError(f"--duration {text!r} is not a duration; write e.g. 90m, 1h30m, 45s or a number of seconds")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _meter(level_db: float, width: int = 20) -> str:
    """A level bar from -60 dBFS (empty) to 0 dBFS (full)."""
    filled = 0 if math.isinf(level_db) else max(0, min(width, round((level_db + 60) / 60 * width)))
    colour = "red" if filled >= width - 1 else "green" if filled > width // 4 else "yellow"
    return f"[{colour}]{'█' * filled}[/][dim]{'░' * (width - filled)}[/]"


class _StatusView:
    """Turns the recorder's status events into a live line (terminal) or plain lines (logs, pipes)."""

    def __init__(self) -> None:
        self.live = None
        self.lines: list[str] = []  # the last lines the live transcription wrote
        self.server = ""  # with --server: what the server has of the recording
        self._seen: float | None = None  # when its checkpoint last changed

    def __call__(self, status) -> None:
        from voicebot.record.capture import hms

        event = status.event
        if event == "consent":
            from rich.panel import Panel

            err_console.print(Panel(status.message, title="Consent / consentement", border_style="yellow"))
        elif event == "started":
            console.print(f"recording: {status.meeting_id}")
            err_console.print("Ctrl-C here, or `voicebot stop` in another terminal, ends the recording.")
            if err_console.is_terminal:
                from rich.live import Live

                self.live = Live("", console=err_console, refresh_per_second=4, transient=True)
                self.live.start()
        elif event == "tick" and self.live is not None:
            free = f"{status.free_bytes / 1e9:.1f} GB free" if status.free_bytes is not None else ""
            level = "  -∞ dB" if math.isinf(status.level_db) else f"{status.level_db:4.0f} dB"
            over = f"  [red]overflows {status.overflows}[/]" if status.overflows else ""
            lines = "".join(f"\n[dim]{escape(line)}[/]" for line in self._transcribed(status.directory))
            server = f"\n{self.server}" if self.server else ""
            self.live.update(f"[bold red]● REC[/] {hms(status.elapsed)}  {_meter(status.level_db)} {level}  "
                             f"{free}{over}{server}{lines}")
        elif event in ("warning", "device-lost"):
            err_console.print(f"[bold yellow]warning:[/] {status.message}", highlight=False)
        elif event in ("device-reopened", "stopping"):
            if event == "stopping":
                self.close()
            err_console.print(status.message, highlight=False)
        elif event == "stopped":
            err_console.print(status.message, highlight=False)

    def _transcribed(self, directory: Path | None) -> list[str]:
        """The last lines of the live transcription, read again only when its checkpoint changes."""
        from voicebot import live, recordings

        if directory is None:
            return []
        try:
            changed = (directory / recordings.TRANSCRIPT_PARTIAL).stat().st_mtime
        except OSError:
            return self.lines
        if changed != self._seen:
            self._seen, self.lines = changed, live.recent_lines(directory)
        return self.lines

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class _LiveWorker:
    """Starts the live transcription (``voicebot.live``) when the recording starts, asks it to stop when
    the recording stops, and waits for it before the pipeline takes over; passes the events on."""

    def __init__(self, s, view, owner: str | None) -> None:
        self.settings, self.view, self.owner, self.worker, self.directory = s, view, owner, None, None

    def __call__(self, status) -> None:
        from voicebot import live

        if status.event == "started" and status.directory is not None:
            self.directory = status.directory
            try:
                self.worker = live.start(self.settings, status.directory, owner=self.owner)
            except OSError as exc:  # it may not stop a recording that has started
                err_console.print(f"[bold yellow]warning:[/] no live transcription ({exc}); the whole meeting is "
                                  "transcribed at the end", highlight=False)
        elif status.event == "stopping" and self.worker is not None:
            self.worker.request_stop()
        self.view(status)

    def finish(self) -> None:
        from voicebot import live

        if self.worker is None:
            return
        self.worker.wait()
        try:
            live.show_in_archive(self.settings, self.directory)  # no longer "recording" on the web
        except Exception:  # noqa: BLE001 -- the pipeline saves it again
            pass


class _Sending:
    """With --server: sends the recording's pieces to the server while it is recorded (``upload_live``), and
    no live transcription here (the server processes the meeting); passes the events on."""

    def __init__(self, sender, view) -> None:
        self.sender, self.view, self.waiting = sender, view, ""
        sender.on_progress = self.progress

    def __call__(self, status) -> None:
        if status.event == "started" and status.directory is not None:
            self.sender.start(status.directory)
        self.view(status)

    def progress(self, progress) -> None:
        if progress.waiting:
            self.view.server = (f"[yellow]server away: {escape(progress.waiting)}[/]; {progress.sent} pieces sent, "
                                "the others wait here")
            if progress.waiting != self.waiting and self.view.live is None:
                err_console.print(f"[bold yellow]warning:[/] {escape(progress.waiting)}; the pieces wait here and "
                                  "go when it is back", highlight=False)
        else:
            self.view.server = f"[dim]server: {progress.sent} pieces sent[/]"
            if self.waiting and self.view.live is None:
                err_console.print(f"the server is back: {progress.sent} pieces sent", highlight=False)
        self.waiting = progress.waiting


def hand_off(meeting) -> None:
    """A recording left for later (recovered, or recorded with --no-process): say how to process it."""
    console.print(f"ready to process: voicebot process {meeting.id}")


def _recover_leftovers(s) -> None:
    """Recordings a crash left unfinished are repaired before a new one starts (not processed now:
    that would delay the meeting)."""
    from voicebot.record import recover
    from voicebot.record.recover import summary

    for meeting in recover(s, on_recovered=lambda report: err_console.print(
            f"recovered an unfinished recording: {summary(report)}", highlight=False, soft_wrap=True)):
        err_console.print(f"ready to process: voicebot process {meeting.id}", highlight=False)


@app.command()
def record(
    title: str = typer.Option("", "--title", "-t", help="Meeting title. Default: the .ics SUMMARY, else 'Meeting <date time>'."),
    invite: list[str] = typer.Option([], "--invite", "-i", help="Invitees: 'a@x.org, Name <b@y.org>; Alice' (repeatable). Quote names holding a comma."),
    ics: Path = typer.Option(None, "--ics", help="Calendar invitation (.ics): attendees, organizer, title (SUMMARY), date."),
    device: str = typer.Option("", "--device", "-d", help="Input device: its number or part of its name (`voicebot devices`). Default: setting record.device, else the system default."),
    language: str = typer.Option("", "--language", "-l", help="Language hint for the transcription (fr, en...). Default: detected."),
    duration: str = typer.Option("", "--duration", help="Stop by itself after this long: 90m, 1h30m, 45s or seconds. Default: until stopped."),
    no_process: bool = typer.Option(False, "--no-process", help="Only record; process later with `voicebot process ID`. Default: once stopped, transcribe, draft and email the minutes."),
    no_email: bool = typer.Option(False, "--no-email", help="Process the recording but send no email."),
    owner: str = typer.Option(None, "--owner", help="The web user who organised the meeting: they see it on the web (`voicebot users list`)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Ask nothing: accept more than 50 invitees (each gets an email) "
                                                         "and do not ask the organiser to confirm the speakers' names "
                                                         "and who was there (never asked without a terminal)."),
    server: str = typer.Option("", "--server", envvar="VOICEBOT_SERVER", help="A team server (https://...): each "
                               "piece goes to it as soon as it is recorded, and the server processes and mails the "
                               "meeting. Pieces wait here while it is away; nothing here is deleted before it has "
                               "them all."),
    token: str = typer.Option("", "--token", envvar="VOICEBOT_TOKEN", help="With --server: your API token "
                              "(`voicebot users token NAME` on the server)."),
    retry_for: float = typer.Option(600, "--retry-for", min=0, help="With --server: seconds to keep trying at the "
                                                                    "end while the server cannot be reached."),
) -> None:
    """Record a meeting from the microphone, crash-safe (Ctrl-C or `voicebot stop` ends it), then process it."""
    from voicebot import invites
    from voicebot.cli.pipeline import check_owner, set_owner
    from voicebot.record import record as run

    s = settings()
    sender = _sender(server, token, owner=owner, no_process=no_process, no_email=no_email)
    if owner:
        check_owner(owner)
    invitation = invites.collect(invite, ics, yes=yes)
    max_seconds = parse_duration(duration)
    _recover_leftovers(s)
    view = _StatusView()
    keep_chunks = s.record.keep_chunks
    if sender is not None:
        s.record.keep_chunks = True  # until the server has every piece (upload_live removes them then)
    worker = _LiveWorker(s, view, owner) if sender is None else _Sending(sender, view)
    try:
        meeting = run(s, title=title or invitation.title or "", invitees=invitation.people, device=device or None,
                      language=language.strip().lower() or None, on_status=worker, max_seconds=max_seconds,
                      server=sender.base if sender is not None else None)
    finally:
        view.close()
        if sender is None:
            worker.finish()
    if sender is not None:
        if meeting.status == "empty":
            raise UserError(f"no audio was recorded (meeting {meeting.id} kept with status 'empty'); nothing was "
                            "sent; check the input device with `voicebot devices`")
        _send_to_server(s, sender, meeting, ics, retry_for, keep_chunks)
        return
    if owner:
        set_owner(meeting.id, owner)
    if meeting.status == "empty":
        raise UserError(f"no audio was recorded (meeting {meeting.id} kept with status 'empty'); "
                        "check the input device with `voicebot devices`")
    if no_process:
        hand_off(meeting)
        return
    from voicebot.cli.confirm import can_ask, confirm_names
    from voicebot.cli.pipeline import run_pipeline

    run_pipeline(meeting.id, email=False if no_email else None,
                 confirm=confirm_names if not yes and can_ask() else None)


def _sender(server: str, token: str, **local_only):
    """The ``upload_live.Sender`` of --server (checked before recording: a refused token stops here), or None."""
    from voicebot import upload_live

    if not server.strip():
        return None
    given = [f"--{name.replace('_', '-')}" for name, value in local_only.items() if value]
    if given:
        raise UserError(f"{', '.join(given)}: with --server the server processes and mails the meeting, as the "
                        "token's user")
    sender = upload_live.Sender(server, token)
    sender.check()
    if sender.waiting:
        err_console.print(f"[bold yellow]warning:[/] {escape(sender.waiting)}; recording anyway: the pieces wait "
                          "here and go when the server is back", highlight=False)
    return sender


def _send_to_server(s, sender, meeting, ics: Path | None, retry_for: float, keep_chunks: bool) -> None:
    from voicebot import upload as uploads

    _, recorded = uploads.recording(s, meeting.id)
    err_console.print("sending the rest of the recording to the server...", highlight=False)
    sent = sender.finish(meeting, invite=recorded["invite"], ics=ics, retry_for=retry_for, keep_chunks=keep_chunks)
    how = "queued for the workers" if sent.processing == "queue" else "the server processes it"
    console.print(f"sent: {how}: {escape(sent.url)}", highlight=False, soft_wrap=True)


@app.command()
def stop(
    meeting_id: str = typer.Argument(None, help="The recording to stop. Default: every recording in progress."),
    wait: float = typer.Option(120.0, "--wait", help="Seconds to wait for the recorder to finish writing."),
) -> None:
    """Stop the recording in progress (from another terminal); it ends cleanly, as with Ctrl-C."""
    from voicebot.record import request_stop

    for meeting in request_stop(settings(), meeting_id, wait=wait):
        if meeting.status == "recording":
            console.print(f"{meeting.id}: asked to stop; still finishing (run `voicebot stop` again to wait more)")
        else:
            console.print(f"{meeting.id}: stopped ({meeting.status})")


@app.command()
def recover(
    meeting_id: str = typer.Argument(None, help="Only this recording. Default: every unfinished one."),
) -> None:
    """Repair recordings that never finished (crash, power cut, full disk) and make them processable."""
    from voicebot.record import recover as run
    from voicebot.record.recover import summary

    reports = []
    meetings = run(settings(), meeting_id=meeting_id, on_recovered=reports.append)
    for report in reports:
        console.print(summary(report), highlight=False, soft_wrap=True)
    if not reports:
        console.print("nothing to recover: every recording is finished")
    for meeting in meetings:
        hand_off(meeting)


@app.command()
def devices() -> None:
    """List the audio input devices (for `voicebot record --device`)."""
    from rich.table import Table

    from voicebot.record import list_input_devices

    found = list_input_devices()
    if not found:
        raise UserError("no audio input device found (is a microphone connected and allowed?)")
    table = Table("#", "name", "host API", "channels", "default rate", "")
    for d in found:
        table.add_row(str(d.index), d.name, d.hostapi, str(d.channels), f"{d.default_samplerate:.0f}",
                      "default" if d.is_default else "")
    console.print(table)
