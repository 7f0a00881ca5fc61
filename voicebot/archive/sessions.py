"""Web logins that can end: browser sessions and API tokens, kept server-side.

A browser's cookie or a script's token holds a random secret; the archive keeps
only its SHA-256 (``sessions.id``), the user, the fingerprint of their password
when it was made, and when it expires. A login counts while its row is there,
not revoked, not expired, and the user's password is still the same: logging
out revokes the row, a new password or a disabled user revokes all of theirs
(``voicebot.web.auth`` checks the rest). API tokens are listed
(``voicebot users tokens``) and revoked one by one by the beginning of their id.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from voicebot.archive.base import ArchivePart
from voicebot.archive.times import iso, now_iso
from voicebot.errors import UserError

SESSION, TOKEN = "session", "token"
SHOWN_ID = 12  # hex digits of a token's id shown to people (enough to tell them apart)


def session_id(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Sessions(ArchivePart):
    """Server-side login records (browser sessions and API tokens)."""

    def add_session(self, user_name: str, kind: str, print_: str, lifetime: timedelta, *, label: str = "") -> str:
        """A new login for ``user_name``; the secret to hand out (only its hash is kept)."""
        if kind not in (SESSION, TOKEN):
            raise ValueError(f"session kind {kind!r}")
        secret = secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc)
        self.backend.execute("INSERT INTO sessions (id, user_name, kind, label, print, created_at, expires_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (session_id(secret), user_name, kind, label[:200], print_, iso(now), iso(now + lifetime)))
        return secret

    def get_session(self, secret: str, kind: str) -> dict[str, Any] | None:
        """The live login this secret opens (not revoked, not expired), or None."""
        if not secret or len(secret) > 200:
            return None
        return self.backend.one("SELECT * FROM sessions WHERE id = ? AND kind = ? AND revoked_at IS NULL "
                                "AND expires_at > ?", (session_id(secret), kind, now_iso()))

    def revoke_session(self, secret: str) -> bool:
        return bool(self.backend.execute("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                         (now_iso(), session_id(secret))))

    def revoke_sessions(self, user_name: str, kind: str | None = None) -> int:
        """End every login of a user (of one kind, or all); how many were live."""
        sql, params = "UPDATE sessions SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL", [now_iso(), user_name]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        return self.backend.execute(sql, params)

    def list_tokens(self, user_name: str | None = None) -> list[dict[str, Any]]:
        """API tokens (live or not), newest first, each with a short ``token_id``."""
        sql, params = "SELECT * FROM sessions WHERE kind = ?", [TOKEN]
        if user_name:
            sql += " AND user_name = ?"
            params.append(user_name)
        rows = self.backend.query(sql + " ORDER BY created_at DESC, id", params)
        now = now_iso()
        for row in rows:
            row["token_id"] = row.pop("id")[:SHOWN_ID]
            row.pop("print", None)
            row["live"] = row["revoked_at"] is None and row["expires_at"] > now
        return rows

    def revoke_token(self, token_id: str, user_name: str | None = None) -> str:
        """Revoke the API token whose id begins with ``token_id`` (of ``user_name``); its owner."""
        token_id = (token_id or "").strip().lower()
        if len(token_id) < 6 or not all(c in "0123456789abcdef" for c in token_id):
            raise UserError(f"{token_id!r} is not a token id; `voicebot users tokens` lists them")
        sql, params = "SELECT id, user_name FROM sessions WHERE kind = ? AND id LIKE ?", [TOKEN, token_id + "%"]
        if user_name:
            sql += " AND user_name = ?"
            params.append(user_name)
        rows = self.backend.query(sql + " LIMIT 2", params)
        if not rows:
            raise UserError(f"no API token {token_id!r}; `voicebot users tokens` lists them")
        if len(rows) > 1:
            raise UserError(f"{token_id!r} is the beginning of several tokens' ids; give more of it")
        self.backend.execute("UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                             (now_iso(), rows[0]["id"]))
        return rows[0]["user_name"]
