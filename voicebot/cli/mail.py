"""`voicebot outbox ...`: the emails waiting, sent or failed, and sending them."""

from __future__ import annotations

import json
import time
from enum import Enum
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from voicebot.cli.app import console, err_console, settings, sub_app

outbox_app = sub_app("outbox", "Emails of the minutes: list what is waiting, sent or failed; send now; retry failures.")


class Status(str, Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


def _when(value: str | None) -> str:
    return (value or "").replace("T", " ").replace("+00:00", " UTC")


@outbox_app.command("list")
def list_(
    status: Optional[Status] = typer.Option(None, "--status", help="Only messages in this state."),
    meeting: Optional[str] = typer.Option(None, "--meeting", help="Only the messages of this meeting id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per message, without the raw bytes)."),
) -> None:
    """Show the outbox: recipient, kind, state, attempts, next try, and the last error (a server's reply)."""
    from voicebot.archive import open_archive

    with open_archive(settings()) as db:
        messages = db.outbox_list(status=status.value if status else None, meeting_id=meeting)
    if as_json:
        rows = [{k: v for k, v in vars(m).items() if k != "raw"} for m in messages]
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not messages:
        console.print("The outbox is empty" + (f" ({status.value})" if status else "") + ".")
        return
    table = Table(title="Outbox")
    for column in ("id", "state", "kind", "to", "subject", "tries", "next try / sent", "last error"):
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "state", "kind", "tries"))
    colors = {"pending": "yellow", "sent": "green", "failed": "red"}
    for m in messages:
        when = m.sent_at if m.status == "sent" else (m.next_attempt_at if m.status == "pending" else "")
        table.add_row(str(m.id), f"[{colors.get(m.status, 'white')}]{m.status}[/]", m.kind, escape(m.recipient),
                      escape(m.subject), str(m.attempts), _when(when), escape(m.last_error or ""))
    console.print(table)


def _print_report(report: dict) -> None:
    if report["busy"]:
        err_console.print("Another `voicebot outbox send` (or the pipeline) is delivering right now; nothing done.")
        return
    for item in report["messages"]:
        who = escape(f"{item['recipient']} ({item['kind']}, #{item['id']})")
        if item["status"] == "sent":
            console.print(f"[green]sent[/]    {who}")
        elif item["status"] == "retry":
            console.print(f"[yellow]retry[/]   {who}: {escape(item['error'] or '')}; next try "
                          f"{_when(item['next_attempt_at'])}")
        else:
            console.print(f"[red]failed[/]  {who}: {escape(item['error'] or '')}")
    summary = f"{report['sent']} sent, {report['retry']} to retry, {report['failed']} failed"
    if not report["due"]:
        summary = "Nothing to send"
    if report["maildir"]:
        written = "messages were written" if report["due"] else "messages go"
        console.print(f"{summary}. No SMTP server set (VOICEBOT_SMTP_URL): {written} as .eml files into the "
                      f"Maildir {escape(report['maildir'])}/new")
    else:
        console.print(f"{summary}, via {escape(report['transport'])}." if report["due"] else f"{summary}.")


def _deliver_once(as_json: bool, *, quiet_when_idle: bool = False) -> dict:
    from voicebot.archive import open_archive
    from voicebot.mail import deliver

    s = settings()
    with open_archive(s) as db:
        report = deliver(db, s)
    if quiet_when_idle and not report["due"] and not report["busy"]:
        return report
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report)
    return report


@outbox_app.command()
def send(
    every: float = typer.Option(0.0, "--every", min=0.0,
                                help="Keep running: deliver again every this many seconds (Ctrl-C stops)."),
    as_json: bool = typer.Option(False, "--json", help="Print the delivery report as JSON."),
) -> None:
    """Send every message that is due: over SMTP (VOICEBOT_SMTP_URL) or, without it, into the Maildir."""
    report = _deliver_once(as_json)
    if every <= 0:
        raise typer.Exit(1 if report["failed"] or report["busy"] else 0)
    try:
        while True:
            time.sleep(every)
            _deliver_once(as_json, quiet_when_idle=True)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@outbox_app.command()
def retry(
    ids: Optional[List[int]] = typer.Argument(None, help="Outbox ids to retry (see `voicebot outbox list`); "
                                                          "none = every failed message."),
    no_send: bool = typer.Option(False, "--no-send", help="Only put them back in the queue; do not send now."),
) -> None:
    """Put failed messages back in the queue (attempts reset) and send what is due."""
    from voicebot.archive import open_archive
    from voicebot.errors import UserError

    with open_archive(settings()) as db:
        if ids:
            known = {m.id: m for m in db.outbox_list()}
            missing = [i for i in ids if i not in known]
            if missing:
                raise UserError(f"no outbox message with id {', '.join(map(str, missing))}; "
                                "`voicebot outbox list` shows them")
            not_failed = [f"#{i} is {known[i].status}" for i in ids if known[i].status != "failed"]
            if not_failed:
                console.print(f"Only failed messages are retried: {', '.join(not_failed)}.")
        count = db.outbox_requeue(ids or None)
    console.print(f"{count} message{'s' if count != 1 else ''} back in the queue.")
    if count and not no_send:
        report = _deliver_once(False)
        raise typer.Exit(1 if report["failed"] or report["busy"] else 0)
