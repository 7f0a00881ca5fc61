"""Delivery: the minutes by email, to attendees and (their own version) to absentees.

The pipeline calls three functions:

- :func:`compose` turns the minutes into one message per recipient (and the
  problems met, such as invalid addresses); the pipeline stores them in the
  archive's outbox in the same transaction as the minutes
  (``db.save_minutes(..., outbox=messages)``).
- :func:`compose_alert` writes the incident message for ``mail.admin``.
- :func:`deliver` sends what is due in the outbox: over SMTP when
  ``smtp.url`` is set, else into a Maildir under the home, and records the
  outcome of each message (sent, retry later, failed).

Modules: ``addresses`` (recipients, validation), ``messages`` (+ ``templates/``,
``i18n``, ``ics``, ``redact``), ``transport`` (SMTP and Maildir), ``delivery``
(the outbox loop with retries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voicebot import schema
    from voicebot.archive import Archive
    from voicebot.config import Settings


def _outbox_message(draft: Any) -> Any:
    from voicebot.archive import OutboxMessage

    return OutboxMessage(meeting_id=draft.meeting_id, recipient=draft.recipient, kind=draft.kind,
                         message_id=draft.message_id, subject=draft.subject, raw=draft.raw)


def compose(minutes: schema.Minutes, meeting: schema.Meeting, settings: Settings, *,
            transcript: schema.Transcript | None = None, speakers: dict | None = None,
            markdown: str | None = None, version: int = 1) -> tuple[list[Any], list[str]]:
    """Outbox messages for every recipient of these minutes, and the problems met.

    Recipients: ``meeting.invitees`` plus the enrolled people the speaker naming
    recognized (``speakers["labels"][...]["email"]``). Present people get the
    minutes; invitees who were not there get their "you missed it" version. A bad
    address is reported in the problems and the others still get their message.
    The Message-ID depends only on (meeting, recipient, version)."""
    from voicebot.mail.messages import compose_minutes

    drafts, problems = compose_minutes(minutes, meeting, settings, transcript=transcript, speakers=speakers,
                                       markdown=markdown, version=version)
    return [_outbox_message(d) for d in drafts], problems


def compose_alert(settings: Settings, *, meeting_id: str, stage: str, error: str) -> list[Any]:
    """The incident message for ``mail.admin`` (an empty list when no admin is set)."""
    from voicebot.mail.messages import compose_alert_drafts

    return [_outbox_message(d) for d in compose_alert_drafts(settings, meeting_id=meeting_id, stage=stage,
                                                             error=error)]


def compose_service_alert(settings: Settings, *, key: str, subject: str, body: str) -> list[Any]:
    """A message about the service (not a meeting) for ``mail.admin`` (an empty list when no admin is set)."""
    from voicebot.mail.messages import compose_service_drafts

    return [_outbox_message(d) for d in compose_service_drafts(settings, key=key, subject=subject, body=body)]


def deliver(db: Archive, settings: Settings, *, now: Any = None) -> dict:
    """Send every due outbox message; see :func:`voicebot.mail.delivery.deliver`."""
    from voicebot.mail.delivery import deliver as _deliver

    return _deliver(db, settings, now=now)


__all__ = ["compose", "compose_alert", "deliver"]
