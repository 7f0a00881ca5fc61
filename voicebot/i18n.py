"""Dates and durations written out in French and English, the same in the
minutes, the web pages and the messages: "Tuesday 1 December 2026" /
"mardi 1er décembre 2026" (French writes the first of the month "1er").

Any other language gets the English words. Standard library only: the
minutes, the mail and the web all import it, and none of them imports another.
"""

from __future__ import annotations

from datetime import date, datetime

LANGUAGES = ("en", "fr")

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"],
}
WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}
_AT = {"en": "{date} at {time}", "fr": "{date} à {time}"}


def language_of(*candidates: str | None) -> str:
    """The first candidate written out here ("fr-CA" -> "fr"); English otherwise."""
    for candidate in candidates:
        code = (candidate or "").strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def parse_moment(value: str | date | None) -> date | datetime | None:
    """A date, or a datetime when the ISO text has a time ("2026-03-19T10:00", "...Z"); None if neither."""
    if isinstance(value, (date, datetime)):
        return value
    text = (value or "").strip()
    if not text:
        return None
    if "T" in text or " " in text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass  # "2026-03-19T..." that is not a time: still a date
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def day_of_month(day: int, language: str) -> str:
    """The day as written before the month: "1er" in French for the first, else the number."""
    return "1er" if language_of(language) == "fr" and day == 1 else str(day)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def long_date(value: str | date | None, language: str, *, with_time: bool = False) -> str:
    """ "Thursday 12 March 2026" / "jeudi 12 mars 2026"; text that is not a date is returned as is.

    ``with_time``: ISO text that gives a time ("2026-03-19T10:00") adds it, "... at 10:00" / "... à 10:00"."""
    parsed = parse_moment(value)
    if parsed is None:
        return str(value or "")
    code, day = language_of(language), _day(parsed)
    text = f"{WEEKDAYS[code][day.weekday()]} {day_of_month(day.day, code)} {MONTHS[code][day.month - 1]} {day.year}"
    if with_time and isinstance(parsed, datetime) and isinstance(value, str) and "T" in value:
        return _AT[code].format(date=text, time=f"{parsed:%H:%M}")
    return text


def short_date(value: str | date | None, language: str) -> str:
    """For a table cell: "Fri 13 Mar 2026" / "ven. 13 mars 2026" (French months are kept whole)."""
    parsed = parse_moment(value)
    if parsed is None:
        return str(value or "")
    code, day = language_of(language), _day(parsed)
    weekday = WEEKDAYS[code][day.weekday()][:3] + ("." if code == "fr" else "")
    month = MONTHS[code][day.month - 1]
    month = month if code == "fr" or len(month) <= 4 else month[:3]
    return f"{weekday} {day_of_month(day.day, code)} {month} {day.year}"


def day_month_year(value: str | date | None, language: str) -> str:
    """Without the weekday, for a subject line: "24 November 2026" / "1er novembre 2026"."""
    parsed = parse_moment(value)
    if parsed is None:
        return str(value or "")
    code, day = language_of(language), _day(parsed)
    return f"{day_of_month(day.day, code)} {MONTHS[code][day.month - 1]} {day.year}"


def duration(seconds: float) -> str:
    """To the second, for the minutes and their talk times: "1 h 02 min", "3 min 05 s", "40 s"."""
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def duration_in_minutes(seconds: float | None) -> str:
    """To the minute, for a sentence: "31 min", "1 h 05"; any time at all is at least "1 min"."""
    minutes = int(round((seconds or 0) / 60))
    if minutes < 60:
        return f"{max(minutes, 1) if seconds else 0} min"
    return f"{minutes // 60} h {minutes % 60:02d}"
