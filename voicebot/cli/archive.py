"""`voicebot search`, `voicebot meetings list|show|export|import|forget`, `voicebot people list|forget`,
`voicebot purge`: the archive from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from voicebot.cli.app import app, console, err_console, settings, sub_app

meetings_app = sub_app("meetings", "Archived meetings: list, show, export, import, forget.")
people_app = sub_app("people", "People the archive knows: names, emails, voiceprints.")

HIT_STYLE = "bold black on yellow"


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _when(started_at: str | None) -> str:
    """'2026-11-24T09:30:12+01:00' -> '2026-11-24 09:30' (the meeting's own local time)."""
    return (started_at or "")[:16].replace("T", " ")


def _confirm(question: str, yes: bool) -> None:
    from voicebot.errors import UserError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(f"{question} Add --yes to confirm (nothing was changed).")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


def _open():
    from voicebot.archive import open_archive

    return open_archive(settings())


# The filters of search and ask (cli/ask.py)
SPEAKER = typer.Option(None, "--speaker", "-s", help="Only what this person said (whole name or part of it, e.g. 'zoe').")
MEETING = typer.Option(None, "--meeting", "-m", help="Only in this meeting (its id, or the beginning of it).")
SINCE = typer.Option(None, "--since", help="Only meetings on or after this date (2026-11-01) or time.")
UNTIL = typer.Option(None, "--until", help="Only meetings on or before this date (the whole day is included).")


@app.command()
def search(
    query: str = typer.Argument(..., help='What was said: words (all must match), "a phrase", prefix*, a OR b, -excluded. Accents and case are ignored.'),
    speaker: str = SPEAKER,
    meeting: str = MEETING,
    since: str = SINCE,
    until: str = UNTIL,
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000, help="At most this many results, best first."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON (meeting_id, title, started_at, speaker, start, end, text, snippet with [hits], score)."),
) -> None:
    """Search every archived transcript; shows where each hit is and how to open it."""
    from voicebot import formats

    with _open() as db:
        meeting_id = db.resolve_meeting(meeting) if meeting else None
        hits = db.search(query, speaker=speaker, meeting=meeting_id, since=since, until=until, limit=limit)
    if as_json:
        _print_json([h.to_dict() for h in hits])
        return
    if not hits:
        err_console.print(f"No match for {escape(query)!s}.", highlight=False)
        return
    for number, hit in enumerate(hits, start=1):
        at = formats.clock(hit.start)
        head = Text(f"{number}. ", style="bold")
        head.append(hit.title or hit.meeting_id, style="bold")
        head.append(f"  {_when(hit.started_at)}", style="cyan")
        head.append(f"  {hit.speaker or 'unknown speaker'}", style="magenta")
        head.append(f"  at {at}", style="green")
        console.print(head)
        if console.is_terminal:
            body = Text("   ")
            for text, is_hit in hit.fragments:
                body.append(text, style=HIT_STYLE if is_hit else None)
        else:  # no colours in a pipe or a file: the hits stay visible as [brackets]
            body = Text("   " + hit.snippet)
        console.print(body, soft_wrap=True)
        console.print(Text(f"   voicebot meetings show {hit.meeting_id} --at {at}", style="dim"), soft_wrap=True)


@meetings_app.command("list")
def meetings_list(
    since: str = typer.Option(None, "--since", help="Only meetings on or after this date (2026-11-01)."),
    until: str = typer.Option(None, "--until", help="Only meetings on or before this date."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, max=1_000_000, help="At most this many meetings, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print the meetings as JSON."),
) -> None:
    """List archived meetings, newest first."""
    from voicebot import formats

    with _open() as db:
        rows = db.list_meetings(since=since, until=until, limit=limit)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        err_console.print("The archive has no meeting yet.")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id (date-time-title)", no_wrap=True)
    table.add_column("title", overflow="fold", ratio=1)
    table.add_column("length", no_wrap=True)
    table.add_column("kept", no_wrap=True)
    for row in rows:
        kept = "+".join(k for k, v in (("transcript", row["has_transcript"]), ("minutes", row["has_minutes"])) if v)
        table.add_row(row["id"], escape(row["title"] or ""),
                      formats.clock(row["duration"]) if row["duration"] else "", kept or row["status"])
    console.print(table)


@meetings_app.command("show")
def meetings_show(
    meeting: str = typer.Argument(..., help="Meeting id (or the beginning of it)."),
    at: str = typer.Option(None, "--at", help="Show the transcript around this time of the recording (12:34 or 1:02:03)."),
    context: float = typer.Option(30.0, "--context", min=0, max=86400, help="With --at: seconds of transcript shown before and after."),
) -> None:
    """Show a meeting: its card, its minutes' summary, and its transcript (or the part around --at)."""
    from voicebot import formats
    from voicebot.errors import UserError

    moment = None
    if at is not None:
        try:
            moment = formats.parse_clock(at)
        except ValueError as exc:
            raise UserError(f"--at: {exc}") from None
    with _open() as db:
        meeting_id = db.resolve_meeting(meeting)
        row = db.get_meeting(meeting_id)
        minutes = db.get_minutes(meeting_id)
        if moment is None:
            transcript = db.get_transcript(meeting_id)
            segments = transcript.segments if transcript else []
        else:
            segments = db.segments_between(meeting_id, moment - context, moment + context)
    assert row is not None
    console.print(Text(row["title"] or meeting_id, style="bold"))
    details = [f"id {meeting_id}", _when(row["started_at"])]
    if row["duration"]:
        details.append(f"duration {formats.clock(row['duration'])}")
    if row["language"]:
        details.append(f"language {row['language']}")
    console.print(Text(" · ".join(details), style="cyan"))
    if row["speakers"]:
        console.print(Text("speakers: " + ", ".join(row["speakers"])))
    if minutes and moment is None and minutes["minutes"].summary:
        console.print(Text("\nSummary", style="bold"))
        console.print(Text(minutes["minutes"].summary), soft_wrap=True)
    if not row["has_transcript"]:
        console.print(Text("\nNo transcript in the archive" + (" (purged; minutes kept)." if row["purged_at"] else "."),
                           style="yellow"))
        return
    console.print(Text(f"\nTranscript{f' around {formats.clock(moment)}' if moment is not None else ''}", style="bold"))
    if moment is not None and not segments:
        console.print(Text(f"nothing was said within {context:.0f} s of {formats.clock(moment)}", style="yellow"))
    for seg in segments:
        current = moment is not None and seg.start <= moment <= max(seg.end, seg.start + 0.01)
        line = Text("▶ " if current else "  ", style="bold green")
        line.append(f"[{formats.clock(seg.start)}] ", style="green")
        if seg.speaker:
            line.append(f"{seg.speaker}: ", style="magenta")
        line.append(seg.text.strip(), style="bold" if current else None)
        console.print(line, soft_wrap=True)


EXPORT_FORMATS = ("txt", "md", "srt", "vtt", "json")


def export_text(db, meeting_id: str, fmt: str) -> str:
    """A meeting rendered for export: txt/srt/vtt/json of its transcript, or md (minutes + transcript)."""
    from voicebot import formats
    from voicebot.errors import UserError

    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    row = db.get_meeting(meeting_id)
    transcript = db.get_transcript(meeting_id)
    if fmt != "md":
        if transcript is None:
            why = "was purged (only the minutes are kept: use --format md)" if row and row["purged_at"] else \
                "is not in the archive yet"
            raise UserError(f"the transcript of {meeting_id} {why}")
        return formats.render(transcript, fmt)
    minutes = db.get_minutes(meeting_id)
    parts = []
    if minutes:
        parts.append(minutes["markdown"].rstrip() + "\n")
    else:
        parts.append(f"# {row['title'] or meeting_id}\n\n{_when(row['started_at'])}\n")
    if transcript is not None:
        lines = [f"- **[{formats.clock(s.start)}]** " + (f"**{s.speaker}**: " if s.speaker else "") + s.text.strip()
                 for s in transcript.segments]
        parts.append("## Transcript\n\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


@meetings_app.command("export")
def meetings_export(
    meeting: str = typer.Argument(..., help="Meeting id (or the beginning of it)."),
    fmt: str = typer.Option("txt", "--format", "-f", help="txt, md (minutes + transcript), srt, vtt or json."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
) -> None:
    """Export a meeting's transcript (txt, srt, vtt, json) or its minutes and transcript (md)."""
    from voicebot.fsutil import atomic_write

    with _open() as db:
        meeting_id = db.resolve_meeting(meeting)
        text = export_text(db, meeting_id, fmt)
    if output:
        atomic_write(output, text)
        err_console.print(f"written: {output}")
    else:
        sys.stdout.write(text)


@meetings_app.command("import")
def meetings_import(
    transcript: Path = typer.Argument(..., help="A transcript JSON (as `voicebot transcribe --format json` writes it)."),
    title: str = typer.Option(..., "--title", "-t", help="The meeting's title."),
    date: str = typer.Option(..., "--date", "-d", help="When it took place: 2026-11-24 or 2026-11-24T14:30."),
    language: str = typer.Option(None, "--language", help="Its language (fr, en), when the transcript does not say."),
) -> None:
    """Archive a transcript that has no audio (from another tool): searchable and askable like any meeting."""
    from voicebot.importing import import_transcript

    imported = import_transcript(settings(), transcript, title=title, date=date, language=language)
    console.print(f"Imported {imported.meeting_id}: {imported.segments} segments, {imported.passages} passages "
                  "embedded for `voicebot ask`.", highlight=False)


@meetings_app.command("reindex")
def meetings_reindex() -> None:
    """Check the archive, rebuild its search index from the stored transcripts, and embed the passages
    of meetings that have none (meetings archived before `voicebot ask` existed)."""
    with _open() as db:
        before = db.check()
        db.reindex()
        embedded = db.index_passages()
        after = db.check()
    if embedded:
        console.print(f"{embedded} passages embedded.")
    for problem in before:
        err_console.print(Text(f"found: {problem}", style="yellow"))
    if after:
        for problem in after:
            err_console.print(Text(f"still: {problem}", style="red"))
        raise typer.Exit(1)
    console.print("Search index rebuilt; the archive checks out.")


def _print_report(report: dict[str, Any]) -> None:
    for warning in report.get("warnings", []):
        err_console.print(Text(f"warning: {warning}", style="yellow"))


@meetings_app.command("forget")
def meetings_forget(
    meeting: str = typer.Argument(..., help="Meeting id (the whole id, or the beginning of it)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Erase a meeting for good: audio, transcript, minutes, mail copies, index entries (GDPR)."""
    from voicebot.recordings import is_meeting_id

    with _open() as db:
        # a whole id not in the archive may still have a folder under recordings/
        meeting_id = meeting if is_meeting_id(meeting) and not db.get_meeting(meeting) else db.resolve_meeting(meeting)
        _confirm(f"Erase meeting {meeting_id} and everything recorded or written about it?", yes)
        report = db.forget_meeting(meeting_id)
    console.print(f"Forgotten {meeting_id}: {report['segments']} transcript segments, {report['minutes']} minutes "
                  f"versions, {report['outbox']} queued or sent messages, {report['files']} files "
                  f"({report['bytes'] / 1e6:.1f} MB), {report['mail_copies']} mail copies.", highlight=False)
    _print_report(report)


@people_app.command("list")
def people_list(as_json: bool = typer.Option(False, "--json", help="Print the people as JSON.")) -> None:
    """List the people the archive knows, with their email and whether a voiceprint is enrolled."""
    with _open() as db:
        people = db.list_people()
    if as_json:
        _print_json([{k: v for k, v in p.items() if k != "voiceprint"} for p in people])
        return
    if not people:
        err_console.print("The archive knows nobody yet.")
        return
    table = Table()
    for column in ("name", "email", "voiceprint", "source", "updated"):
        table.add_column(column, overflow="fold")
    for person in people:
        table.add_row(escape(person["name"]), escape(person["email"] or ""),
                      f"yes ({person['voiceprint_dim']})" if person["has_voiceprint"] else "no",
                      escape(person["source"] or ""), _when(person["updated_at"]))
    console.print(table)


@people_app.command("forget")
def people_forget(
    name: str = typer.Argument(..., help="The person's name as the archive knows it (`voicebot people list`)."),
    speech: bool = typer.Option(False, "--speech", help="Also erase what they said (their transcript segments); by default their words stay, attributed to '[forgotten]'."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Erase a person (GDPR): email, voiceprint, and their name in transcripts, minutes, artifacts and mail copies."""
    with _open() as db:
        _confirm(f"Erase {name} from the archive{' with everything they said' if speech else ''}?", yes)
        report = db.forget_person(name, speech=speech)
    what = "segments erased" if speech else "segments relabelled"
    count = report["segments_deleted"] if speech else report["segments_relabelled"]
    console.print(f"Forgotten {name}{'' if report['found'] else ' (no person record; names in meetings only)'}: "
                  f"{count} {what}, {report['mentions_redacted']} mentions redacted, in "
                  f"{len(report['meetings'])} meetings; {report['minutes']} minutes versions and "
                  f"{report['files_rewritten']} files rewritten; {report['outbox_deleted']} messages removed, "
                  f"{report['outbox_emptied']} sent copies emptied, {report['mail_copies']} mail copies erased.",
                  highlight=False)
    _print_report(report)


@people_app.command("history")
def people_history(
    name: str = typer.Argument(None, help="Only this person's voiceprint changes."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Every change of a voiceprint, newest first: who made it, from where, and whether it was undone."""
    with _open() as db:
        rows = db.voiceprint_history(name)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        err_console.print("No voiceprint change is logged.")
        return
    table = Table("change", "person", "by", "what", "when", "undone")
    for row in rows:
        what = ("enrolled" if not row["had_old"] else "replaced") if row["has_new"] else "removed"
        table.add_row(str(row["id"]), escape(row["name"]), escape(row["changed_by"]),
                      escape(f"{what}: {row['reason']}" if row["reason"] else what), _when(row["created_at"]),
                      _when(row["undone_at"]))
    console.print(table)


@people_app.command("undo")
def people_undo(
    change: int = typer.Argument(..., min=1, max=2**62, help="The change to undo (`voicebot people history` numbers them)."),
) -> None:
    """Undo a voiceprint change: the voiceprint it replaced comes back (or none, if there was none)."""
    with _open() as db:
        done = db.undo_voiceprint(change, changed_by="cli")
    console.print(f"Undid change {done['id']}: {escape(done['name'])} has "
                  + ("their previous voiceprint again." if done["restored"] else "no voiceprint now."),
                  highlight=False)


@app.command()
def purge(
    older_than: str = typer.Option(None, "--older-than", help="Age of the meetings to purge: 90d, 12w, 6mo, 1y. Default: the setting retention.older_than."),
    keep_minutes: bool = typer.Option(None, "--keep-minutes/--delete-minutes", help="Keep the minutes (erase audio and transcript only), or forget the meetings entirely. Default: the setting retention.keep_minutes (keep)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be erased."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (for cron jobs)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Apply the retention policy: erase meetings older than an age (audio and transcript; minutes kept if asked)."""
    from voicebot.archive import parse_age
    from voicebot.errors import UserError

    s = settings()
    age_text = older_than or s.retention.older_than
    if not age_text:
        raise UserError("no retention age: pass --older-than 90d, or set older_than in the [retention] "
                        "section of voicebot.toml (VOICEBOT_RETENTION_OLDER_THAN)")
    age = parse_age(age_text)
    keep = s.retention.keep_minutes if keep_minutes is None else keep_minutes
    with _open() as db:
        if not dry_run:
            preview = db.purge(age, keep_minutes=keep, dry_run=True)
            if preview.meetings:
                _confirm(f"Erase {'audio and transcripts of ' if keep else ''}{len(preview.meetings)} meetings "
                         f"older than {age_text}?", yes)
        report = db.purge(age, keep_minutes=keep, dry_run=dry_run)
    report.older_than = age_text
    if as_json:
        _print_json(report.to_dict())
        return
    verb = "Would erase" if dry_run else "Erased"
    if not report.meetings:
        console.print(f"Nothing to purge: no meeting older than {age_text} (before {report.cutoff[:10]}).")
        return
    table = Table(title=f"{verb}: meetings older than {age_text} ({'minutes kept' if keep else 'everything'})")
    for column in ("id", "date", "title", "files", "size"):
        table.add_column(column, overflow="fold")
    for item in report.meetings:
        table.add_row(item["id"], _when(item["started_at"]), escape(item["title"] or ""), str(item["files"]),
                      f"{item['bytes'] / 1e6:.1f} MB")
    console.print(table)
    console.print(f"{verb} {len(report.meetings)} meetings, {report.files} files, {report.bytes / 1e6:.1f} MB.",
                  highlight=False)
    _print_report(report.to_dict())
