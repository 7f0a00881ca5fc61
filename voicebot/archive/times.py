"""Times in the archive: ISO 8601 UTC strings ("2026-11-24T09:30:12+00:00"), which sort as
text; and what users type for them (``--since 2026-11-01``, ``--older-than 90d``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from voicebot.errors import UserError


def utc(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO string (naive means local time)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise UserError(f"{text!r} is not a date or time like 2026-11-24 or 2026-11-24T09:30") from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.astimezone()
    return value.astimezone(timezone.utc)


def iso(value: datetime | str | None) -> str | None:
    """The archive's time format: ISO 8601, UTC, whole seconds (sorts as text)."""
    if value is None:
        return None
    return utc(value).replace(microsecond=0).isoformat()


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))  # type: ignore[return-value]


def day_bounds(text: str, *, end: bool) -> str:
    """``--since 2026-11-01`` starts at that day's midnight (local time); ``--until`` includes the day."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                day = datetime.fromisoformat(text)
            except ValueError:
                raise UserError(f"{text!r} is not a date: no such day in the calendar") from None
            if end:
                day += timedelta(days=1)
            return iso(day)  # type: ignore[return-value]
        moment = utc(text)
        return iso(moment + timedelta(seconds=1) if end else moment)  # type: ignore[return-value]
    except (OverflowError, ValueError, OSError):  # a day at the very edge of the calendar (0001, 9999)
        raise UserError(f"{text!r} is too far in the past or the future for a meeting") from None


def time_bound(value: str | date | datetime | None, *, end: bool) -> str | None:
    """A --since/--until value (a date, a time, a datetime) as the archive's UTC text, or None."""
    if not value:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.astimezone()
    # a day (date or "2026-11-24") is included whole by --until; a moment is included too
    return day_bounds(value if isinstance(value, str) else value.isoformat(), end=end)


_AGE_UNITS = {"h": 1 / 24, "d": 1, "w": 7, "mo": 30, "m": 30, "y": 365}


def parse_age(text: str) -> timedelta:
    """'90d', '12w', '6mo', '1y', '36h' (a bare number is days) -> timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(h|d|w|mo|m|y)?\s*", (text or "").lower())
    if not match:
        raise UserError(f"{text!r} is not an age like 90d, 12w, 6mo or 1y")
    days = float(match.group(1)) * _AGE_UNITS[match.group(2) or "d"]
    if days > 100 * 365:
        raise UserError(f"{text!r} is older than any recording: give an age of at most 100 years")
    return timedelta(days=days)
