"""At the end of `voicebot record`: the organiser confirms who spoke and who was there, before anything is sent."""

from __future__ import annotations

import sys

from rich.markup import escape

from voicebot.cli.app import console, err_console
from voicebot.errors import UserError


def can_ask() -> bool:
    """A person is at the keyboard: standard input and output are a terminal."""
    return sys.stdin.isatty() and console.is_terminal


def confirm_names(job, ask=input) -> None:
    """Show the proposed names and presence; apply the organiser's corrections until they press Enter."""
    from voicebot import recordings, schema
    from voicebot.naming import confirm

    path = job.path(recordings.SPEAKERS)
    if not path.is_file():
        return
    naming = schema.read_json(path)
    transcript = schema.Transcript.from_dict(schema.read_json(job.path(recordings.TRANSCRIPT)))
    if not naming.get("labels") and not job.meeting.invitees:
        return  # nobody spoke that diarization could tell apart, and nobody was invited: nothing to confirm
    before = naming
    while True:
        err_console.print("\n[bold]Who spoke, and who was there[/] (nothing is sent before you confirm):")
        for line in confirm.summary(naming, transcript, before):
            err_console.print("  " + escape(line), highlight=False, soft_wrap=True)
        try:
            answer = ask("Enter to confirm, or correct (2=Carol, 2= nobody, -David absent, +David present, "
                         "?David unknown): ").strip()
        except EOFError:
            answer = ""
        if answer.lower() in ("", "y", "yes", "o", "oui", "ok"):
            break
        try:
            naming = confirm.apply(naming, confirm.parse(answer), job.meeting.invitees)
        except UserError as exc:
            err_console.print(f"[yellow]{escape(str(exc))}[/]", highlight=False)
    if naming is not before:
        confirm.save(job.directory, before, naming)
        err_console.print("names and presence saved; the minutes and emails follow them", highlight=False)
