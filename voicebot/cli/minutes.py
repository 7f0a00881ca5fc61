"""`voicebot minutes MEETING_ID|TRANSCRIPT.json`: draft the minutes."""

from __future__ import annotations

from pathlib import Path

import typer

from voicebot.cli.app import app, console, err_console, settings


@app.command()
def minutes(
    source: str = typer.Argument(..., help="A meeting id (reads recordings/<id>/transcript.json, meeting.json and "
                                           "speakers.json, and writes minutes.json and minutes.md there) or a "
                                           "transcript JSON file."),
    engine: str = typer.Option("", "--engine", "-e", help="extractive (default: offline, no model), transformers "
                                                          "(setting minutes.model) or openai (setting minutes.openai_url)."),
    fmt: str = typer.Option("md", "--format", "-f", help="Output format: md (Markdown) or json (the Minutes JSON)."),
    date: str = typer.Option("", "--date", help="Meeting date YYYY-MM-DD (due dates resolve against it). Default: "
                                                "the transcript's or the meeting's date."),
    title: str = typer.Option("", "--title", help="Title of the minutes. Default: the transcript's or the meeting's title."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
) -> None:
    """Draft minutes: summary, decisions, action items (owner, due date), open questions, present and absent people."""
    from voicebot import recordings, schema
    from voicebot.errors import UserError
    from voicebot.fsutil import atomic_write
    from voicebot.minutes import draft, load_inputs, read_transcript, render_markdown, write_minutes

    if fmt not in ("md", "json"):
        raise UserError(f"unknown format {fmt!r}; choose md or json")
    s = settings()
    options = dict(engine=engine or None, title=title or None, date=date or None)
    path = Path(source)
    if recordings.is_meeting_id(source) and not path.is_file():
        directory = recordings.meeting_dir(s.recordings_dir, source)
        if not directory.is_dir():
            raise UserError(f"no meeting {source} under {s.recordings_dir}; `voicebot meetings list` shows them")
        transcript, meeting, speakers = load_inputs(directory)
        result = draft(transcript, s, meeting=meeting, speakers=speakers, **options)
        json_path, md_path = write_minutes(directory, result)
        err_console.print(f"written: {json_path} and {md_path}")
    else:
        if not path.exists() and path.suffix.lower() != ".json":
            raise UserError(f"{source} is neither a meeting id nor a transcript JSON file")
        result = draft(read_transcript(path), s, **options)
    for line in result.notes:
        err_console.print(f"[yellow]note:[/] {line}", markup=True, highlight=False, soft_wrap=True)
    text = schema.dumps(result) if fmt == "json" else render_markdown(result)
    if output:
        atomic_write(output, text)
        err_console.print(f"written: {output}")
    else:
        console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
