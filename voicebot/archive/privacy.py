"""Erasure: forgetting a meeting or a person for real, and the retention policy (purge).

"For real" means the rows, the full-text index entries, the passages' vectors, the files in the
meeting's folder (overwritten, then removed), the mail copies in the Maildir
outbox, and no copy left in the database's files: ``erase.py`` holds the file
and text helpers, ``Backend.scrub`` the database clean-up.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from voicebot import recordings
from voicebot.archive import erase
from voicebot.archive.erase import fold
from voicebot.archive.outbox import Outbox
from voicebot.archive.people import People
from voicebot.archive.query import Query, Term, tokenize
from voicebot.archive.times import iso, now_iso, parse_age
from voicebot.archive.vectors import Vectors
from voicebot.errors import UserError

FORGOTTEN = "[forgotten]"  # what a forgotten person's name becomes in transcripts and minutes
# Kept by `purge --keep-minutes`: the meeting card and its minutes; audio and transcript go.
KEPT_WITH_MINUTES = (recordings.MEETING_JSON, recordings.MINUTES_JSON, recordings.MINUTES_MD)


@dataclass
class PurgeReport:
    """What ``purge`` removed (or, with ``dry_run``, would remove)."""

    older_than: str
    cutoff: str
    keep_minutes: bool
    dry_run: bool
    meetings: list[dict[str, Any]] = field(default_factory=list)  # id, title, started_at, action
    files: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Forgetting:
    """One ``forget_person``: whom it erases and how to find them, what it touched so far, its report."""

    person: dict[str, Any] | None  # their row in people, if any
    labels: list[str]  # their speaker labels in transcripts
    needles: list[str]  # their names and email, as they may be written
    email: str | None
    pattern: re.Pattern[str]  # whole-word occurrences of any needle
    tokens: set[str]  # the words of the needles, for word timings
    speech: bool  # erase what they said too
    meetings: dict[str, dict[str, Any]]  # every meeting's id -> directory, speakers, meeting_json
    touched: set[str]  # meetings changed, whose folders are rewritten at the end
    report: dict[str, Any]


class Privacy(Vectors, People, Outbox):
    """Forgetting meetings and people, and purging old meetings. It finds a person as Search
    and People do, and reads the outbox to drop mail to or about them."""

    def _meeting_directory(self, meeting_id: str, stored: str | None) -> Path | None:
        """The meeting's folder, only if it is really that meeting's (named by its id)."""
        for candidate in (stored, self.settings.recordings_dir / meeting_id if recordings.is_meeting_id(meeting_id) else None):
            if candidate and Path(candidate).name == meeting_id and Path(candidate).is_dir():
                return Path(candidate)
        return None

    def forget_meeting(self, meeting_id: str) -> dict[str, Any]:
        """Erase a meeting for real: its rows (segments and their index entries, minutes, outbox
        copies, jobs, incidents), its folder (audio and artifacts, overwritten then removed), its
        mail copies in the Maildir outbox; then scrub the database files. A report."""
        report = self._erase_meeting(meeting_id)
        report["warnings"] = self.backend.scrub()
        return report

    def _erase_meeting(self, meeting_id: str) -> dict[str, Any]:
        """forget_meeting without the final scrub (purge scrubs once for all its meetings)."""
        row = self.backend.one("SELECT id, directory FROM meetings WHERE id = ?", (meeting_id,))
        directory = self._meeting_directory(meeting_id, row["directory"] if row else None)
        if row is None and directory is None:
            raise UserError(f"no meeting {meeting_id!r} in the archive or under {self.settings.recordings_dir}; "
                            "`voicebot meetings list` shows them")
        report: dict[str, Any] = {"meeting": meeting_id}
        with self.backend.transaction():
            message_ids = {r["message_id"] for r in self.backend.query(
                "SELECT message_id FROM outbox WHERE meeting_id = ?", (meeting_id,))}
            report["segments"] = self.backend.execute("DELETE FROM segments WHERE meeting_id = ?", (meeting_id,))
            report["minutes"] = self.backend.execute("DELETE FROM minutes WHERE meeting_id = ?", (meeting_id,))
            report["outbox"] = self.backend.execute("DELETE FROM outbox WHERE meeting_id = ?", (meeting_id,))
            self.backend.execute("DELETE FROM jobs WHERE meeting_id = ?", (meeting_id,))
            self.backend.execute("DELETE FROM incidents WHERE meeting_id = ?", (meeting_id,))
            self.backend.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))
        report["files"], report["bytes"] = erase.shred_tree(directory) if directory else (0, 0)
        report["mail_copies"] = erase.remove_mail(
            self.settings.maildir, lambda raw: erase.header_of(raw, "X-Voicebot-Meeting") == meeting_id
            or erase.header_of(raw, "Message-ID") in message_ids)
        return report

    def forget_person(self, name: str, *, speech: bool = False) -> dict[str, Any]:
        """Erase a person: their row (email, voiceprint), their name and email wherever the archive
        keeps them (speaker labels, mentions in transcripts, minutes, meeting cards and artifacts,
        which become FORGOTTEN), mail to or about them. With ``speech``, also what they said
        (their transcript segments). Then scrub the database files. A report."""
        who = self._whom_to_forget(name, speech=speech)
        with self.backend.transaction():
            self._forget_person_row(who)
            self._forget_speaker_labels(who)
            self._forget_mentions(who)
            self._forget_in_meeting_cards(who)
            self._forget_in_minutes(who)
            self._forget_in_outbox(who)
            for meeting_id in who.touched:  # their address and name leave the access rule's index too
                self.refresh_meeting_people(meeting_id)
        self._forget_in_meeting_files(who)
        who.report["meetings"] = sorted(who.touched)
        # the redacted segments lost their passages' vectors (migration 0004's trigger): embed them again
        who.report["passages_embedded"] = self.index_passages(who.touched)
        self._forget_mail_copies(who)
        who.report["warnings"] = self.backend.scrub()
        return who.report

    def _whom_to_forget(self, name: str, *, speech: bool) -> _Forgetting:
        """The person as the archive knows them: their row, speaker labels, names and email, the
        pattern that finds them, and the meetings whose speakers or card mention them."""
        person = self.get_person(name)
        labels = self.match_speakers(name) if not person else [
            n for n in self.speakers() if fold(n) == fold(person["name"])]
        names = {name.strip(), *labels} | ({person["name"]} if person else set())
        email = (person or {}).get("email")
        needles = [*names, *([email] if email else [])]
        pattern = erase.name_pattern(needles)
        if pattern is None:
            raise UserError("give the name of the person to forget")
        meetings = {r["id"]: r for r in self.backend.query("SELECT id, directory, speakers, meeting_json FROM meetings")}
        touched = {mid for mid, r in meetings.items() if pattern.search(r["speakers"] or "") or
                   pattern.search(r["meeting_json"] or "")}
        report: dict[str, Any] = {"person": name, "found": bool(person), "segments_relabelled": 0,
                                  "segments_deleted": 0, "mentions_redacted": 0, "minutes": 0, "outbox_deleted": 0,
                                  "outbox_emptied": 0}
        return _Forgetting(person=person, labels=labels, needles=needles, email=email, pattern=pattern,
                           tokens=erase.name_tokens(needles), speech=speech, meetings=meetings, touched=touched,
                           report=report)

    def _forget_person_row(self, who: _Forgetting) -> None:
        """Their row in people: name, email, voiceprint."""
        if who.person:
            self.backend.execute("DELETE FROM people WHERE name_key = ?", (fold(who.person["name"]),))
            self.backend.execute("DELETE FROM voiceprint_log WHERE name_key = ?", (fold(who.person["name"]),))

    def _forget_speaker_labels(self, who: _Forgetting) -> None:
        """The segments they spoke: deleted with ``speech``, else labelled FORGOTTEN."""
        if not who.labels:
            return
        marks = ", ".join("?" for _ in who.labels)
        if who.speech:
            who.touched |= {r["meeting_id"] for r in self.backend.query(
                f"SELECT DISTINCT meeting_id FROM segments WHERE speaker IN ({marks})", who.labels)}
            who.report["segments_deleted"] = self.backend.execute(
                f"DELETE FROM segments WHERE speaker IN ({marks})", who.labels)
        else:
            who.report["segments_relabelled"] = self.backend.execute(
                f"UPDATE segments SET speaker = ? WHERE speaker IN ({marks})", [FORGOTTEN, *who.labels])

    def _forget_mentions(self, who: _Forgetting) -> None:
        """Mentions of the name (or email) in what was said: replaced in the segment's text, the
        matching words dropped from its word timings."""
        mentions: set[int] = set()
        for needle in who.needles:
            if tokenize(needle):
                mentions.update(self.backend.match_ids(Query([[Term(tuple(tokenize(needle)))]])))
        for segment_id in sorted(mentions):
            row = self.backend.one("SELECT meeting_id, text, words FROM segments WHERE id = ?", (segment_id,))
            if row is None or not who.pattern.search(row["text"]):
                continue
            words = [w for w in json.loads(row["words"] or "[]") if not erase.is_name_word(str(w[2]), who.tokens)]
            self.backend.execute("UPDATE segments SET text = ?, words = ? WHERE id = ?",
                                 (who.pattern.sub(FORGOTTEN, row["text"]),
                                  json.dumps(words, ensure_ascii=False, separators=(",", ":")) if words else None,
                                  segment_id))
            who.touched.add(row["meeting_id"])
            who.report["mentions_redacted"] += 1

    def _forget_in_meeting_cards(self, who: _Forgetting) -> None:
        """The meetings found so far: their speaker list, invitees and every text of their card."""
        pattern, email = who.pattern, who.email
        for mid in who.touched:
            r = who.meetings[mid]
            speakers = [FORGOTTEN if pattern.fullmatch(s) else s for s in json.loads(r["speakers"] or "[]")]
            card = json.loads(r["meeting_json"] or "{}")
            card["invitees"] = [p for p in card.get("invitees", [])
                                if not pattern.fullmatch(p.get("name") or "") and
                                not (email and (p.get("email") or "").lower() == email.lower())]
            card = erase.redact_value(card, pattern, FORGOTTEN)
            self.backend.execute("UPDATE meetings SET speakers = ?, meeting_json = ?, title = ?, updated_at = ? "
                                 "WHERE id = ?",
                                 (json.dumps(list(dict.fromkeys(speakers)), ensure_ascii=False),
                                  json.dumps(card, ensure_ascii=False), card.get("title", ""), now_iso(), mid))

    def _forget_in_minutes(self, who: _Forgetting) -> None:
        """Every minutes version that names them: present/absent lists, then every text."""
        pattern = who.pattern
        for row in self.backend.query("SELECT meeting_id, version, minutes_json, markdown FROM minutes"):
            if not (pattern.search(row["minutes_json"]) or pattern.search(row["markdown"])):
                continue
            minutes = json.loads(row["minutes_json"])
            minutes["present"] = [p for p in minutes.get("present", []) if not pattern.fullmatch(p)]
            minutes["absent"] = [p for p in minutes.get("absent", []) if not pattern.fullmatch(p)]
            minutes = erase.redact_value(minutes, pattern, FORGOTTEN)
            self.backend.execute("UPDATE minutes SET minutes_json = ?, markdown = ? WHERE meeting_id = ? "
                                 "AND version = ?", (json.dumps(minutes, ensure_ascii=False),
                                                     pattern.sub(FORGOTTEN, row["markdown"]),
                                                     row["meeting_id"], row["version"]))
            who.report["minutes"] += 1
            who.touched.add(row["meeting_id"])

    def _forget_in_outbox(self, who: _Forgetting) -> None:
        """Mail to or about them: deleted, or, once delivered to someone else, emptied."""
        pattern, email = who.pattern, who.email
        for msg in self.outbox_list():
            to_them = bool(email) and msg.recipient.lower() == email.lower()
            if not (to_them or pattern.search(msg.subject) or pattern.search(erase.message_text(msg.raw))):
                continue
            if msg.status == "sent" and not to_them:
                # delivered already: keep the row (a rerun must not send it again), drop the copy
                self.backend.execute("UPDATE outbox SET raw = ?, subject = ? WHERE id = ?",
                                     (b"", pattern.sub(FORGOTTEN, msg.subject), msg.id))
                who.report["outbox_emptied"] += 1
            else:
                self.backend.execute("DELETE FROM outbox WHERE id = ?", (msg.id,))
                who.report["outbox_deleted"] += 1

    def _forget_in_meeting_files(self, who: _Forgetting) -> None:
        """The text artifacts in the folders of every meeting touched (transcripts, minutes, card)."""
        files = 0
        for mid in who.touched:
            directory = self._meeting_directory(mid, who.meetings.get(mid, {}).get("directory"))
            if directory:
                files += erase.redact_directory(directory, who.pattern, FORGOTTEN, tokens=who.tokens,
                                                drop_segments_of=set(who.labels) if who.speech else None)
        who.report["files_rewritten"] = files

    def _forget_mail_copies(self, who: _Forgetting) -> None:
        """Copies in the Maildir outbox of any mail that names them."""
        pattern = who.pattern
        who.report["mail_copies"] = erase.remove_mail(
            self.settings.maildir, lambda raw: bool(pattern.search(erase.message_text(raw))))

    def purge(self, older_than: timedelta | str, keep_minutes: bool = True, dry_run: bool = False, *,
              now: datetime | None = None) -> PurgeReport:
        """Apply the retention policy to meetings that started before now - older_than.

        ``keep_minutes``: erase audio and transcript (segments, artifacts, sent mail copies) but keep
        the meeting card and its minutes; otherwise forget the meetings entirely."""
        age = parse_age(older_than) if isinstance(older_than, str) else older_than
        if age <= timedelta(0):
            raise UserError("the retention age must be positive, like 90d")
        cutoff = iso((now or datetime.now(timezone.utc)) - age)
        report = PurgeReport(older_than=str(older_than), cutoff=cutoff, keep_minutes=keep_minutes, dry_run=dry_run)
        rows = self.backend.query("SELECT id, title, started_at, directory, purged_at FROM meetings "
                                  "WHERE started_utc < ? ORDER BY started_utc", (cutoff,))
        for row in rows:
            directory = self._meeting_directory(row["id"], row["directory"])
            if keep_minutes:
                files, size = erase.tree_size(directory, KEPT_WITH_MINUTES) if directory else (0, 0)
                segments = int(self.backend.value("SELECT COUNT(*) AS n FROM segments WHERE meeting_id = ?",
                                                  (row["id"],)) or 0)
                if row["purged_at"] and not files and not segments:
                    continue  # already purged
                action = "transcript and audio erased, minutes kept"
            else:
                files, size = erase.tree_size(directory) if directory else (0, 0)
                action = "forgotten"
            report.meetings.append({"id": row["id"], "title": row["title"], "started_at": row["started_at"],
                                    "action": action, "files": files, "bytes": size})
            report.files += files
            report.bytes += size
            if dry_run:
                continue
            if keep_minutes:
                with self.backend.transaction():
                    self.backend.execute("DELETE FROM segments WHERE meeting_id = ?", (row["id"],))
                    self.backend.execute("DELETE FROM outbox WHERE meeting_id = ? AND status <> 'pending'",
                                         (row["id"],))
                    self.backend.execute("UPDATE meetings SET purged_at = ?, updated_at = ? WHERE id = ?",
                                         (now_iso(), now_iso(), row["id"]))
                if directory:
                    erase.shred_except(directory, KEPT_WITH_MINUTES)
            else:
                self._erase_meeting(row["id"])
        if report.meetings and not dry_run:
            report.warnings += self.backend.scrub()
        report.warnings = list(dict.fromkeys(report.warnings))
        return report

