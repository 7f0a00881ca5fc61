"""The Archive API on a real SQLite file, then a real PostgreSQL server (same tests)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from archive_samples import PLANNING_EN, WEEKLY_FR, message, minutes_for, store_meeting

from voicebot import schema
from voicebot.archive import OutboxMessage, open_archive
from voicebot.errors import UserError

M1 = "20261103-093000-hebdo-a1b2"
M2 = "20261110-140000-roadmap-c3d4"
M3 = "20261117-093000-hebdo-e5f6"


@pytest.fixture
def db(archive_settings):
    with open_archive(archive_settings) as archive:
        yield archive


@pytest.fixture
def filled(db, home):
    store_meeting(db, home, M1, "Réunion hebdo", "2026-11-03T09:30:00+01:00", WEEKLY_FR)
    store_meeting(db, home, M2, "Quarterly roadmap", "2026-11-10T14:00:00+01:00", PLANNING_EN, language="en")
    store_meeting(db, home, M3, "Réunion hebdo", "2026-11-17T09:30:00+01:00", WEEKLY_FR[:3])
    return db


def test_migrations_are_numbered_and_applied_once(archive_settings):
    with open_archive(archive_settings) as first:
        version = first.schema_version
        assert version >= 1
        rows = first.backend.query("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, version + 1))
    with open_archive(archive_settings) as second:  # reopening applies nothing again
        assert second.backend.value("SELECT COUNT(*) AS n FROM schema_migrations") == version


def test_sqlite_runs_in_wal_with_full_sync_foreign_keys_and_secure_delete(home):
    from voicebot.config import load_settings

    with open_archive(load_settings()) as db:
        conn = db.backend.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        tokenizer = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'segments_fts'").fetchone()[0]
        assert "remove_diacritics 2" in tokenizer and "prefix" in tokenizer
    assert (home / "voicebot.db").is_file()


def test_a_newer_schema_is_refused_with_a_clear_message(archive_settings):
    with open_archive(archive_settings) as db:
        db.backend.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')")
    with pytest.raises(UserError, match="newer voicebot"):
        open_archive(archive_settings)


def test_a_file_that_is_not_a_database_is_refused(home):
    from voicebot.config import load_settings

    (home / "voicebot.db").write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(UserError, match="not a voicebot archive"):
        open_archive(load_settings())


def test_meetings_round_trip_list_filter_and_resolve(filled):
    db = filled
    meeting = db.get_meeting(M2)
    assert meeting["title"] == "Quarterly roadmap" and meeting["language"] == "en"
    assert meeting["speakers"] == ["Alice Walker", "Bob Stone", "Chen Wei"]
    assert meeting["duration"] == pytest.approx(30.0) and meeting["has_transcript"] and not meeting["has_minutes"]
    assert [m["id"] for m in db.list_meetings()] == [M3, M2, M1]  # newest first
    assert [m["id"] for m in db.list_meetings(since="2026-11-10")] == [M3, M2]
    assert [m["id"] for m in db.list_meetings(until="2026-11-10")] == [M2, M1]  # until includes its day
    assert [m["id"] for m in db.list_meetings(limit=1)] == [M3]
    assert db.get_meeting("20990101-000000-nope-0000") is None
    assert db.resolve_meeting("20261110") == M2
    with pytest.raises(UserError, match="several meetings"):
        db.resolve_meeting("202611")
    with pytest.raises(UserError, match="no meeting"):
        db.resolve_meeting("' OR 1=1 --")


def test_save_meeting_updates_without_losing_the_transcript(filled, home):
    db = filled
    meeting = schema.Meeting(id=M1, title="Réunion hebdo (renamed)", started_at="2026-11-03T09:30:00+01:00",
                             status="recorded", ended_at="2026-11-03T10:00:00+01:00")
    db.save_meeting(meeting, directory=home / "recordings" / M1)
    row = db.get_meeting(M1)
    assert row["title"] == "Réunion hebdo (renamed)" and row["ended_at"] == "2026-11-03T10:00:00+01:00"
    assert len(db.get_transcript(M1).segments) == len(WEEKLY_FR)


def test_transcript_round_trip_keeps_words_and_replacing_it_replaces_the_index(filled):
    db = filled
    transcript = db.get_transcript(M1)
    assert [s.text for s in transcript.segments] == [t for _, t in WEEKLY_FR]
    assert transcript.segments[1].speaker == "Karim Benali"
    assert transcript.segments[1].words[2].word == " du" and transcript.segments[1].words[2].probability == 0.91
    assert transcript.language == "fr" and transcript.title == "Réunion hebdo" and transcript.date == "2026-11-03"
    assert db.search("Hélios", meeting=M1)
    new = schema.Transcript(language="fr", duration=12.0, model="small", engine="openai-whisper", segments=[
        schema.Segment(0.0, 5.0, "Nouvelle version sans le projet.", speaker="Zoé Martin", language="fr")])
    assert db.save_transcript(M1, new) == 1
    assert not db.search("Hélios", meeting=M1)  # old segments left the index
    assert db.search("nouvelle", meeting=M1)
    assert db.get_meeting(M1)["duration"] == 12.0 and db.get_transcript(M1).model == "small"


def test_a_transcript_for_an_unknown_meeting_is_refused_and_nothing_is_written(db):
    transcript = schema.Transcript(language="en", duration=1.0, model="base", engine="x",
                                   segments=[schema.Segment(0, 1, "orphan words")])
    with pytest.raises(UserError, match="save the meeting"):
        db.save_transcript("20261101-000000-ghost-0000", transcript)
    assert db.backend.value("SELECT COUNT(*) AS n FROM segments") == 0


def test_rename_speaker_in_segments_speaker_list_and_minutes(filled):
    db = filled
    minutes = minutes_for("Réunion hebdo", "2026-11-03", ["Zoé Martin", "Karim Benali"], "Budget à valider.",
                          owner="Karim Benali")
    db.save_minutes(M1, minutes, "# Réunion\n\n- Karim Benali envoie le devis\n- Karim Benalisme n'est pas un nom\n")
    assert db.rename_speaker(M1, "Karim Benali", "Karim B.") == 2
    assert "Karim B." in db.get_meeting(M1)["speakers"] and "Karim Benali" not in db.get_meeting(M1)["speakers"]
    assert {s.speaker for s in db.get_transcript(M1).segments} == {"Zoé Martin", "Karim B.", "Lucie Ferrand"}
    assert db.search("budget", speaker="Karim B.", meeting=M1)
    stored = db.get_minutes(M1)
    assert stored["minutes"].present == ["Zoé Martin", "Karim B."]
    assert stored["minutes"].action_items[0].owner == "Karim B."
    assert "Karim B." in stored["minutes"].talk_time
    assert "- Karim B. envoie" in stored["markdown"] and "Karim Benalisme" in stored["markdown"]
    assert db.get_transcript(M2).segments[0].speaker == "Alice Walker"  # other meetings untouched
    with pytest.raises(UserError):
        db.rename_speaker(M1, "Zoé Martin", "  ")


def test_people_and_voiceprints(db):
    print_a = np.linspace(-1, 1, 256).astype(np.float32)
    db.upsert_person("Zoé Martin", email="zoe@example.org", voiceprint=print_a, source="enrolled")
    db.upsert_person("Karim Benali")
    person = db.get_person("zoe martin")  # case and accents ignored
    assert person["name"] == "Zoé Martin" and person["email"] == "zoe@example.org" and person["has_voiceprint"]
    assert person["voiceprint"].dtype == np.float32 and np.array_equal(person["voiceprint"], print_a)
    db.upsert_person("Zoé Martin", source="meeting " + M1)  # None keeps email and voiceprint
    person = db.get_person("Zoé Martin")
    assert person["email"] == "zoe@example.org" and person["has_voiceprint"] and person["source"] == "meeting " + M1
    people = db.list_people()
    assert [p["name"] for p in people] == ["Karim Benali", "Zoé Martin"]
    assert people[0]["voiceprint"] is None and not people[0]["has_voiceprint"]
    assert db.remove_voiceprint("Zoé Martin") is True
    assert db.get_person("Zoé Martin")["voiceprint"] is None
    assert db.remove_voiceprint("Zoé Martin") is False
    assert db.get_person("Nobody") is None
    with pytest.raises(UserError):
        db.upsert_person("   ")
    with pytest.raises(UserError):
        db.upsert_person("Bad Print", voiceprint=np.array([np.nan, 1.0]))


def test_minutes_versions_and_outbox_in_one_transaction_without_duplicates(filled):
    db = filled
    minutes = minutes_for("Réunion hebdo", "2026-11-03", ["Zoé Martin"], "Premier jet.")
    outbox = [message(M1, "zoe@example.org", 1), message(M1, "karim@example.org", 2, kind="absentee")]
    assert db.save_minutes(M1, minutes, "# v1\n", outbox=outbox) == 1
    assert all(m.id for m in outbox)
    # a rerun produces the same Message-IDs: a new minutes version, no duplicate mail
    rerun = [message(M1, "zoe@example.org", 1), message(M1, "karim@example.org", 2, kind="absentee")]
    assert db.save_minutes(M1, minutes, "# v2\n", outbox=rerun) == 2
    assert len(db.outbox_list(meeting_id=M1)) == 2
    assert db.get_minutes(M1)["markdown"] == "# v2\n" and db.get_minutes(M1, version=1)["markdown"] == "# v1\n"
    assert db.get_minutes(M1)["minutes"].summary == "Premier jet."
    assert db.get_meeting(M1)["has_minutes"]
    # one bad message: neither the minutes nor any message are stored
    bad = [message(M2, "alice@example.org", 3), message(M2, "bob@example.org", 4, kind="spam")]
    with pytest.raises(ValueError):
        db.save_minutes(M2, minutes, "# roadmap\n", outbox=bad)
    assert db.get_minutes(M2) is None and db.outbox_list(meeting_id=M2) == []
    assert db.get_minutes(M3) is None


def test_outbox_lifecycle(filled):
    db = filled
    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    first, second = message(M1, "zoe@example.org", 1), message(M1, "karim@example.org", 2)
    first.next_attempt_at = second.next_attempt_at = t0.isoformat()
    assert db.enqueue([first, second]) == 2
    assert db.enqueue([message(M1, "zoe@example.org", 1)]) == 0  # same Message-ID: not again
    admin = message(None, "admin@example.org", 9, kind="admin", subject="Incident")
    admin.next_attempt_at = (t0 + timedelta(hours=1)).isoformat()
    db.enqueue([admin])
    due = db.outbox_due(t0)
    assert [m.recipient for m in due] == ["zoe@example.org", "karim@example.org"]
    assert due[0].raw.startswith(b"From: voicebot@localhost") and due[0].status == "pending"
    db.outbox_mark_sent(due[0].id)
    db.outbox_mark_retry(due[1].id, "450 try later", t0 + timedelta(minutes=10))
    assert db.outbox_due(t0) == []
    later = db.outbox_due(t0 + timedelta(minutes=10))
    assert [m.id for m in later] == [due[1].id] and later[0].attempts == 1 and later[0].last_error == "450 try later"
    db.outbox_mark_failed(due[1].id, "550 no such user")
    failed = db.outbox_list(status="failed")
    assert [m.id for m in failed] == [due[1].id] and failed[0].attempts == 2
    sent = db.outbox_list(status="sent")
    assert sent[0].sent_at and sent[0].id == due[0].id
    assert [m.kind for m in db.outbox_due(t0 + timedelta(hours=2))] == ["admin"]
    assert db.outbox_requeue() == 1
    requeued = db.outbox_get(due[1].id)
    assert requeued.status == "pending" and requeued.attempts == 0
    assert db.outbox_requeue([due[0].id]) == 0  # sent messages are not requeued
    assert db.outbox_requeue([]) == 0


def test_jobs_and_incidents(filled):
    db = filled
    db.set_stage(M1, "transcribe", "running")
    db.set_stage(M1, "transcribe", "failed", error="model missing")
    db.set_stage(M1, "transcribe", "running")
    db.set_stage(M1, "transcribe", "done")
    db.set_stage(M1, "minutes", "pending")
    db.set_stage(M2, "transcribe", "done")
    stages = db.job_stages(M1)
    assert stages["transcribe"]["state"] == "done" and stages["transcribe"]["attempts"] == 2
    assert stages["transcribe"]["error"] is None and stages["minutes"]["state"] == "pending"
    assert db.unfinished_jobs() == [M1]
    db.set_stage(M1, "minutes", "done")
    assert db.unfinished_jobs() == []
    with pytest.raises(ValueError):
        db.set_stage(M1, "minutes", "exploded")
    first = db.add_incident(M1, "mail", "SMTP refused", detail="535 auth")
    second = db.add_incident(None, "record", "disk almost full")
    incidents = db.incidents()
    assert [i["id"] for i in incidents] == [second, first] and incidents[1]["detail"] == "535 auth"
    assert len(db.incidents(limit=1)) == 1


def test_users(db):
    db.add_user("admin", "$argon2id$v=19$hash1")
    with pytest.raises(UserError, match="already exists"):
        db.add_user("admin", "$argon2id$v=19$hash2")
    db.add_user("admin", "$argon2id$v=19$hash2", replace=True)
    assert db.get_user("admin")["password_hash"] == "$argon2id$v=19$hash2"
    db.add_user("lucie", "$argon2id$v=19$hash3")
    assert [u["name"] for u in db.list_users()] == ["admin", "lucie"]
    assert "password_hash" not in db.list_users()[0]
    assert db.remove_user("lucie") and not db.remove_user("lucie")
    assert db.get_user("lucie") is None


def test_stats_and_check(filled):
    db = filled
    now = datetime(2026, 11, 17, 18, 0, tzinfo=timezone(timedelta(hours=1)))
    db.set_stage(M3, "minutes", "running")
    db.set_stage(M2, "mail", "failed", error="x")
    db.enqueue([message(M1, "a@example.org", 1), message(M1, "b@example.org", 2)])
    db.outbox_mark_failed(db.outbox_list()[0].id, "550")
    stats = db.stats(now)
    assert stats["meetings_total"] == 3
    assert stats["recorded_today"] == 1 and stats["recorded_this_week"] == 1  # Monday 16 to Sunday 22
    assert stats["jobs_running"] == 1 and stats["jobs_failed"] == 1
    assert stats["outbox_pending"] == 1 and stats["outbox_failed"] == 1
    assert stats["hours_transcribed"] == round((36 + 30 + 18) / 3600, 2)
    assert db.stats()["processed_today"] == 3  # the transcripts were stored just now
    assert db.check() == []


def test_sqlite_check_reports_a_damaged_index(home):
    from voicebot.config import load_settings

    settings = load_settings()
    with open_archive(settings) as db:
        store_meeting(db, home, M1, "Réunion hebdo", "2026-11-03T09:30:00+01:00", WEEKLY_FR, files=False)
        assert db.check() == []
    raw = sqlite3.connect(settings.database_path)  # change the text behind the index's back
    raw.execute("DROP TRIGGER segments_fts_update")
    raw.execute("UPDATE segments SET text = 'tout autre chose' WHERE position = 0")
    raw.commit()
    raw.close()
    with open_archive(settings) as db:
        assert any("full-text index" in p for p in db.check())
        db.reindex()
        assert db.check() == []
        assert db.search("tout autre chose") and not db.search("hebdomadaire")


def test_outbox_message_round_trips_every_field(db):
    msg = OutboxMessage(meeting_id=None, recipient="ops@example.org", kind="admin", message_id="<x@y>",
                        subject="Sujet accentué", raw="Subject: é\r\n\r\nbody".encode(), attempts=3,
                        last_error="timeout")
    db.enqueue([msg])
    back = db.outbox_get(msg.id)
    assert (back.subject, back.raw, back.attempts, back.last_error, back.kind) == \
        ("Sujet accentué", msg.raw, 3, "timeout", "admin")
