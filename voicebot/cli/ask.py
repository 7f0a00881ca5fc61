"""`voicebot ask`: a question to the archived meetings, answered with citations (voicebot.ask)."""

from __future__ import annotations

import json
import sys

import typer
from rich.text import Text

from voicebot.cli.app import app, console, err_console, settings
from voicebot.cli.archive import MEETING, SINCE, SPEAKER, UNTIL


@app.command()
def ask(
    question: str = typer.Argument(..., help='What you want to know, in French or English: "what did we decide about the hosting provider?"'),
    meeting: str = MEETING,
    speaker: str = SPEAKER,
    since: str = SINCE,
    until: str = UNTIL,
    passages_only: bool = typer.Option(False, "--passages", help="Show the best passages without asking the language model."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON (text, claims with their citation numbers, citations with meeting, speakers, time, link)."),
) -> None:
    """Ask the archived meetings a question; every statement of the answer cites the moment that says it."""
    from voicebot import formats
    from voicebot.archive import open_archive
    from voicebot.ask import ask as answer_question

    with open_archive(settings()) as db:
        meeting_id = db.resolve_meeting(meeting) if meeting else None
        answer = answer_question(settings(), db, question, engine="passages" if passages_only else None,
                                 meeting=meeting_id, speaker=speaker, since=since, until=until)
        waiting = db.meetings_without_passages()
    if waiting:
        err_console.print(Text(f"{waiting} meeting(s) are not embedded yet, so only their words are searched: "
                               "`voicebot meetings reindex` embeds them.", style="yellow"), soft_wrap=True)
    if as_json:
        sys.stdout.write(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    if answer.note:
        err_console.print(Text(answer.note, style="yellow"), soft_wrap=True)
    if not answer.found:
        console.print(answer.text)
        return
    if answer.claims:
        console.print(Text(answer.text, style="bold"), soft_wrap=True)
    for citation in answer.citations:
        head = Text(f"[{citation.number}] ", style="bold")
        head.append(citation.title or citation.meeting_id, style="bold")
        head.append(f"  {citation.started_at[:16].replace('T', ' ')}", style="cyan")
        head.append(f"  {', '.join(citation.speakers) or 'unknown speaker'}", style="magenta")
        head.append(f"  at {formats.clock(citation.start)}", style="green")
        console.print(head, soft_wrap=True)
        if not answer.claims:  # the passages are the answer
            console.print(Text("   " + citation.text), soft_wrap=True)
        console.print(Text(f"   {citation.link}   voicebot meetings show {citation.meeting_id} --at "
                           f"{formats.clock(citation.start)}", style="dim"), soft_wrap=True)
