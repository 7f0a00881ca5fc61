"""iCalendar (RFC 5545) for action items: one VTODO per action item with a
due date, and a VEVENT for the next meeting when one was set. Calendar and
task apps (Thunderbird, Outlook, Apple Reminders, Evolution) import it.

Text is escaped (backslash, semicolon, comma, newline), control characters
are dropped, long lines are folded at 75 octets without splitting a UTF-8
character, and lines end with CRLF, as the RFC asks. UIDs are derived from
the meeting and the item so a re-sent message updates the same to-do."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone

from voicebot import schema

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(text: str) -> str:
    text = _CONTROL_RE.sub(" ", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets (continuations start with a space)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    pieces, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never cut inside a character
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines carry the leading space
    return "\r\n ".join(pieces)


def _uid(*parts: str, domain: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"{digest}@{domain}"


def _stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _date_or_datetime(name: str, value: str) -> str | None:
    text = value.strip()
    try:
        if len(text) <= 10:
            return f"{name};VALUE=DATE:{date.fromisoformat(text):%Y%m%d}"
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # floating local time, as the meeting said it
        return f"{name}:{moment:%Y%m%dT%H%M%S}"
    return f"{name}:{_stamp(moment)}"


def calendar(meeting: schema.Meeting, minutes: schema.Minutes, items: list[schema.ActionItem], *,
             domain: str, stamp: datetime, title: str, describe: callable = None) -> str | None:
    """The .ics text for ``items`` that have a due date (and the next meeting); None when empty.

    ``describe(item)`` gives each to-do's description (defaults to the meeting title)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//voicebot//minutes//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH"]
    count = 0
    for item in items:
        due = _date_or_datetime("DUE", item.due or "") if item.due else None
        if due is None:
            continue
        lines += ["BEGIN:VTODO",
                  f"UID:{_uid(meeting.id, 'todo', item.owner or '', item.task, str(item.source_start), domain=domain)}",
                  f"DTSTAMP:{_stamp(stamp)}",
                  f"SUMMARY:{escape_text(item.task)}",
                  f"DESCRIPTION:{escape_text(describe(item) if describe else title)}",
                  due, "STATUS:NEEDS-ACTION", "END:VTODO"]
        count += 1
    if minutes.next_meeting:
        start = _date_or_datetime("DTSTART", minutes.next_meeting)
        if start is not None:
            lines += ["BEGIN:VEVENT", f"UID:{_uid(meeting.id, 'next', minutes.next_meeting, domain=domain)}",
                      f"DTSTAMP:{_stamp(stamp)}", f"SUMMARY:{escape_text(title)}", start, "END:VEVENT"]
            count += 1
    if not count:
        return None
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
