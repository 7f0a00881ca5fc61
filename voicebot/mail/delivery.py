"""The sender: deliver what is due in the archive's outbox, and record what happened.

Messages are written to the outbox when the minutes are saved (same
transaction), so an outage of the mail server, or a crash, loses nothing:
``deliver`` picks up every pending message whose time has come.

- Accepted by the server (250 after DATA) -> ``outbox_mark_sent`` at once,
  message by message.
- Temporary failure (4xx, refused connection, timeout, dropped connection,
  TLS or login trouble) -> ``outbox_mark_retry`` with the next attempt after
  an exponential backoff with jitter: ``retry_base * 2**(n-1)`` seconds
  (capped at ``retry_max``), of which a random half is waited, so many
  stalled messages do not all come back at once. After ``max_attempts``
  attempts the message is marked failed (``voicebot outbox retry`` puts it
  back).
- Permanent failure (5xx) -> ``outbox_mark_failed`` with the server's reply.
- A failure of the connection itself (server down, TLS, login) is the same
  for every message: the rest of the run is not tried, each due message is
  rescheduled with the same error.

Duplicates: the one window where a message can go twice is between the
server accepting it and the archive recording it as sent (a crash, a
connection dropped after DATA before the reply). Then the message is still
pending and is sent again: at most once more per such crash, and with the
same stored bytes, so the same Message-ID, which mail clients use to show
it once. Two deliveries never run at the same time (a lock file under the
home), so two processes cannot both send the same pending message. In
Maildir mode the file name comes from the Message-ID: writing it again
replaces the file, so there is no duplicate at all.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from voicebot.config import Settings
from voicebot.fsutil import exclusive_lock
from voicebot.mail.transport import DeliveryError, MaildirTransport, SmtpTransport, parse_smtp_url

if TYPE_CHECKING:
    from voicebot.archive import Archive

LOCK_FILE = ".outbox.lock"


def backoff(attempts: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``attempts`` failed attempts (1, 2, ...): exponential, capped, half jittered."""
    rng = rng or random
    delay = min(settings.mail.retry_max, settings.mail.retry_base * 2 ** max(attempts - 1, 0))
    return delay / 2 + rng.uniform(0, delay / 2)


def transport_for(settings: Settings) -> SmtpTransport | MaildirTransport:
    if settings.smtp.url.strip():
        return SmtpTransport(parse_smtp_url(settings.smtp.url, password=settings.smtp.password,
                                            timeout=settings.smtp.timeout))
    return MaildirTransport(settings.maildir)


def _exclusive(settings: Settings):
    """True when this process is the only one delivering now (a lock file under the home)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    return exclusive_lock(settings.home / LOCK_FILE)


def _scrub(text: str, password: str) -> str:
    """Error text as stored and shown: the SMTP password never appears in it."""
    return text.replace(password, "***") if password and len(password) >= 3 else text


def deliver(db: Archive, settings: Settings, *, now: datetime | None = None, limit: int = 100) -> dict:
    """Send every due outbox message; return what happened.

    The report: ``transport`` (where mail went, without any password),
    ``maildir`` (the folder, in Maildir mode), ``due``, ``sent``, ``retry``,
    ``failed`` (counts), ``busy`` (another delivery was running: nothing done),
    ``messages`` (one dict per message: id, recipient, kind, status, error,
    next_attempt_at)."""
    from voicebot.mail.messages import sender

    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    transport = transport_for(settings)
    report: dict[str, Any] = {"transport": transport.describe(), "busy": False, "due": 0, "sent": 0, "retry": 0,
                              "failed": 0, "messages": [],
                              "maildir": str(transport.path) if isinstance(transport, MaildirTransport) else None}
    envelope_from = sender(settings)[1].address
    password = transport.config.password if isinstance(transport, SmtpTransport) else ""
    with _exclusive(settings) as alone:
        if not alone:
            report["busy"] = True
            return report
        seen: set[Any] = set()
        down: DeliveryError | None = None
        with transport:
            while True:
                batch = [m for m in db.outbox_due(now, limit=limit) if m.id not in seen]
                if not batch:
                    break
                for message in batch:
                    seen.add(message.id)
                    report["due"] += 1
                    error = down
                    if error is None:
                        try:
                            if isinstance(transport, SmtpTransport):
                                transport.send(message.raw, sender=envelope_from, recipient=message.recipient)
                            else:
                                transport.send(message.raw, message_id=message.message_id,
                                               meeting_id=message.meeting_id, kind=message.kind)
                        except DeliveryError as exc:
                            error = exc
                            down = exc if exc.connection else None
                    if error is None:
                        db.outbox_mark_sent(message.id)
                        _note(report, message, "sent")
                    else:
                        _failed(db, settings, report, message, error, now, password)
                if len(batch) < limit:
                    break
    return report


def _failed(db: Archive, settings: Settings, report: dict, message: Any, error: DeliveryError, now: datetime,
            password: str) -> None:
    reply = _scrub(error.reply, password)
    attempts = (message.attempts or 0) + 1
    if not error.temporary:
        db.outbox_mark_failed(message.id, reply)
        _note(report, message, "failed", reply)
    elif attempts >= settings.mail.max_attempts:
        reply = f"{reply} (gave up after {attempts} attempts; `voicebot outbox retry` tries again)"
        db.outbox_mark_failed(message.id, reply)
        _note(report, message, "failed", reply)
    else:
        at = now + timedelta(seconds=backoff(attempts, settings))
        db.outbox_mark_retry(message.id, reply, at)
        _note(report, message, "retry", reply, at)


def _note(report: dict, message: Any, status: str, error: str | None = None, at: datetime | None = None) -> None:
    report[status] += 1
    report["messages"].append({"id": message.id, "recipient": message.recipient, "kind": message.kind,
                               "status": status, "error": error,
                               "next_attempt_at": at.isoformat(timespec="seconds") if at else None})
