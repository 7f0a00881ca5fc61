"""People the bot knows (name, email, voiceprint), and the web users who log in.

A person is keyed by their folded name (case and accents ignored: "zoe" is
"Zoé"); their voiceprint is a float32 vector stored as bytes, so speakers in
later meetings are named by voice (``voicebot.diarize``). Every change of a
voiceprint is logged (``voiceprint_log``: the old and the new vector, who, why)
and can be undone. Web users are separate: a login name, an Argon2 password hash
(``voicebot.web.auth``), an email address and a role (``access.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voicebot.archive.base import ArchivePart
from voicebot.archive.erase import fold
from voicebot.archive.times import now_iso
from voicebot.errors import UserError

if TYPE_CHECKING:  # numpy is imported where voiceprints are read or written
    import numpy


def _voiceprint_bytes(voiceprint: Any) -> tuple[bytes, int]:
    import numpy as np

    array = np.asarray(voiceprint, dtype="<f4").reshape(-1)
    if array.size == 0 or not np.all(np.isfinite(array)):
        raise UserError("a voiceprint must be a non-empty vector of finite numbers")
    return array.tobytes(), int(array.size)


def _voiceprint_array(blob: bytes | None) -> numpy.ndarray | None:
    if blob is None:
        return None
    import numpy as np

    return np.frombuffer(bytes(blob), dtype="<f4").astype(np.float32)


class People(ArchivePart):
    """People and their voiceprints."""

    def upsert_person(self, name: str, *, email: str | None = None, voiceprint: Any = None,
                      source: str | None = None, changed_by: str = "system", reason: str | None = None
                      ) -> dict[str, Any]:
        """Add a person or update them; arguments left at None keep their stored value. A new
        voiceprint is logged with ``changed_by`` and ``reason`` (default: ``source``; see
        ``voiceprint_history``)."""
        name = " ".join((name or "").split())
        if not name:
            raise UserError("a person needs a name")
        blob, dim = _voiceprint_bytes(voiceprint) if voiceprint is not None else (None, None)
        now = now_iso()
        with self.backend.transaction():
            if blob is not None:
                self._log_voiceprint(name, blob, dim, changed_by, reason or source or "")
            self._upsert_person_row(name, email, blob, dim, source, now)
        return self.get_person(name)  # type: ignore[return-value]

    def _upsert_person_row(self, name: str, email: str | None, blob: bytes | None, dim: int | None,
                           source: str | None, now: str) -> None:
        self.backend.execute(
            "INSERT INTO people (name_key, name, email, voiceprint, voiceprint_dim, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, "
            "email = COALESCE(excluded.email, people.email), "
            "voiceprint = COALESCE(excluded.voiceprint, people.voiceprint), "
            "voiceprint_dim = COALESCE(excluded.voiceprint_dim, people.voiceprint_dim), "
            "source = COALESCE(excluded.source, people.source), updated_at = excluded.updated_at",
            (fold(name), name, email, blob, dim, source, now, now))

    def _log_voiceprint(self, name: str, blob: bytes | None, dim: int | None, changed_by: str, reason: str) -> None:
        old = self.backend.one("SELECT voiceprint, voiceprint_dim FROM people WHERE name_key = ?", (fold(name),)) or {}
        self.backend.execute("INSERT INTO voiceprint_log (name_key, name, old_voiceprint, old_dim, new_voiceprint, "
                             "new_dim, changed_by, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (fold(name), name, old.get("voiceprint"), old.get("voiceprint_dim"), blob, dim,
                              changed_by, reason[:300], now_iso()))

    def person_by_email(self, email: str | None) -> dict[str, Any] | None:
        """The person with this address (case ignored), if any."""
        if not email or not email.strip():
            return None
        row = self.backend.one("SELECT * FROM people WHERE LOWER(email) = ? ORDER BY name_key LIMIT 1",
                               (email.strip().lower(),))
        return self._person_dict(row) if row else None

    def voiceprint_history(self, name: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Voiceprint changes, newest first: id, name, changed_by, reason, created_at, undone_at, and
        whether there was a voiceprint before (``had_old``) and after (``has_new``)."""
        sql, params = ("SELECT id, name, changed_by, reason, created_at, undone_at, old_dim, new_dim "
                       "FROM voiceprint_log"), []
        if name:
            sql += " WHERE name_key = ?"
            params.append(fold(name))
        rows = self.backend.query(sql + " ORDER BY id DESC LIMIT ?", [*params, int(limit)])
        for row in rows:
            row["had_old"], row["has_new"] = row.pop("old_dim") is not None, row.pop("new_dim") is not None
        return rows

    def undo_voiceprint(self, change_id: int, *, changed_by: str = "system") -> dict[str, Any]:
        """Put back the voiceprint a logged change replaced (the undo is logged too); the change undone."""
        with self.backend.transaction():
            row = self.backend.one("SELECT * FROM voiceprint_log WHERE id = ?", (int(change_id),))
            if row is None:
                raise UserError(f"no voiceprint change {change_id}; `voicebot people history` lists them")
            if row["undone_at"]:
                raise UserError(f"voiceprint change {change_id} was undone already")
            self._log_voiceprint(row["name"], row["old_voiceprint"], row["old_dim"], changed_by,
                                 f"undo of change {change_id}")
            now = now_iso()
            if self.backend.one("SELECT name_key FROM people WHERE name_key = ?", (row["name_key"],)) is None:
                self._upsert_person_row(row["name"], None, None, None, None, now)
            self.backend.execute("UPDATE people SET voiceprint = ?, voiceprint_dim = ?, updated_at = ? "
                                 "WHERE name_key = ?", (row["old_voiceprint"], row["old_dim"], now, row["name_key"]))
            self.backend.execute("UPDATE voiceprint_log SET undone_at = ? WHERE id = ?", (now, int(change_id)))
        if row["old_voiceprint"] is None:
            self.backend.scrub(index=False)
        return {"id": row["id"], "name": row["name"], "restored": row["old_voiceprint"] is not None}

    @staticmethod
    def _person_dict(row: dict[str, Any]) -> dict[str, Any]:
        row = dict(row)
        row.pop("name_key", None)
        row["voiceprint"] = _voiceprint_array(row.get("voiceprint"))
        row["has_voiceprint"] = row["voiceprint"] is not None
        return row

    def get_person(self, name: str) -> dict[str, Any] | None:
        row = self.backend.one("SELECT * FROM people WHERE name_key = ?", (fold(name),))
        return self._person_dict(row) if row else None

    def list_people(self) -> list[dict[str, Any]]:
        return [self._person_dict(r) for r in self.backend.query("SELECT * FROM people ORDER BY name_key")]

    def remove_voiceprint(self, name: str, *, changed_by: str = "system") -> bool:
        """Delete a person's voiceprint for good: logged, but every copy goes, the history's too (a
        person asking for it to be gone is not a change to undo)."""
        with self.backend.transaction():
            person = self.get_person(name)
            if person and person["has_voiceprint"]:
                self._log_voiceprint(person["name"], None, None, changed_by, "removed")
            self.backend.execute("UPDATE voiceprint_log SET old_voiceprint = NULL, new_voiceprint = NULL "
                                 "WHERE name_key = ?", (fold(name),))
            changed = self.backend.execute("UPDATE people SET voiceprint = NULL, voiceprint_dim = NULL, "
                                           "updated_at = ? WHERE name_key = ? AND voiceprint IS NOT NULL",
                                           (now_iso(), fold(name)))
        if changed:
            self.backend.scrub(index=False)
        return bool(changed)


class WebUsers(ArchivePart):
    """The web interface's users: a name, a password hash, an email address and a role each."""

    def add_user(self, name: str, password_hash: str, *, replace: bool = False, email: str | None = None,
                 role: str = "member") -> None:
        """Add a web user; with ``replace``, an existing user gets the new password hash (and their
        sessions and API tokens end). ``email``/``role``: see ``set_user``."""
        from voicebot.archive.access import ROLES

        name = (name or "").strip()
        if not name or not password_hash:
            raise UserError("a user needs a name and a password")
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        now = now_iso()
        with self.backend.transaction():
            if replace and self.get_user(name) is not None:
                self.backend.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                                     (password_hash, now, name))
                self.revoke_sessions(name)  # type: ignore[attr-defined]
                if email is not None:
                    self.set_user(name, email=email)
                return
            changed = self.backend.execute("INSERT INTO users (name, password_hash, email, role, created_at, "
                                           "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                                           (name, password_hash, (email or "").strip().lower() or None, role, now,
                                            now))
        if not changed:
            raise UserError(f"user {name!r} already exists")

    def set_user(self, name: str, *, email: str | None = None, role: str | None = None,
                 disabled: bool | None = None) -> None:
        """Change a user's email address (``""`` removes it), role, or disabled state (which ends
        their sessions and API tokens)."""
        from voicebot.archive.access import ROLES

        if self.get_user(name) is None:
            raise UserError(f"no web user {name!r}; `voicebot users list` shows them")
        if role is not None and role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        now = now_iso()
        with self.backend.transaction():
            if email is not None:
                self.backend.execute("UPDATE users SET email = ?, updated_at = ? WHERE name = ?",
                                     (email.strip().lower() or None, now, name))
            if role is not None:
                self.backend.execute("UPDATE users SET role = ?, updated_at = ? WHERE name = ?", (role, now, name))
            if disabled is not None:
                self.backend.execute("UPDATE users SET disabled_at = ?, updated_at = ? WHERE name = ?",
                                     (now if disabled else None, now, name))
                if disabled:
                    self.revoke_sessions(name)  # type: ignore[attr-defined]

    def get_user(self, name: str) -> dict[str, Any] | None:
        return self.backend.one("SELECT * FROM users WHERE name = ?", (name,))

    def list_users(self) -> list[dict[str, Any]]:
        return self.backend.query("SELECT name, email, role, disabled_at, created_at, updated_at FROM users "
                                  "ORDER BY name")

    def remove_user(self, name: str) -> bool:
        with self.backend.transaction():
            self.backend.execute("DELETE FROM sessions WHERE user_name = ?", (name,))
            self.backend.execute("DELETE FROM meeting_shares WHERE user_name = ?", (name,))
            return bool(self.backend.execute("DELETE FROM users WHERE name = ?", (name,)))

