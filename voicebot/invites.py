"""The invite list of a meeting: who was invited, from the command line or an
.ics calendar invitation.

Stage-neutral: the recorder stores it in ``meeting.json`` when a recording
starts, and the pipeline reads it for ``voicebot process --invite/--ics``
(speaker naming, present/absent, who gets the minutes).

- ``--invite`` takes addresses separated by commas or semicolons, each as
  ``name@example.org``, ``Name <name@example.org>``, ``"Dupont, Jean"
  <jd@example.org>`` (quote a name that holds a comma) or a bare name
  (``Alice``: someone without an email address, still counted as invited).
  A person given only as an address gets a name from it
  (``jean.dupont@x.org`` -> ``Jean Dupont``).
- An .ics file gives ATTENDEE and ORGANIZER (with their CN names; rooms and
  resources are left out), SUMMARY as the title and DTSTART as the date.
  A file with several events uses the one starting nearest to ``near``
  (default: now).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable

from voicebot.errors import UserError
from voicebot.schema import Person

_ROLES = {"organizer": 0, "attendee": 1, "optional": 2}  # lower wins when the same person appears twice
MAX_ICS_BYTES = 2_000_000  # an invitation is a few kB; a larger file is not read
MAX_INVITEES = 50  # each invitee gets an email: more than this needs --yes


@dataclass
class Invitation:
    """What an invitation says: a title, a start, and the people invited."""

    people: list[Person] = field(default_factory=list)
    title: str | None = None
    start: datetime | date | None = None  # datetime (aware when the file says its zone) or an all-day date
    recurring: bool = False  # the event repeats (RRULE): ``start`` is then the first occurrence

    @property
    def date(self) -> str | None:
        """YYYY-MM-DD of the start, or None."""
        return self.start.isoformat()[:10] if self.start is not None else None


# --- addresses given on the command line ------------------------------------------


def _split_list(text: str) -> list[str]:
    """Split on commas and semicolons that are outside quotes and angle brackets."""
    items, current, quoted, angle = [], [], False, False
    for char in text:
        if char == '"' and not angle:
            quoted = not quoted
        elif char == "<" and not quoted:
            angle = True
        elif char == ">" and not quoted:
            angle = False
        if char in ",;" and not quoted and not angle:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def name_from_email(email: str) -> str:
    """A readable name from an address: ``jean-luc.dupont@x.org`` -> ``Jean-Luc Dupont``."""
    local = email.split("@", 1)[0].split("+", 1)[0]
    words = [w for w in re.split(r"[._\s]+", local) if w]
    return " ".join("-".join(p[:1].upper() + p[1:] for p in w.split("-")) for w in words) or email


def check_email(address: str, *, where: str) -> str:
    """The normalized address (domain lowercased), or a UserError saying what is wrong."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False, allow_smtputf8=True).normalized
    except EmailNotValidError as exc:
        raise UserError(f"{where}: {address!r} is not an email address ({exc}); "
                        "write name@example.org or 'Name <name@example.org>'") from None


def parse_addresses(text: str, *, where: str = "--invite") -> list[Person]:
    """People from ``"a@x.org, Name <b@y.org>; Alice"`` (see the module help). Each address is
    parsed strictly (``voicebot.mail.addresses.strict_mailbox``): one that does not parse is
    refused, never read as some other address."""
    from voicebot.mail.addresses import AddressError, strict_mailbox

    people = []
    for item in _split_list(text):
        if "@" not in item and "<" not in item:  # a bare name: invited, without an address
            name = " ".join(item.strip('"').split())
            if not name or not name.isprintable():
                raise UserError(f"{where}: cannot read {item!r}; write name@example.org or 'Name <name@example.org>'")
            people.append(Person(name=name))
            continue
        try:
            name, email = strict_mailbox(item)
        except AddressError as exc:
            raise UserError(f"{where}: {item!r} is not an email address ({exc}); "
                            "write name@example.org or 'Name <name@example.org>'") from None
        people.append(Person(name=name or name_from_email(email), email=email))
    return people


def merge_people(*groups: Iterable[Person]) -> list[Person]:
    """One entry per person (same email, or same name when there is no email), first seen first.

    A later entry fills in a missing email or name, and the strongest role
    (organizer > attendee > optional) is kept."""
    merged: list[Person] = []
    for person in (p for group in groups for p in group):
        key_email = person.email.lower() if person.email else None
        same = next((m for m in merged
                     if (key_email and m.email and m.email.lower() == key_email)
                     or (m.name.casefold() == person.name.casefold() and not (key_email and m.email))), None)
        if same is None:
            merged.append(Person(person.name, person.email, person.role))
            continue
        if not same.email and person.email:
            same.email = person.email
        made_up = name_from_email(same.email) if same.email else None
        if same.name == made_up and person.name.casefold() != made_up.casefold():
            same.name = person.name  # a real name beats one made from the address
        if _ROLES.get(person.role, 1) < _ROLES.get(same.role, 1):
            same.role = person.role
    return merged


# --- .ics files ------------------------------------------------------------------------


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _content_line(line: str) -> tuple[str, dict[str, str], str] | None:
    """``NAME;P1=V1;P2="V;2":value`` -> (NAME, {P1: V1, P2: V;2}, value)."""
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:i], line[i + 1:]
            break
    else:
        return None
    parts, current, quoted = [], [], False
    for char in head:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    params = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        params[key.strip().upper()] = val.strip().strip('"')
    return parts[0].strip().upper(), params, value


def _parse_dt(value: str, params: dict[str, str]) -> datetime | date | None:
    value = value.strip()
    try:
        if params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value[:8], "%Y%m%d").date()
        moment = datetime.strptime(value.rstrip("Zz")[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    if value.upper().endswith("Z"):
        return moment.replace(tzinfo=timezone.utc)
    tzid = params.get("TZID")
    if tzid:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        # "Europe/Paris", or a vendor prefix such as "/mozilla.org/20050126_1/Europe/Paris"
        pieces = tzid.strip("/").split("/")
        for n in range(len(pieces)):
            try:
                return moment.replace(tzinfo=ZoneInfo("/".join(pieces[n:])))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return moment  # floating local time (or a zone Python does not know, e.g. Windows names)


def _person(params: dict[str, str], value: str, role: str, where: str) -> Person | None:
    if params.get("CUTYPE", "").upper() in ("ROOM", "RESOURCE"):
        return None
    address = params.get("EMAIL") or re.sub(r"^mailto:", "", value.strip(), flags=re.IGNORECASE)
    email = None
    if "@" in address:
        try:
            email = check_email(address, where=where)
        except UserError:
            email = None  # one bad address in an invitation should not reject the whole file
    name = _unescape(params.get("CN", "")).strip()
    if not name and not email:
        return None
    if role == "attendee" and params.get("ROLE", "").upper() in ("OPT-PARTICIPANT", "NON-PARTICIPANT"):
        role = "optional"
    if email and (not name or name.lower() == email.lower()):
        name = name_from_email(email)
    return Person(name=name, email=email, role=role)


def parse_ics(text: str, *, near: datetime | None = None, where: str = "invitation") -> Invitation:
    """The invitation in iCalendar text (RFC 5545)."""
    text = re.sub(r"\r?\n[ \t]", "", text.replace("\r\n", "\n"))  # unfold continuation lines
    events: list[dict] = []
    stack: list[str] = []
    for raw in text.split("\n"):
        parsed = _content_line(raw)
        if parsed is None:
            continue
        name, params, value = parsed
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if stack[-1] == "VEVENT":
                events.append({"people": [], "title": None, "start": None, "recurring": False})
            continue
        if name == "END":
            if stack:
                stack.pop()
            continue
        if not stack or stack[-1] != "VEVENT":  # e.g. an ATTENDEE inside a VALARM is not a guest
            continue
        event = events[-1]
        if name == "SUMMARY":
            event["title"] = " ".join(_unescape(value).split()) or None
        elif name == "DTSTART":
            event["start"] = _parse_dt(value, params)
        elif name == "RRULE":
            event["recurring"] = True
        elif name in ("ATTENDEE", "ORGANIZER"):
            person = _person(params, value, "organizer" if name == "ORGANIZER" else "attendee", where)
            if person:
                event["people"].append(person)
    if not events:
        raise UserError(f"{where} holds no calendar event (no BEGIN:VEVENT); give the .ics file of the meeting")
    event = _nearest(events, near or datetime.now().astimezone())
    return Invitation(people=merge_people(event["people"]), title=event["title"], start=event["start"],
                      recurring=event["recurring"])


def _nearest(events: list[dict], near: datetime) -> dict:
    def distance(event: dict) -> float:
        start = event["start"]
        if start is None:
            return float("inf")
        if not isinstance(start, datetime):
            start = datetime(start.year, start.month, start.day)
        if start.tzinfo is None:
            start = start.astimezone()  # floating times are local times
        return abs((start - near).total_seconds())

    return min(events, key=distance)


def read_ics(path: Path, *, near: datetime | None = None) -> Invitation:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such .ics file")
    with open(path, "rb") as fh:
        data = fh.read(MAX_ICS_BYTES + 1)
    if len(data) > MAX_ICS_BYTES:
        raise UserError(f"{path} is larger than {MAX_ICS_BYTES // 1_000_000} MB, too large for a meeting "
                        "invitation; export the meeting's event alone as .ics")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if "BEGIN:VCALENDAR" not in text.upper():
        raise UserError(f"{path} is not an iCalendar file (no BEGIN:VCALENDAR); export the invitation as .ics")
    return parse_ics(text, near=near, where=str(path))


def collect(invites: Iterable[str] = (), ics: Path | None = None, *, near: datetime | None = None,
            yes: bool = False) -> Invitation:
    """The invitation from ``--ics`` (if any) and every ``--invite`` value, people merged. More than
    MAX_INVITEES people (each will get an email) is refused unless ``yes``."""
    invitation = read_ics(ics, near=near) if ics else Invitation()
    extra = [p for text in invites for p in parse_addresses(text)]
    invitation.people = merge_people(invitation.people, extra)
    if len(invitation.people) > MAX_INVITEES and not yes:
        raise UserError(f"{len(invitation.people)} invitees, more than {MAX_INVITEES}: each would get an email "
                        "with the minutes; add --yes if that is meant (nothing was done)")
    return invitation
