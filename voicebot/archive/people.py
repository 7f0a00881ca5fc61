"""People the bot knows (name, email, voiceprint), and the web users who log in.

A person is keyed by their folded name (case and accents ignored: "zoe" is
"Zoé"); their voiceprint is a float32 vector stored as bytes, so speakers in
later meetings are named by voice (``voicebot.diarize``). Web users are
separate: a login name and an Argon2 password hash (``voicebot.web.auth``).
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
                      source: str | None = None) -> dict[str, Any]:
        """Add a person or update them; arguments left at None keep their stored value."""
        name = " ".join((name or "").split())
        if not name:
            raise UserError("a person needs a name")
        blob, dim = _voiceprint_bytes(voiceprint) if voiceprint is not None else (None, None)
        now = now_iso()
        self.backend.execute(
            "INSERT INTO people (name_key, name, email, voiceprint, voiceprint_dim, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, "
            "email = COALESCE(excluded.email, people.email), "
            "voiceprint = COALESCE(excluded.voiceprint, people.voiceprint), "
            "voiceprint_dim = COALESCE(excluded.voiceprint_dim, people.voiceprint_dim), "
            "source = COALESCE(excluded.source, people.source), updated_at = excluded.updated_at",
            (fold(name), name, email, blob, dim, source, now, now))
        return self.get_person(name)  # type: ignore[return-value]

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

    def remove_voiceprint(self, name: str) -> bool:
        changed = self.backend.execute("UPDATE people SET voiceprint = NULL, voiceprint_dim = NULL, updated_at = ? "
                                       "WHERE name_key = ? AND voiceprint IS NOT NULL", (now_iso(), fold(name)))
        if changed:
            self.backend.scrub(index=False)
        return bool(changed)


class WebUsers(ArchivePart):
    """The web interface's users: a name and a password hash each."""

    def add_user(self, name: str, password_hash: str, *, replace: bool = False) -> None:
        """Add a web user; with ``replace``, an existing user gets the new password hash."""
        name = (name or "").strip()
        if not name or not password_hash:
            raise UserError("a user needs a name and a password")
        now = now_iso()
        conflict = "DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at" \
            if replace else "DO NOTHING"
        changed = self.backend.execute("INSERT INTO users (name, password_hash, created_at, updated_at) "
                                       f"VALUES (?, ?, ?, ?) ON CONFLICT (name) {conflict}",
                                       (name, password_hash, now, now))
        if not changed:
            raise UserError(f"user {name!r} already exists")

    def get_user(self, name: str) -> dict[str, Any] | None:
        return self.backend.one("SELECT * FROM users WHERE name = ?", (name,))

    def list_users(self) -> list[dict[str, Any]]:
        return self.backend.query("SELECT name, created_at, updated_at FROM users ORDER BY name")

    def remove_user(self, name: str) -> bool:
        return bool(self.backend.execute("DELETE FROM users WHERE name = ?", (name,)))

