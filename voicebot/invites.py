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
  (default: now). It is read with the icalendar library: a start in a time
  zone that is neither known (an IANA or a Windows name) nor defined in the
  file (VTIMEZONE) is refused with what to do, never taken as local time.
- :func:`find_person` says which invitee someone is (an enrolled voice, a
  speaker the naming identified); the pipeline and the minutes both use it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Iterable

from voicebot.errors import UserError
from voicebot.schema import Person
from voicebot.textfold import fold

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


# --- who is who -------------------------------------------------------------------------


def _name_words(name: str | None) -> list[str]:
    """The words of a name as compared: case, accents, spacing and typographic apostrophes ignored."""
    return fold((name or "").replace("’", "'")).split()


def same_name(a: str | None, b: str | None, *, short_forms: bool = True) -> bool:
    """The same person by name: equal, or a first name alone that begins the other ("Bob" / "Bob Martin").

    "Bob Stone" and "Bob Martin" are two people; "Zoé" and "zoe" one. ``short_forms=False``:
    equal names only (merging an invite list, where "Bob" and "Bob Martin" may be two guests)."""
    mine, theirs = _name_words(a), _name_words(b)
    if not mine or not theirs:
        return False
    return mine == theirs or (short_forms and mine[0] == theirs[0] and 1 in (len(mine), len(theirs)))


def _email_key(email: str | None) -> str:
    return (email or "").strip().casefold()


def find_person(name: str | None, email: str | None, people: Iterable[Person]) -> Person | None:
    """Who of ``people`` (an invite list, or those present) this person is: the same email (case ignored)
    first, else the same name (:func:`same_name`); None when nobody."""
    people = list(people)
    key = _email_key(email)
    if key:
        by_email = next((p for p in people if _email_key(p.email) == key), None)
        if by_email is not None:
            return by_email
    return next((p for p in people if same_name(p.name, name)), None)


def merge_people(*groups: Iterable[Person]) -> list[Person]:
    """One entry per person (same email, or same name when there is no email), first seen first.

    A later entry fills in a missing email or name, and the strongest role
    (organizer > attendee > optional) is kept."""
    merged: list[Person] = []
    for person in (p for group in groups for p in group):
        key_email = _email_key(person.email)
        same = next((m for m in merged
                     if (key_email and _email_key(m.email) == key_email)
                     or (same_name(m.name, person.name, short_forms=False) and not (key_email and m.email))), None)
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
    name = params.get("CN", "").strip()
    if not name and not email:
        return None
    if role == "attendee" and params.get("ROLE", "").upper() in ("OPT-PARTICIPANT", "NON-PARTICIPANT"):
        role = "optional"
    if email and (not name or name.lower() == email.lower()):
        name = name_from_email(email)
    return Person(name=name, email=email, role=role)


def _addresses(event, name: str) -> list:
    """The ATTENDEE (or ORGANIZER) properties of an event: icalendar gives one or a list."""
    found = event.get(name)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _vendor_zone(tzid: str) -> tzinfo | None:
    """The IANA zone at the end of a vendor-prefixed TZID ("/mozilla.org/20050126_1/Europe/Paris"),
    which icalendar resolves itself only in its recent (7.x) versions."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    pieces = tzid.strip("/").split("/")
    for n in range(1, len(pieces)):
        try:
            return ZoneInfo("/".join(pieces[n:]))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def _start(event, where: str) -> datetime | date | None:
    """DTSTART: aware when the file gives its zone (an IANA or Windows name, or the file's own
    VTIMEZONE), floating (naive) when it gives none; None when missing or unreadable."""
    prop = event.get("DTSTART")
    if prop is None:
        return None
    try:
        value = prop.dt
    except ValueError:  # a value icalendar could not read (icalendar.error.BrokenCalendarProperty)
        return None
    if not isinstance(value, date):
        return None
    tzid = prop.params.get("TZID")
    if tzid and isinstance(value, datetime) and value.tzinfo is None:
        zone = _vendor_zone(tzid)
        if zone is not None:
            return value.replace(tzinfo=zone)
        raise UserError(f"{where}: the meeting's start is in time zone {tzid!r}, which is not known here and not "
                        "defined in the file (no VTIMEZONE); export the invitation again with its time zones, "
                        "or change the TZID to a zone name such as Europe/Paris")
    return value


def parse_ics(text: str, *, near: datetime | None = None, where: str = "invitation") -> Invitation:
    """The invitation in iCalendar text (RFC 5545), read with the icalendar library."""
    import icalendar

    events: list[dict] = []
    with warnings.catch_warnings():
        # "/mozilla.org/20050126_1/Europe/Paris" read as Europe/Paris is what we want: not worth a warning.
        warnings.simplefilter("ignore", getattr(icalendar, "GloballyUniqueTZIDGuessed", UserWarning))
        try:
            calendars = icalendar.Calendar.from_ical(text, multiple=True)
        except ValueError as exc:
            raise UserError(f"{where} is not valid iCalendar ({exc}); export the invitation again as .ics") from None
        for event in (e for calendar in calendars for e in calendar.walk("VEVENT")):
            people = []
            # In the order the file first gives them; an ATTENDEE of a VALARM is not a guest (not listed here).
            for name in [key.upper() for key in event if key.upper() in ("ORGANIZER", "ATTENDEE")]:
                for address in _addresses(event, name):
                    params = {key.upper(): str(value) for key, value in address.params.items()}
                    person = _person(params, str(address), name.lower(), where)
                    if person:
                        people.append(person)
            events.append({"people": people, "title": " ".join(str(event.get("SUMMARY", "")).split()) or None,
                           "start": _start(event, where), "recurring": "RRULE" in event})
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
