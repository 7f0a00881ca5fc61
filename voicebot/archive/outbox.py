"""The outbox: every email the bot sends waits here (pending), then is sent or failed.

A message's ``message_id`` is deterministic, so queueing the same minutes again
never duplicates mail; its ``content_key`` (what it carries, to whom: see
``voicebot.pipeline``) is unique too, so the same minutes of the same recording
never go twice to one address, even from another meeting made of that recording. ``voicebot.mail`` composes the messages and drains the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from voicebot.archive.backends import Backend
from voicebot.archive.base import ArchivePart
from voicebot.archive.times import iso, now_iso

OUTBOX_KINDS = ("attendee", "absentee", "admin")
OUTBOX_STATUSES = ("pending", "sent", "failed")


@dataclass
class OutboxMessage:
    """One email waiting in (or gone through) the outbox."""

    meeting_id: str | None
    recipient: str
    kind: str  # attendee | absentee | admin
    message_id: str  # RFC 5322 Message-ID, deterministic (a rerun never duplicates mail)
    subject: str
    raw: bytes  # the full message, as sent
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: str | None = None
    last_error: str | None = None
    created_at: str | None = None
    sent_at: str | None = None
    id: int | None = None
    content_key: str | None = None  # what it carries and to whom: one message per key, ever

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OutboxMessage:
        data = dict(row)
        data["raw"] = bytes(data["raw"]) if data.get("raw") is not None else b""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def queue_messages(backend: Backend, messages: Iterable[OutboxMessage]) -> int:
    """Insert messages into the outbox inside the caller's transaction (``save_minutes`` queues
    the minutes' mail with them); those whose message_id or content_key is already queued are skipped. The
    number queued; each queued message gets its row ``id``."""
    count = 0
    now = now_iso()
    for msg in messages:
        if msg.kind not in OUTBOX_KINDS:
            raise ValueError(f"outbox kind {msg.kind!r} is not one of {OUTBOX_KINDS}")
        if msg.status not in OUTBOX_STATUSES:
            raise ValueError(f"outbox status {msg.status!r} is not one of {OUTBOX_STATUSES}")
        row = backend.one(
            "INSERT INTO outbox (meeting_id, recipient, kind, message_id, subject, raw, status, attempts, "
            "next_attempt_at, last_error, created_at, sent_at, content_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (msg.meeting_id, msg.recipient, msg.kind, msg.message_id, msg.subject, bytes(msg.raw), msg.status,
             msg.attempts, iso(msg.next_attempt_at) or now, msg.last_error, iso(msg.created_at) or now,
             iso(msg.sent_at), msg.content_key))
        if row:
            msg.id = row["id"]
            count += 1
    return count


class Outbox(ArchivePart):
    """The outbox queue: queue, list what is due, mark sent / retry / failed, requeue."""

    def enqueue(self, messages: Iterable[OutboxMessage]) -> int:
        """Queue messages (admin alerts...); those whose message_id is already queued are skipped.
        The number queued."""
        with self.backend.transaction():
            return queue_messages(self.backend, messages)

    def outbox_due(self, now: datetime | str, limit: int = 100) -> list[OutboxMessage]:
        rows = self.backend.query("SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
                                  "ORDER BY next_attempt_at, id LIMIT ?", (iso(now), int(limit)))
        return [OutboxMessage.from_row(r) for r in rows]

    def outbox_list(self, status: str | None = None, meeting_id: str | None = None) -> list[OutboxMessage]:
        sql, params = "SELECT * FROM outbox WHERE 1 = 1", []
        if status:
            sql += " AND status = ?"
            params.append(status)
        if meeting_id:
            sql += " AND meeting_id = ?"
            params.append(meeting_id)
        return [OutboxMessage.from_row(r) for r in self.backend.query(sql + " ORDER BY id", params)]

    def outbox_get(self, message_id: int) -> OutboxMessage | None:
        row = self.backend.one("SELECT * FROM outbox WHERE id = ?", (message_id,))
        return OutboxMessage.from_row(row) if row else None

    def outbox_mark_sent(self, message_id: int) -> None:
        self.backend.execute("UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                             (now_iso(), message_id))

    def outbox_mark_retry(self, message_id: int, error: str, next_attempt_at: datetime | str) -> None:
        self.backend.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
                             "status = 'pending' WHERE id = ?", (error, iso(next_attempt_at), message_id))

    def outbox_mark_failed(self, message_id: int, error: str) -> None:
        self.backend.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = 'failed' "
                             "WHERE id = ?", (error, message_id))

    def outbox_requeue(self, ids: Iterable[int] | None = None) -> int:
        """Failed messages back to pending, due now, with a fresh attempt count; how many."""
        sql = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE status = 'failed'"
        params: list[Any] = [now_iso()]
        if ids is not None:
            ids = [int(i) for i in ids]
            if not ids:
                return 0
            sql += f" AND id IN ({', '.join('?' for _ in ids)})"
            params.extend(ids)
        with self.backend.transaction():
            return self.backend.execute(sql, params)
