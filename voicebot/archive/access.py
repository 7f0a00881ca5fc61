"""Who may see which meeting: the one place that decides it.

A web user is an ``admin`` (sees every meeting, the incidents, the outbox, the
server's paths, and manages users) or a ``member``, who sees a meeting when

- they organised it: they recorded or uploaded it (the meeting's ``owner``),
- they were invited to it: their email address is among its invitees,
- they attended it: a speaker of the meeting is the person (``people``) who has
  their email address, or
- it was shared with them (``meeting_shares``).

``Access.visible_sql(viewer)`` is that rule as a SQL condition on ``meetings m``
(the meeting lists, search and the dashboard's figures filter with it);
``Access.may_see`` asks it for one meeting. The web never holds the archive
itself: each request gets a ``MeetingView`` (the archive as one user may see
it), whose every method goes through the rule, so a new page or route cannot
forget it. The command line acts as the machine's owner (``SYSTEM``, an admin).

``meeting_people`` keeps, per meeting, the invitees' addresses and its speakers'
folded names, so the rule is one indexed query; ``refresh_meeting_people``
rebuilds it whenever a meeting's card, transcript or speakers change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voicebot.archive.base import ArchivePart
from voicebot.archive.erase import fold
from voicebot.archive.times import now_iso
from voicebot.errors import UserError

if TYPE_CHECKING:
    from voicebot.archive.store import Archive

ADMIN, MEMBER = "admin", "member"
ROLES = (ADMIN, MEMBER)


class Forbidden(UserError):
    """The user may not do this (the web answers 403)."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a web user's name, email address (lower case) and role."""

    name: str
    email: str | None = None
    role: str = MEMBER

    @property
    def admin(self) -> bool:
        return self.role == ADMIN


SYSTEM = Viewer("system", role=ADMIN)  # the command line: the machine's owner sees everything


class Access(ArchivePart):
    """The access rule, shares, owners, and the people each meeting concerns."""

    def visible_sql(self, viewer: Viewer, alias: str = "m") -> tuple[str, list[Any]]:
        """A condition on ``meetings <alias>`` true for the meetings ``viewer`` may see, and its parameters."""
        if viewer.admin:
            return "1 = 1", []
        sql = (f"({alias}.owner = ? OR EXISTS (SELECT 1 FROM meeting_shares sh WHERE sh.meeting_id = {alias}.id "
               "AND sh.user_name = ?)")
        params: list[Any] = [viewer.name, viewer.name]
        email = (viewer.email or "").strip().lower()
        if email:
            sql += (f" OR EXISTS (SELECT 1 FROM meeting_people mp WHERE mp.meeting_id = {alias}.id AND "
                    "((mp.kind = 'email' AND mp.ref = ?) OR (mp.kind = 'speaker' AND mp.ref IN "
                    "(SELECT p.name_key FROM people p WHERE LOWER(p.email) = ?))))")
            params += [email, email]
        return sql + ")", params

    def may_see(self, viewer: Viewer, meeting_id: str) -> bool:
        where, params = self.visible_sql(viewer)
        return self.backend.one(f"SELECT m.id FROM meetings m WHERE m.id = ? AND {where}",
                                [meeting_id, *params]) is not None

    # owners and shares ------------------------------------------------------------------
    def set_owner(self, meeting_id: str, user_name: str | None) -> None:
        """The web user who recorded or uploaded the meeting (they see it)."""
        if not self.backend.execute("UPDATE meetings SET owner = ? WHERE id = ?", (user_name, meeting_id)):
            raise UserError(f"no meeting {meeting_id!r} in the archive")

    def share_meeting(self, meeting_id: str, user_name: str, *, by: str) -> bool:
        """Let a web user see a meeting; False when it was shared with them already."""
        if self.backend.one("SELECT name FROM users WHERE name = ?", (user_name,)) is None:
            raise UserError(f"no web user {user_name!r}; `voicebot users list` shows them")
        if self.backend.one("SELECT id FROM meetings WHERE id = ?", (meeting_id,)) is None:
            raise UserError(f"no meeting {meeting_id!r} in the archive")
        return bool(self.backend.execute(
            "INSERT INTO meeting_shares (meeting_id, user_name, shared_by, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", (meeting_id, user_name, by, now_iso())))

    def unshare_meeting(self, meeting_id: str, user_name: str) -> bool:
        return bool(self.backend.execute("DELETE FROM meeting_shares WHERE meeting_id = ? AND user_name = ?",
                                         (meeting_id, user_name)))

    def meeting_shares(self, meeting_id: str) -> list[dict[str, Any]]:
        return self.backend.query("SELECT user_name, shared_by, created_at FROM meeting_shares WHERE meeting_id = ? "
                                  "ORDER BY user_name", (meeting_id,))

    # the people a meeting concerns ---------------------------------------------------------------
    def refresh_meeting_people(self, meeting_id: str | None = None) -> None:
        """Rebuild the invitee addresses and speaker names of one meeting (or of all) for the rule."""
        sql, params = "SELECT id, meeting_json, speakers FROM meetings", []
        if meeting_id is not None:
            sql, params = sql + " WHERE id = ?", [meeting_id]
        with self.backend.transaction():
            for row in self.backend.query(sql, params):
                card = json.loads(row["meeting_json"] or "{}")
                refs = {("email", str(p["email"]).strip().lower()) for p in card.get("invitees") or []
                        if isinstance(p, dict) and p.get("email")}
                refs |= {("speaker", fold(s)) for s in json.loads(row["speakers"] or "[]") if s and fold(s)}
                self.backend.execute("DELETE FROM meeting_people WHERE meeting_id = ?", (row["id"],))
                self.backend.executemany("INSERT INTO meeting_people (meeting_id, kind, ref) VALUES (?, ?, ?)",
                                         [(row["id"], kind, ref) for kind, ref in sorted(refs)])


def hide_error(row: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """A job's row as ``viewer`` may see it: the error text (which may name the server's files) for admins."""
    if viewer.admin or not row.get("error"):
        return row
    return {**row, "error": "failed; an admin can see why (voicebot status)"}


class MeetingView:
    """The archive as one web user may see it; the only archive a web route gets.

    A meeting the user may not see is answered as one that does not exist (None,
    an empty list, a 404), so its id, title or existence never shows. What is not
    about meetings (incidents, the outbox, users) is for admins (``Forbidden``)."""

    def __init__(self, db: Archive, viewer: Viewer) -> None:
        self._db = db
        self.viewer = viewer

    @property
    def settings(self):
        return self._db.settings

    @property
    def kind(self) -> str:
        return self._db.kind

    def admin(self) -> Archive:
        """The whole archive, for an admin's page; Forbidden for anyone else."""
        if not self.viewer.admin:
            raise Forbidden("only an admin may do this")
        return self._db

    def _visible(self) -> tuple[str, list[Any]] | None:
        return None if self.viewer.admin else self._db.visible_sql(self.viewer)

    def may_see(self, meeting_id: str) -> bool:
        return self._db.may_see(self.viewer, meeting_id)

    # one meeting -----------------------------------------------------------------------------
    def get_meeting(self, meeting_id: str) -> dict[str, Any] | None:
        row = self._db.get_meeting(meeting_id)
        return row if row is not None and self.may_see(meeting_id) else None

    def get_transcript(self, meeting_id: str):
        return self._db.get_transcript(meeting_id) if self.may_see(meeting_id) else None

    def get_minutes(self, meeting_id: str, version: int | None = None) -> dict[str, Any] | None:
        return self._db.get_minutes(meeting_id, version) if self.may_see(meeting_id) else None

    def job_stages(self, meeting_id: str) -> dict[str, dict[str, Any]]:
        if not self.may_see(meeting_id):
            return {}
        return {stage: hide_error(row, self.viewer) for stage, row in self._db.job_stages(meeting_id).items()}

    def meeting_shares(self, meeting_id: str) -> list[dict[str, Any]]:
        return self._db.meeting_shares(meeting_id) if self.may_see(meeting_id) else []

    def share_meeting(self, meeting_id: str, user_name: str) -> bool:
        """Anyone who may see a meeting may share it with another user."""
        if not self.may_see(meeting_id):
            raise UserError(f"no meeting {meeting_id!r} in the archive")
        return self._db.share_meeting(meeting_id, user_name, by=self.viewer.name)

    def rename_speaker(self, meeting_id: str, old: str, new: str, *, enroll: bool = False):
        """Rename a speaker of a meeting this user may see (voicebot.speakers checks what they may enroll)."""
        from voicebot.speakers import rename_speaker

        if not self.may_see(meeting_id):
            raise UserError(f"no meeting {meeting_id!r} in the archive")
        return rename_speaker(self._db, meeting_id, old, new, enroll=enroll, by=self.viewer)

    # many meetings ---------------------------------------------------------------------------
    def list_meetings(self, since: str | datetime | None = None, until: str | datetime | None = None,
                      limit: int | None = None) -> list[dict[str, Any]]:
        return self._db.list_meetings(since=since, until=until, limit=limit, viewer=self.viewer)

    def resolve_meeting(self, text: str) -> str:
        meeting_id = self._db.resolve_meeting(text, viewer=self.viewer)
        return meeting_id

    def search(self, query, **filters):
        return self._db.search(query, viewer=self.viewer, **filters)

    def speakers(self) -> list[str]:
        return self._db.speakers(viewer=self.viewer)

    def retrieve(self, query, vector, **filters):
        return self._db.retrieve(query, vector, viewer=self.viewer, **filters)

    def stats(self, now: datetime | None = None) -> dict[str, Any]:
        return self._db.stats(now, viewer=self.viewer)

    # the user's own API tokens (an admin: everyone's) ----------------------------------------------
    def tokens(self, user_name: str | None) -> list[dict[str, Any]]:
        if user_name != self.viewer.name and not self.viewer.admin:
            raise Forbidden("you may list only your own API tokens")
        return self._db.list_tokens(user_name)

    def revoke_token(self, token_id: str, user_name: str | None) -> dict[str, Any]:
        if user_name != self.viewer.name and not self.viewer.admin:
            raise Forbidden("you may revoke only your own API tokens")
        owner = self._db.revoke_token(token_id, user_name)
        return next(t for t in self._db.list_tokens(owner) if t["token_id"].startswith(token_id.strip().lower()[:12]))

    # the server's own business: admins only --------------------------------------------------------
    def outbox_list(self, status: str | None = None) -> list:
        return self._db.outbox_list(status=status) if self.viewer.admin else []

    def incidents(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._db.incidents(limit) if self.viewer.admin else []

    def service_incidents(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._db.service_incidents(limit) if self.viewer.admin else []
