"""Who gets a message, and whether their address can be used.

Recipients come from the meeting's invite list (``--invite`` / ``--ics``)
and from the enrolled people the speaker naming identified (speakers.json
``labels[...]["email"]``). A recipient whose name is in the minutes' present
list (or speakers.json ``present``), or who was identified by voice, is an
attendee; an invitee who was not there is an absentee; an invitee whose
presence is unknown (the minutes' ``unknown`` list) gets the attendee version.

Addresses are checked with email-validator (syntax only, no DNS: this runs
offline). A bad address is reported and the other recipients still get
their message. Internationalized addresses are kept: an internationalized
domain is sent in its ASCII (IDNA) form, a non-ASCII local part needs a
server that speaks SMTPUTF8 and is flagged so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voicebot import schema
from voicebot.textfold import fold

ATTENDEE = "attendee"
ABSENTEE = "absentee"
ADMIN = "admin"

# C0/C1 controls, line and paragraph separators: nothing of this goes into a header.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(text: str | None, limit: int = 200) -> str:
    """User text made safe for a header: control characters (CR, LF...) become one space.

    The header itself is then built by :mod:`email.headerregistry`, which encodes
    non-ASCII text; removing CR/LF first means a title or a name can never start a
    header of its own."""
    cleaned = " ".join(_CONTROL_RE.sub(" ", text or "").split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


@dataclass
class Address:
    """A checked address. ``address`` is what goes in the envelope and the To header."""

    address: str
    smtputf8: bool = False  # the local part is not ASCII: the server must support SMTPUTF8

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


class AddressError(ValueError):
    """An address email-validator refuses; the message says why."""


def check_address(text: str, *, local_domains: bool = False) -> Address:
    """Validate one address (syntax only) and return its normalized, sendable form.

    ``local_domains`` also accepts reserved names such as ``localhost`` (the default
    sender ``voicebot@localhost``), which email-validator rejects for recipients."""
    from email_validator import EmailNotValidError, validate_email

    raw = (text or "").strip()
    if not raw:
        raise AddressError("no address")
    if _CONTROL_RE.search(raw):
        raise AddressError("the address contains control characters")
    local, _, domain = raw.rpartition("@")
    if local_domains and re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", domain):
        # Check the local part against a stand-in domain; the domain is a plain host name.
        checked = check_address(f"{local}@example.org")
        return Address(f"{checked.address.rpartition('@')[0]}@{domain.lower()}", smtputf8=checked.smtputf8)
    try:
        # Syntax only: no DNS (offline), and intranet domains (corp.local, mailhost) are fine.
        info = validate_email(raw, check_deliverability=False, allow_smtputf8=True, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from None
    if info.ascii_email:  # ASCII local part: IDNA domain, any server takes it
        return Address(info.ascii_email, smtputf8=False)
    return Address(info.normalized, smtputf8=True)


def strict_mailbox(text: str) -> tuple[str, str]:
    """(display name, address) of exactly one mailbox as a person writes it, ``name@example.org``
    or ``Name <name@example.org>``, parsed by RFC 5322's rules (the standard library's
    ``email.headerregistry``) and checked by email-validator (syntax only). AddressError for
    anything else: text that is not exactly one clean mailbox is refused, never guessed at, so
    an address is never rewritten to another recipient. The address comes back normalized
    (its domain in lower case); its local part is never changed."""
    import unicodedata as ud
    from email import errors, policy

    from email_validator import EmailNotValidError, validate_email

    raw = (text or "").strip()
    if not raw:
        raise AddressError("no address")
    if _CONTROL_RE.search(raw):
        raise AddressError("it contains control characters (a line break?)")
    try:
        header = policy.default.header_factory("To", raw)
    except (ValueError, TypeError, IndexError) as exc:
        raise AddressError(f"it cannot be read as an address ({exc})") from None
    defects = [d for d in header.defects if not isinstance(d, errors.NonASCIILocalPartDefect)]
    if defects or len(header.addresses) != 1 or not header.addresses[0].domain:
        raise AddressError("it is not one address like name@example.org or Name <name@example.org>")
    mailbox = header.addresses[0]
    try:
        checked = validate_email(mailbox.addr_spec, check_deliverability=False, allow_smtputf8=True).normalized
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from None
    if ud.normalize("NFC", checked.rpartition("@")[0]) != ud.normalize("NFC", mailbox.username):
        raise AddressError(f"it would be read as {checked}, another address")
    return " ".join(mailbox.display_name.split()), checked


def domain_matches(domain: str, team_domains: list[str]) -> bool:
    """``a.example.org`` is inside ``example.org``; an empty list means every domain is the team's."""
    if not team_domains:
        return True
    domain = _ascii_domain(domain)
    for team in team_domains:
        team = _ascii_domain(team.strip().lstrip("@"))
        if team and (domain == team or domain.endswith("." + team)):
            return True
    return False


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


@dataclass
class Recipient:
    name: str  # display name ("" when only an address is known)
    address: Address
    kind: str  # attendee | absentee | admin
    sources: list[str] = field(default_factory=list)  # "invite", "voice"

    @property
    def key(self) -> str:
        """Name key; without a display name, the address's local part ("alice.martin" -> "alice martin")."""
        if self.name:
            return fold(self.name)
        return fold(re.sub(r"[._+-]+", " ", self.address.address.rpartition("@")[0]))


_GENERIC_SPEAKER_RE = re.compile(r"^(speaker|locuteur|locutrice|intervenant|intervenante|unknown|inconnu)[\s_-]*\d*$",
                                 re.IGNORECASE)


def present_names(minutes: schema.Minutes, speakers: dict | None) -> dict[str, str]:
    """Everyone the minutes or the speaker naming say was there: name key (:func:`voicebot.textfold.fold`) -> name."""
    names = set(minutes.present or [])
    if speakers:
        names.update(n for n in speakers.get("present") or [] if isinstance(n, str))
        for label in (speakers.get("labels") or {}).values():
            if isinstance(label, dict) and label.get("name"):
                names.add(str(label["name"]))
    unnamed = set((speakers or {}).get("unnamed", {}).values()) if isinstance((speakers or {}).get("unnamed"), dict) else set()
    # "Speaker 1", "SPEAKER_00": someone spoke, but who is unknown; they name no recipient.
    return {fold(n): n for n in sorted(names)
            if fold(n) and n not in unnamed and not _GENERIC_SPEAKER_RE.match(n.strip())}


def _identified(speakers: dict | None) -> list[tuple[str, str]]:
    """(name, email) of the enrolled people the speaker naming recognized, with an email."""
    found = []
    for label in ((speakers or {}).get("labels") or {}).values():
        if isinstance(label, dict) and label.get("email"):
            found.append((str(label.get("name") or ""), str(label["email"])))
    return found


def _name_matches(key: str, name: str) -> bool:
    """The same person, by name: equal, or one a shorter form of the other ("Alice" / "Alice Martin")."""
    mine, theirs = set(key.split()), set(name.split())
    return bool(mine and theirs) and (mine <= theirs or theirs <= mine)


def resolve(meeting: schema.Meeting, minutes: schema.Minutes, speakers: dict | None = None
            ) -> tuple[list[Recipient], list[str]]:
    """Everyone to mail, each once, attendees first; and the problems met (bad or missing addresses).

    One message per address: an invitee also recognized by voice is one recipient.
    Someone is an attendee when their name is among those present, or when the
    speaker naming recognized them; otherwise (invited, not heard) an absentee."""
    present = present_names(minutes, speakers)
    voice_addresses: set[str] = set()
    candidates: list[tuple[str, str, str]] = []  # (name, raw address, source)
    for name, email in _identified(speakers):
        candidates.append((name, email, "voice"))
    for person in meeting.invitees:
        candidates.append((person.name or "", person.email or "", "invite"))

    problems: list[str] = []
    by_address: dict[str, Recipient] = {}
    for name, raw, source in candidates:
        name = header_text(name, limit=120)
        who = name or raw or "an invitee"
        if not (raw or "").strip():
            if source == "invite":
                problems.append(f"{who}: no email address in the invite list; not mailed")
            continue
        try:
            address = check_address(raw)
        except AddressError as exc:
            problems.append(f"{who}: address {header_text(raw)!r} is not valid ({exc}); not mailed")
            continue
        key = address.address.casefold()
        if source == "voice":
            voice_addresses.add(key)
        if key in by_address:
            recipient = by_address[key]
            recipient.name = recipient.name or name
            recipient.sources.append(source)
            continue
        by_address[key] = Recipient(name=name, address=address, kind=ABSENTEE, sources=[source])

    said_absent = {fold(n) for n in minutes.absent or []}
    if not present and not voice_addresses:
        # Nobody was identified (no diarization, no names): who was there is unknown, and
        # telling everyone "you missed it" would be wrong. Everyone gets the minutes, but
        # those the meeting itself said were away.
        if by_address:
            problems.append("nobody was identified as present: every invitee gets the minutes as an attendee"
                            + (" (but those said to be away)" if said_absent else ""))
        for recipient in by_address.values():
            recipient.kind = ABSENTEE if recipient.key in said_absent else ATTENDEE
    unsure = []
    for key, recipient in by_address.items():
        if key in voice_addresses or recipient.key in present:
            recipient.kind = ATTENDEE
        elif recipient.key in {fold(n) for n in minutes.unknown or []}:
            # Nobody can tell whether they were there: the minutes, rather than "you missed it".
            recipient.kind = ATTENDEE
            unsure.append(recipient.name or recipient.address.address)
    if unsure:
        problems.append(f"not known whether {', '.join(unsure)} attended: they get the minutes as attendees")
    exact = {r.key for r in by_address.values()}
    for name in sorted(set(present) - exact):
        # A shorter or longer form of a recipient's name. When it fits several, which one was there
        # is unknown: all of them get the minutes (better than telling an attendee they missed it).
        matches = [r for r in by_address.values() if r.key and _name_matches(r.key, name)]
        for recipient in matches:
            recipient.kind = ATTENDEE
        if len(matches) > 1:
            problems.append(f"{present[name]!r} who was present could be {', '.join(r.name or r.address.address for r in matches)}"
                            ": each gets the minutes as an attendee")
    recipients = sorted(by_address.values(), key=lambda r: r.kind != ATTENDEE)
    return recipients, problems
