"""iCalendar (RFC 5545) for action items: one VTODO per action item with a
due date, and a VEVENT for the next meeting when one was set. Calendar and
task apps (Thunderbird, Outlook, Apple Reminders, Evolution) import it.

Written with the icalendar library, which escapes text (backslash,
semicolon, comma, newline), folds long lines at 75 octets without splitting
a UTF-8 character and ends lines with CRLF, as the RFC asks; control
characters are dropped before. UIDs are derived from the meeting and the
item so a re-sent message updates the same to-do."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone
from typing import Callable

from voicebot import schema

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain_text(text: str) -> str:
    """User text as an iCalendar TEXT value takes it: line breaks as "\\n", other control characters as spaces."""
    return _CONTROL_RE.sub(" ", (text or "").replace("\r\n", "\n").replace("\r", "\n"))


def _uid(*parts: str, domain: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"{digest}@{domain}"


def _date_or_datetime(value: str) -> date | datetime | None:
    """An ISO date, a floating local time as the meeting said it, or a UTC time; None if not a date."""
    text = value.strip()
    try:
        if len(text) <= 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is None else moment.astimezone(timezone.utc)


def calendar(meeting: schema.Meeting, minutes: schema.Minutes, items: list[schema.ActionItem], *,
             domain: str, stamp: datetime, title: str,
             describe: Callable[[schema.ActionItem], str] | None = None) -> str | None:
    """The .ics text for ``items`` that have a due date (and the next meeting); None when empty.

    ``describe(item)`` gives each to-do's description (defaults to the meeting title)."""
    import icalendar

    cal = icalendar.Calendar()
    for name, value in (("VERSION", "2.0"), ("PRODID", "-//voicebot//minutes//EN"), ("CALSCALE", "GREGORIAN"),
                        ("METHOD", "PUBLISH")):
        cal.add(name, value)
    dtstamp = stamp.astimezone(timezone.utc)
    for item in items:
        due = _date_or_datetime(item.due) if item.due else None
        if due is None:
            continue
        todo = icalendar.Todo()
        todo.add("UID", _uid(meeting.id, "todo", item.owner or "", item.task, str(item.source_start), domain=domain))
        todo.add("DTSTAMP", dtstamp)
        todo.add("SUMMARY", plain_text(item.task))
        todo.add("DESCRIPTION", plain_text(describe(item) if describe else title))
        todo.add("DUE", due)
        todo.add("STATUS", "NEEDS-ACTION")
        cal.add_component(todo)
    start = _date_or_datetime(minutes.next_meeting) if minutes.next_meeting else None
    if start is not None:
        event = icalendar.Event()
        event.add("UID", _uid(meeting.id, "next", minutes.next_meeting, domain=domain))
        event.add("DTSTAMP", dtstamp)
        event.add("SUMMARY", plain_text(title))
        event.add("DTSTART", start)
        cal.add_component(event)
    if not cal.subcomponents:
        return None
    return cal.to_ical().decode("utf-8")
