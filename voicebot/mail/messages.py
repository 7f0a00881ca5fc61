"""Composing the messages: one per recipient, in the meeting's language.

Attendees get the minutes. Invitees who were absent get "you missed
<meeting>": the decisions, the action items assigned to them first, and how
to search the full transcript. Every message is multipart/alternative
(text for text-only clients, HTML with inline CSS) plus attachments: the
minutes as Markdown, the transcript as .txt and .vtt when
``mail.attach_transcript`` is on and the recipient is inside
``mail.team_domains``, and an .ics with the recipient's dated action items.

User text (titles, names, transcript) is escaped in HTML by Jinja2's
autoescape and made single-line before it reaches a header, and headers are
built by :mod:`email.headerregistry`, so nothing a speaker says or a title
holds can add a header or markup.

The Message-ID is derived from (meeting id, recipient address, version): the
same minutes composed twice give the same Message-ID, which the outbox uses to
never queue a message twice, and which mail clients use to show a duplicate
delivery once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

from voicebot import formats, schema
from voicebot.config import Settings
from voicebot.errors import UserError
from voicebot.i18n import language_of
from voicebot.mail import addresses, ics
from voicebot.mail.addresses import ABSENTEE, ADMIN, ATTENDEE, Recipient, header_text
from voicebot.mail.i18n import Words
from voicebot.mail.redact import redact
from voicebot.textfold import fold

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Draft:
    """A composed message, before it is an outbox row."""

    meeting_id: str | None  # None: a message about the service
    recipient: str  # the envelope address
    name: str
    kind: str  # attendee | absentee | admin
    message_id: str
    subject: str
    message: EmailMessage
    smtputf8: bool = False

    @property
    def raw(self) -> bytes:
        """The message as sent: CRLF line ends; UTF-8 headers only when the address needs SMTPUTF8."""
        return self.message.as_bytes(policy=policy.SMTPUTF8 if self.smtputf8 else policy.SMTP)


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    text = _environment().get_template(template).render(**context)
    if template.endswith(".txt.j2"):  # sections that were left out leave no run of blank lines
        text = re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
    return text


def sender(settings: Settings) -> tuple[str, addresses.Address]:
    """(display name, address) of ``mail.sender``; a bad setting is the user's to fix."""
    name, raw = parseaddr(settings.mail.sender or "")
    try:
        return header_text(name) or "voicebot", addresses.check_address(raw, local_domains=True)
    except addresses.AddressError as exc:
        raise UserError(f"mail.sender = {settings.mail.sender!r} is not a valid address ({exc}); "
                        "set VOICEBOT_MAIL_SENDER to e.g. voicebot@example.org") from None


def message_domain(settings: Settings) -> str:
    """The right-hand side of Message-IDs and UIDs: the sender's domain, in ASCII."""
    domain = sender(settings)[1].domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "voicebot.localhost"


def message_id(settings: Settings, *parts: object) -> str:
    """``<sha256(parts)@sender-domain>``: the same parts always give the same Message-ID."""
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{message_domain(settings)}>"


def _header_address(name: str, address: addresses.Address) -> HeaderAddress:
    # From the parts, not addr_spec: the stdlib parser refuses a non-ASCII local part,
    # which SMTPUTF8 allows (and the address was validated already).
    local, _, domain = address.address.rpartition("@")
    return HeaderAddress(display_name=name, username=local, domain=domain)


def new_message(settings: Settings, *, to_name: str, to: addresses.Address, subject: str, msg_id: str,
                language: str, meeting_id: str, kind: str) -> EmailMessage:
    """Headers of an outgoing message, every one built from cleaned, single-line text."""
    from_name, from_address = sender(settings)
    msg = EmailMessage(policy=policy.SMTPUTF8 if to.smtputf8 or from_address.smtputf8 else policy.SMTP)
    msg["From"] = _header_address(from_name, from_address)
    msg["To"] = _header_address(header_text(to_name), to)
    msg["Subject"] = header_text(subject, limit=250)
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a bot
    msg["X-Voicebot-Meeting"] = header_text(meeting_id)
    msg["X-Voicebot-Kind"] = kind
    return msg


# --- minutes to attendees and absentees ------------------------------------------


def _owns(item: schema.ActionItem, recipient: Recipient) -> bool:
    if item.owner_email and item.owner_email.strip().casefold() == recipient.address.address.casefold():
        return True
    return bool(item.owner) and fold(item.owner) == recipient.key


def _context(minutes: schema.Minutes, meeting: schema.Meeting, settings: Settings, words: Words,
             clean: Any) -> dict[str, Any]:
    """What every recipient's message shows, already redacted when asked."""
    title = clean(header_text(minutes.title or meeting.title, limit=200)) or meeting.id
    web = settings.web_address
    return {
        "t": words,
        "title": title,
        "when": words.date(meeting.started_at or minutes.date),
        "duration": words.duration(minutes.duration),
        "present": [header_text(n) for n in minutes.present],
        "absent": [header_text(n) for n in minutes.absent],
        "unknown": [header_text(n) for n in minutes.unknown],
        "summary": clean(minutes.summary or ""),
        "key_points": [{"text": clean(k.text), "at": formats.clock(k.start)} for k in minutes.key_points],
        "decisions": [{"text": clean(d.text), "at": formats.clock(d.source_start),
                       "speaker": header_text(d.speaker) if d.speaker else ""} for d in minutes.decisions],
        "questions": [{"text": clean(q.text), "at": formats.clock(q.source_start)} for q in minutes.open_questions],
        "next_meeting": words.date(minutes.next_meeting) if minutes.next_meeting else "",
        "notes": [clean(n) for n in minutes.notes],
        "search_cli": f'voicebot search "{words("search_words")}" --meeting {meeting.id}',
        "search_web": f"{web}/meetings/{meeting.id}",
        "redacted": settings.mail.redact,
    }


def _item(item: schema.ActionItem, words: Words) -> dict[str, str]:
    return {"task": item.task, "owner": header_text(item.owner) if item.owner else words("unassigned"),
            "due": words("due", date=words.date(item.due)) if item.due else "",
            "at": formats.clock(item.source_start)}


def _attach_text(msg: EmailMessage, text: str, subtype: str, filename: str, **params: str) -> None:
    # base64 keeps every attachment 7-bit clean whatever its lines (no 8BITMIME needed).
    msg.add_attachment(text, subtype=subtype, filename=filename, cte="base64", params=params or {})


def compose_minutes(minutes: schema.Minutes, meeting: schema.Meeting, settings: Settings, *,
                    transcript: schema.Transcript | None = None, speakers: dict | None = None,
                    markdown: str | None = None, version: int = 1) -> tuple[list[Draft], list[str]]:
    """A Draft per recipient (attendees first) and the problems met; see the module docstring."""
    recipients, problems = addresses.resolve(meeting, minutes, speakers)
    if not recipients:
        return [], problems
    language = language_of(minutes.language, meeting.language, transcript.language if transcript else None)
    words = Words(language)
    clean = redact if settings.mail.redact else (lambda text: text)
    shared = _context(minutes, meeting, settings, words, clean)
    date_text = words.short_date(minutes.date or meeting.date)
    day = (minutes.date or meeting.date or "")[:10]
    stamp = _meeting_moment(meeting)
    domain = message_domain(settings)

    minutes_file = f"{words('minutes_file')}-{day}.md" if day else f"{words('minutes_file')}.md"
    markdown_text = clean(markdown) if markdown else None
    transcript_files: list[tuple[str, str, str]] = []
    if transcript is not None and settings.mail.attach_transcript:
        base = f"{words('transcript_file')}-{day}" if day else words("transcript_file")
        transcript_files = [(f"{base}.txt", "plain", clean(formats.to_txt(transcript))),
                            (f"{base}.vtt", "vtt", clean(formats.to_vtt(transcript)))]

    action_items = [dataclasses.replace(a, task=clean(a.task)) for a in minutes.action_items]  # .ics too
    drafts = []
    for recipient in recipients:
        mine = [a for a in action_items if _owns(a, recipient)]
        others = [a for a in action_items if not _owns(a, recipient)]
        internal = addresses.domain_matches(recipient.address.domain, settings.mail.team_domains)

        files: list[tuple[str, str, str, dict[str, str]]] = []  # (name, subtype, text, params)
        if markdown_text:
            files.append((minutes_file, "markdown", markdown_text, {}))
        if internal:
            files += [(name, subtype, text, {}) for name, subtype, text in transcript_files]
        if settings.mail.attach_ics:
            calendar = ics.calendar(meeting, minutes, mine, domain=domain, stamp=stamp, title=shared["title"],
                                    describe=lambda item: f"{shared['title']} — {shared['when']}")
            if calendar:
                files.append((f"{words('actions_file')}-{day or meeting.id}.ics", "calendar", calendar,
                              {"method": "PUBLISH"}))

        context = {**shared, "kind": recipient.kind, "name": recipient.name,
                   "mine": [_item(a, words) for a in mine],
                   "others": [_item(a, words) for a in others],
                   "attachments": [name for name, *_ in files]}
        subject_key = "subject_attendee" if recipient.kind == ATTENDEE else "subject_absentee"
        subject = words(subject_key, title=shared["title"], date=date_text)
        msg_id = message_id(settings, meeting.id, recipient.address.address.casefold(), version)
        msg = new_message(settings, to_name=recipient.name, to=recipient.address, subject=subject, msg_id=msg_id,
                          language=language, meeting_id=meeting.id, kind=recipient.kind)
        template = "attendee" if recipient.kind == ATTENDEE else "absentee"
        msg.set_content(render(f"{template}.txt.j2", **context), cte="quoted-printable")
        msg.add_alternative(render(f"{template}.html.j2", **context), subtype="html", cte="quoted-printable")
        for name, subtype, text, params in files:
            _attach_text(msg, text, subtype, name, **params)
        msg["Content-Language"] = language  # after the body: set_content moves Content-* headers into parts
        drafts.append(Draft(meeting_id=meeting.id, recipient=recipient.address.address, name=recipient.name,
                            kind=recipient.kind, message_id=msg_id, subject=msg["Subject"], message=msg,
                            smtputf8=recipient.address.smtputf8))
    return drafts, problems


def _meeting_moment(meeting: schema.Meeting) -> datetime:
    """DTSTAMP of the .ics: the meeting start, so recomposing gives the same calendar."""
    try:
        moment = datetime.fromisoformat((meeting.started_at or "").replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- incident alerts to the admin ---------------------------------------------------


def admin_address(settings: Settings) -> tuple[str, addresses.Address] | None:
    """``mail.admin`` as (display name, checked address); None when no admin is set."""
    if not (settings.mail.admin or "").strip():
        return None
    name, raw = parseaddr(settings.mail.admin)
    try:
        return name, addresses.check_address(raw or settings.mail.admin)
    except addresses.AddressError as exc:
        raise UserError(f"mail.admin = {settings.mail.admin!r} is not a valid address ({exc}); "
                        "fix VOICEBOT_MAIL_ADMIN or leave it empty") from None


def compose_service_drafts(settings: Settings, *, key: str, subject: str, body: str) -> list[Draft]:
    """One plain message to ``mail.admin`` about the service (the broker, the workers), not a meeting; none
    when no admin is set. ``key`` (e.g. the incident's id and whether it opened or closed) makes the
    Message-ID, so the same news is never queued twice."""
    admin = admin_address(settings)
    if admin is None:
        return []
    name, address = admin
    msg_id = message_id(settings, "service", key, address.address.casefold())
    msg = new_message(settings, to_name=header_text(name), to=address, subject=subject, msg_id=msg_id,
                      language="en", meeting_id="", kind=ADMIN)
    msg.set_content(body.strip() + "\n", cte="quoted-printable")
    return [Draft(meeting_id=None, recipient=address.address, name=header_text(name), kind=ADMIN,
                  message_id=msg_id, subject=msg["Subject"], message=msg, smtputf8=address.smtputf8)]


def compose_alert_drafts(settings: Settings, *, meeting_id: str, stage: str, error: str,
                         language: str | None = None) -> list[Draft]:
    """One message to ``mail.admin`` about a failed stage; none when no admin is set.

    The Message-ID is derived from (meeting, stage, error): the same failure
    reported again (a retry failing the same way) is not mailed twice."""
    admin = admin_address(settings)
    if admin is None:
        return []
    name, address = admin
    words = Words(language_of(language))
    clean = redact if settings.mail.redact else (lambda text: text)
    error_text = clean(str(error)).strip() or "?"
    context = {"t": words, "meeting": header_text(meeting_id), "stage": header_text(stage), "error": error_text}
    subject = words("subject_alert", stage=context["stage"], meeting=context["meeting"])
    msg_id = message_id(settings, "alert", meeting_id, stage, error_text, address.address.casefold())
    msg = new_message(settings, to_name=header_text(name), to=address, subject=subject, msg_id=msg_id,
                      language=words.language, meeting_id=meeting_id, kind=ADMIN)
    msg.set_content(render("alert.txt.j2", **context), cte="quoted-printable")
    msg["Content-Language"] = words.language
    return [Draft(meeting_id=meeting_id, recipient=address.address, name=header_text(name), kind=ADMIN,
                  message_id=msg_id, subject=msg["Subject"], message=msg, smtputf8=address.smtputf8)]


__all__ = ["ABSENTEE", "ADMIN", "ATTENDEE", "Draft", "admin_address", "compose_alert_drafts",
           "compose_service_drafts", "compose_minutes", "message_id",
           "render", "sender"]
