"""Dates said in a meeting, resolved against the meeting date (French and English).

``find_dates(text, base)`` finds expressions such as "by Friday", "before next
Tuesday", "by the end of the month", "tomorrow", "in two weeks", "on the 7th of
April", "avant vendredi", "lundi prochain", "d'ici la fin du mois", "demain",
"dans deux semaines", "le 14 avril", and gives each its date.

Rules (stated once, here):
- a weekday ("Friday", "next Friday", "vendredi prochain", "this Friday") is the
  first such day strictly after the meeting date; "Friday next week" /
  "vendredi de la semaine prochaine" is the one in the following calendar week;
- "end of the week" / "fin de la semaine" is that week's Friday; "end of the
  month" its last day; "end of the year" 31 December; "end of the day" the meeting day;
- "next week" / "la semaine prochaine" as a deadline is the Friday of next week;
  "next month" / "le mois prochain" the last day of next month;
- day and month without a year ("the 7th of April", "le 14 avril", "20/03",
  day first) and "in N days/weeks" are read by dateparser with the meeting
  date as RELATIVE_BASE, preferring the future.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from voicebot.textfold import fold_same_length

_UNITS_EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
             "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_ORD_EN = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
           "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
           "eighteenth", "nineteenth"]
_UNITS_FR = ["zero", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
             "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"]


def _number_words() -> dict[str, int]:
    words: dict[str, int] = {}
    for n, w in enumerate(_UNITS_EN):
        words[w] = n
    for n, w in enumerate(_ORD_EN[1:], 1):
        words[w] = n
    words.update({"twenty": 20, "twentieth": 20, "thirty": 30, "thirtieth": 30, "a": 1, "an": 1})
    for n in range(1, 10):
        for sep in ("-", " "):
            words[f"twenty{sep}{_UNITS_EN[n]}"] = 20 + n
            words[f"twenty{sep}{_ORD_EN[n]}"] = 20 + n
    for sep in ("-", " "):
        words[f"thirty{sep}one"] = 31
        words[f"thirty{sep}first"] = 31
    for n, w in enumerate(_UNITS_FR):
        words[w] = n
        words[w.replace("-", " ")] = n
    words.update({"une": 1, "premier": 1, "1er": 1, "vingt": 20, "trente": 30, "vingt et un": 21,
                  "vingt-et-un": 21, "trente et un": 31, "trente-et-un": 31})
    for n in range(2, 10):
        for sep in ("-", " "):
            words[f"vingt{sep}{_UNITS_FR[n]}"] = 20 + n
    return words


NUMBERS = _number_words()
_NUM_ALT = "|".join(sorted((re.escape(w) for w in NUMBERS if w not in ("a", "an")), key=len, reverse=True))
_DAYNUM = rf"(?:\d{{1,2}}(?:st|nd|rd|th|er)?|{_NUM_ALT})"

WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
            "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
MONTHS = {"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
          "september": 9, "october": 10, "november": 11, "december": 12,
          "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8,
          "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12}
_WD = "|".join(WEEKDAYS)
_WD_EN = "|".join(list(WEEKDAYS)[:7])
_WD_FR = "|".join(list(WEEKDAYS)[7:])
_MO = "|".join(MONTHS)
_YEAR = r"(?:,?\s+(?:\d{4}))?"

_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("absolute", re.compile(rf"\b(?:the\s+|le\s+)?(?:{_WD}\s+)?(?:the\s+)?{_DAYNUM}\s+(?:of\s+)?(?:{_MO})\b{_YEAR}")),
    ("absolute", re.compile(rf"\b(?:{_WD},?\s+)?(?:{_MO})\s+(?:the\s+)?{_DAYNUM}\b{_YEAR}")),
    ("absolute", re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b")),
    # end_of and weekday: named groups, the same in the English and the French pattern.
    ("end_of", re.compile(r"\b(?:the\s+)?end\s+of\s+(?:the\s+)?(?:(?:this|(?P<next>next))\s+)?"
                          r"(?P<unit>day|week|month|year|quarter)\b")),
    ("end_of", re.compile(r"\b(?:la\s+)?fin\s+(?:de\s+la\s+|du\s+|de\s+l'|de\s+)"
                          r"(?P<unit>journee|semaine|mois|annee|trimestre)(?P<next>\s+prochaine?|\s+d'apres)?\b")),
    ("end_of_month", re.compile(rf"\b(?:the\s+)?end\s+of\s+({_MO})\b|\b(?:la\s+)?fin\s+(?:du\s+mois\s+d'|d'|de\s+)?({_MO})\b")),
    ("weekday", re.compile(rf"\b(?:ce\s+)?(?P<day>{_WD_FR})"
                           rf"(?P<suffix>\s+prochain|\s+de\s+la\s+semaine\s+prochaine|\s+en\s+huit)?\b")),
    ("weekday", re.compile(rf"\b(?:(?:next|this|coming)\s+)?(?P<day>{_WD_EN})"
                           rf"(?P<suffix>\s+next\s+week|\s+of\s+next\s+week|\s+week)?\b")),
    ("in_n", re.compile(rf"\b(?:in|within)\s+(?:the\s+next\s+)?({_NUM_ALT}|\d+|a|an)\s+(days?|weeks?|months?)\b")),
    ("in_n", re.compile(rf"\b(?:dans|d'ici|sous)\s+({_NUM_ALT}|\d+)\s+(jours?|semaines?|mois)\b")),
    ("period", re.compile(r"\b(next|this)\s+(week|month)\b|\b(la\s+semaine|le\s+mois)\s+prochaine?\b"
                          r"|\b(cette\s+semaine|ce\s+mois-ci)\b")),
    ("rel_day", re.compile(r"\b(the\s+day\s+after\s+tomorrow|apres-demain|apres\s+demain|tomorrow|demain|today|"
                           r"tonight|aujourd'hui|ce\s+soir|end\s+of\s+(?:the\s+)?day|eod|fin\s+de\s+(?:la\s+)?journee)\b")),
    ("day_of_month", re.compile(r"\b(?:by|before|until|on)\s+the\s+(\d{1,2})(?:st|nd|rd|th)\b"
                                r"|\b(?:avant|d'ici|pour|jusqu'au)\s+le\s+(\d{1,2}|premier|1er)\b(?!\s*(?:h\b|heures?|%))")),
]

_TIME_PATTERNS = [
    re.compile(rf"\bat\s+({_NUM_ALT}|\d{{1,2}})(?::(\d{{2}}))?\s*(a\.?m\.?|p\.?m\.?|o'clock)?\b"),
    re.compile(rf"\ba\s+({_NUM_ALT}|\d{{1,2}})\s*(?:h|heures?)\s*(\d{{2}}|trente|quinze|et\s+demie)?\b"),
    re.compile(r"\b(\d{1,2})\s*h\s*(\d{2})?\b"),
]


@dataclass
class DateMatch:
    start: int  # character positions in the text
    end: int
    text: str
    kind: str
    value: date


def _number(text: str) -> int | None:
    text = text.strip()
    digits = re.match(r"^(\d+)", text)
    if digits:
        return int(digits.group(1))
    return NUMBERS.get(text)


def _next_weekday(base: date, weekday: int) -> date:
    days = (weekday - base.weekday()) % 7 or 7
    return base + timedelta(days=days)


def _end_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=4096)
def _dateparser(text: str, base: date) -> date | None:
    import dateparser  # a few hundred ms; only when a date needs it

    settings = {"RELATIVE_BASE": datetime(base.year, base.month, base.day, 12, 0), "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day"]}
    parsed = dateparser.parse(text, languages=["en", "fr"], settings=settings)
    return parsed.date() if parsed else None


def _absolute(text: str, base: date) -> date | None:
    # Number words and ordinals to digits ("the seventh of April" -> "7 April"), weekday names dropped.
    folded = re.sub(rf"\b(?:{_WD})\b,?", " ", text)
    folded = re.sub(r"\b(the|le|of)\b", " ", folded)
    for word in sorted((w for w in NUMBERS if w not in ("a", "an")), key=len, reverse=True):
        folded = re.sub(rf"\b{re.escape(word)}\b", str(NUMBERS[word]), folded)
    folded = re.sub(r"(\d)(st|nd|rd|th|er)\b", r"\1", folded)
    folded = re.sub(r"\s+", " ", folded).strip()
    value = _dateparser(folded, base)
    if value and not re.search(r"\d{4}", folded) and value < base - timedelta(days=60):
        value = value.replace(year=value.year + 1)  # a deadline is not a year in the past
    return value


def _resolve(kind: str, match: re.Match, base: date) -> date | None:
    text = match.group(0)
    if kind == "iso":
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    if kind == "absolute":
        return _absolute(text, base)
    if kind == "end_of":
        unit, nxt = match.group("unit"), bool(match.group("next"))
        unit = {"journee": "day", "semaine": "week", "mois": "month", "annee": "year", "trimestre": "quarter"}.get(unit, unit)
        if unit == "day":
            return base
        if unit == "week":
            friday = base + timedelta(days=4 - base.weekday())
            if friday < base:
                friday += timedelta(days=7)
            return friday + timedelta(days=7) if nxt else friday
        if unit == "month":
            return _end_of_month(_add_months(base, 1) if nxt else base)
        if unit == "quarter":
            quarter_end_month = ((base.month - 1) // 3 + 1) * 3 + (3 if nxt else 0)
            return _end_of_month(_add_months(base.replace(day=1), quarter_end_month - base.month))
        return date(base.year + (1 if nxt else 0), 12, 31)
    if kind == "end_of_month":
        month = MONTHS[match.group(1) or match.group(2)]
        year = base.year + (1 if month < base.month else 0)
        return _end_of_month(date(year, month, 1))
    if kind == "weekday":
        name, suffix = match.group("day"), match.group("suffix") or ""
        weekday = WEEKDAYS[name]
        if "week" in suffix or "semaine" in suffix or "huit" in suffix:
            monday_next = base + timedelta(days=7 - base.weekday())
            return monday_next + timedelta(days=weekday)
        return _next_weekday(base, weekday)
    if kind == "in_n":
        count = _number(match.group(1)) or (1 if match.group(1) in ("a", "an") else None)
        if count is None:
            return None
        unit = match.group(2)
        if unit.startswith(("day", "jour")):
            return base + timedelta(days=count)
        if unit.startswith(("week", "semaine")):
            return base + timedelta(weeks=count)
        return _add_months(base, count)
    if kind == "period":
        words = text.split()
        is_month = "month" in words or "mois" in words or "mois-ci" in text
        is_next = "next" in words or "prochain" in text
        if is_month:
            return _end_of_month(_add_months(base, 1) if is_next else base)
        friday = base + timedelta(days=4 - base.weekday())
        return friday + timedelta(days=7) if is_next else max(friday, base)
    if kind == "rel_day":
        word = match.group(1)
        if "after" in word or "apres" in word:
            return base + timedelta(days=2)
        if word in ("tomorrow", "demain"):
            return base + timedelta(days=1)
        return base
    if kind == "day_of_month":
        day = _number(match.group(1) or match.group(2))
        if not day or day > 31:
            return None
        candidate_month = base if day >= base.day else _add_months(base.replace(day=1), 1)
        try:
            return candidate_month.replace(day=day)
        except ValueError:
            return _end_of_month(candidate_month)
    return None


def find_dates(text: str, base: date) -> list[DateMatch]:
    """Every date expression in ``text`` with its date, in text order, no two overlapping."""
    folded = fold_same_length(text)
    taken: list[tuple[int, int]] = []
    found = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(folded):
            a, b = match.span()
            if any(a < y and x < b for x, y in taken):
                continue
            value = _resolve(kind, match, base)
            if value is None:
                continue
            taken.append((a, b))
            found.append(DateMatch(a, b, text[a:b], kind, value))
    return sorted(found, key=lambda m: m.start)


def find_time(text: str) -> str | None:
    """A time of day said in the text ("at ten", "at 2 pm", "à dix heures", "14h30") as HH:MM."""
    folded = fold_same_length(text)
    for pattern in _TIME_PATTERNS:
        match = pattern.search(folded)
        if not match:
            continue
        hour = _number(match.group(1))
        if hour is None or hour > 23:
            continue
        minutes_text = (match.group(2) or "").strip() if match.lastindex and match.lastindex >= 2 else ""
        minutes = {"trente": 30, "quinze": 15}.get(minutes_text, None)
        if minutes is None:
            minutes = 30 if "demie" in minutes_text else int(minutes_text) if minutes_text.isdigit() else 0
        suffix = (match.group(3) or "") if match.lastindex and match.lastindex >= 3 else ""
        if suffix.startswith("p") and hour < 12:
            hour += 12
        if minutes > 59:
            continue
        return f"{hour:02d}:{minutes:02d}"
    return None


def parse_iso_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
