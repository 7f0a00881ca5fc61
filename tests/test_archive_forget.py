"""Forget and purge erase for real: afterwards, no file under VOICEBOT_HOME (the
database, its -wal and -shm, recordings, mail copies) holds the erased text.
On PostgreSQL the database lives elsewhere; the files under home are still grepped."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from archive_samples import WEEKLY_FR, message, minutes_for, store_meeting

from voicebot import recordings, schema
from voicebot.archive import FORGOTTEN, open_archive
from voicebot.errors import UserError

GONE = "20261103-093000-secret-a1b2"
KEPT = "20261110-140000-kept-c3d4"
OTHERS = [f"202610{d:02d}-100000-filler-{d:04d}" for d in range(1, 9)]

SECRET_LINES = [
    ("Zoé Martin", "Le projet Quetzalcoatlus reste confidentiel jusqu'en mars."),
    ("Karim Benali", "Le code d'accès du coffre est Xylophoniste huit neuf."),
    ("Lucie Ferrand", "Personne ne doit parler de Quetzalcoatlus dehors."),
]
KEPT_LINES = [("Alice Walker", "The roadmap review is public, share it widely."),
              ("Bob Stone", "Budget numbers go to finance on Friday.")]


def grep_home(home: Path, *needles: str | bytes) -> list[str]:
    """Every file under home holding one of the needles (case-insensitive for text), as 'path: needle'."""
    found = []
    patterns = []
    for needle in needles:
        if isinstance(needle, bytes):
            patterns.append((needle, False))
        else:
            patterns.append((needle.lower().encode(), True))
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            lowered = data.lower()
            for pattern, fold in patterns:
                if pattern in (lowered if fold else data):
                    found.append(f"{path.relative_to(home)}: {pattern!r}")
    return found


def fts_terms(settings) -> set[str]:
    """The terms in the SQLite full-text index (read through fts5vocab, in a temp schema)."""
    conn = sqlite3.connect(settings.database_path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, segments_fts, row)")
        return {row[0] for row in conn.execute("SELECT term FROM temp.vocab")}
    finally:
        conn.close()


def maildir_copy(home: Path, msg) -> Path:
    path = home / "outbox" / "new" / f"{msg.message_id.strip('<>')}.eml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msg.raw)
    return path


@pytest.fixture
def db(archive_settings):
    with open_archive(archive_settings) as archive:
        yield archive


def fill(db, home):
    """Several meetings (so the full-text index has several segments to merge), one secret one."""
    for i, mid in enumerate(OTHERS):
        store_meeting(db, home, mid, f"Filler {i}", f"2026-10-{i + 1:02d}T10:00:00+02:00", WEEKLY_FR, files=False)
    store_meeting(db, home, GONE, "Réunion Quetzalcoatlus", "2026-11-03T09:30:00+01:00", SECRET_LINES)
    store_meeting(db, home, KEPT, "Roadmap", "2026-11-10T14:00:00+01:00", KEPT_LINES, language="en")
    minutes = minutes_for("Réunion Quetzalcoatlus", "2026-11-03", ["Zoé Martin"], "Quetzalcoatlus: Xylophoniste.")
    secret_mail = message(GONE, "zoe@example.org", 1, body="Compte rendu Quetzalcoatlus, code Xylophoniste")
    db.save_minutes(GONE, minutes, "# Quetzalcoatlus\n\nXylophoniste\n", outbox=[secret_mail])
    db.outbox_mark_sent(secret_mail.id)
    kept_mail = message(KEPT, "alice@example.org", 2, body="Roadmap minutes")
    db.save_minutes(KEPT, minutes_for("Roadmap", "2026-11-10", ["Alice Walker"], "Roadmap is public."),
                    "# Roadmap\n", outbox=[kept_mail])
    db.set_stage(GONE, "minutes", "done")
    db.add_incident(GONE, "mail", "temporary failure for Quetzalcoatlus")
    (home / "recordings" / GONE / recordings.MINUTES_MD).write_text("# Quetzalcoatlus\n\nXylophoniste\n")
    return maildir_copy(home, secret_mail), maildir_copy(home, kept_mail)


def test_forget_meeting_leaves_no_trace_in_any_file(db, home, archive_settings):
    secret_copy, kept_copy = fill(db, home)
    needles = ("Quetzalcoatlus", "Xylophoniste")
    assert db.search("quetzalcoatlus") and len(grep_home(home, *needles)) >= 4  # the grep does see them
    report = db.forget_meeting(GONE)
    assert report["segments"] == 3 and report["minutes"] == 1 and report["outbox"] == 1
    assert report["files"] >= 4 and report["mail_copies"] == 1 and report["warnings"] == []
    assert grep_home(home, *needles) == []
    assert db.get_meeting(GONE) is None and db.get_transcript(GONE) is None and db.get_minutes(GONE) is None
    assert db.search("quetzalcoatlus") == [] and db.search("xylophon*") == []
    assert db.outbox_list(meeting_id=GONE) == [] and db.job_stages(GONE) == {}
    assert all(i["meeting_id"] != GONE for i in db.incidents())
    assert not (home / "recordings" / GONE).exists() and not secret_copy.exists()
    # everything else is intact
    assert kept_copy.exists() and (home / "recordings" / KEPT / recordings.AUDIO).is_file()
    assert db.search("roadmap") and len(db.search("accord")) == len(OTHERS)
    assert db.get_minutes(KEPT) and db.outbox_list(meeting_id=KEPT)
    assert db.check() == []
    if db.kind == "sqlite":
        terms = fts_terms(archive_settings)
        assert "quetzalcoatlus" not in terms and "xylophoniste" not in terms and "roadmap" in terms
        assert Path(f"{archive_settings.database_path}-wal").stat().st_size == 0
    with pytest.raises(UserError, match="no meeting"):
        db.forget_meeting(GONE)


def test_forget_meeting_also_erases_a_folder_the_archive_never_saw(db, home):
    orphan = "20261101-080000-crashed-0000"
    directory = home / "recordings" / orphan
    recordings.save_meeting(directory, schema.Meeting(id=orphan, title="Quetzalcoatlus crash", started_at="2026-11-01T08:00:00+01:00"))
    (directory / "chunks").mkdir()
    (directory / "chunks" / "000001.flac").write_bytes(b"fLaC Quetzalcoatlus chunk")
    report = db.forget_meeting(orphan)
    assert report["files"] == 2 and not directory.exists()
    assert grep_home(home, "Quetzalcoatlus") == []


PERSON = "Ottoline Vasquez"
EMAIL = "ottoline@zorbmail.example"
VOICEPRINT = np.full(256, 1234.5678, dtype=np.float32)  # an easily recognised byte pattern


def fill_person(db, home):
    invitees = [schema.Person(PERSON, EMAIL), schema.Person("Bob Stone", "bob@example.org")]
    lines = [(PERSON, "Je propose le nom de code Quetzalcoatlus pour la suite."),
             ("Bob Stone", f"Merci {PERSON}, on valide avec {EMAIL} en copie."),
             (PERSON, "Très bien, je rédige la note."),
             ("Bob Stone", "The roadmap stays as it is.")]
    store_meeting(db, home, GONE, "Sync", "2026-11-03T09:30:00+01:00", lines, invitees=invitees)
    store_meeting(db, home, KEPT, "Roadmap", "2026-11-10T14:00:00+01:00", KEPT_LINES, language="en")
    directory = home / "recordings" / GONE
    (directory / recordings.SPEAKERS).write_text(json.dumps(
        {"labels": {"SPEAKER_00": PERSON, "SPEAKER_01": "Bob Stone"}, "present": [PERSON, "Bob Stone"],
         "absent": []}, ensure_ascii=False))
    (directory / recordings.DIARIZATION).write_text(
        schema.turns_to_rttm([schema.Turn(0, 5.5, "SPEAKER_00"), schema.Turn(6, 11.5, "SPEAKER_01")], GONE))
    db.upsert_person(PERSON, email=EMAIL, voiceprint=VOICEPRINT, source=f"meeting {GONE}")
    db.upsert_person("Bob Stone", email="bob@example.org")
    minutes = minutes_for("Sync", "2026-11-03", [PERSON, "Bob Stone"], f"{PERSON} rédige la note.", owner=PERSON)
    minutes.action_items[0].owner_email = EMAIL
    markdown = f"# Sync\n\nPrésents : {PERSON}, Bob Stone\n\n- {PERSON} ({EMAIL}) : rédiger la note\n"
    (directory / recordings.MINUTES_JSON).write_text(schema.dumps(minutes))
    (directory / recordings.MINUTES_MD).write_text(markdown)
    to_her = message(GONE, EMAIL, 1, body=f"Bonjour {PERSON}")
    to_bob = message(GONE, "bob@example.org", 2, body=f"Présents : {PERSON}, Bob Stone")
    to_bob_pending = message(KEPT, "bob@example.org", 3, body=f"Rappel : {PERSON} rédige la note")
    unrelated = message(KEPT, "alice@example.org", 4, body="Roadmap minutes")
    db.save_minutes(GONE, minutes, markdown, outbox=[to_her, to_bob])
    db.enqueue([to_bob_pending, unrelated])
    db.outbox_mark_sent(to_bob.id)
    for msg in (to_her, to_bob, unrelated):
        maildir_copy(home, msg)
    return to_bob, unrelated


@pytest.mark.parametrize("speech", [False, True], ids=["keep-speech", "erase-speech"])
def test_forget_person_leaves_no_trace_of_name_email_or_voiceprint(db, home, archive_settings, speech):
    to_bob, unrelated = fill_person(db, home)
    needles = ("Ottoline", "Vasquez", "zorbmail", VOICEPRINT[:4].tobytes())
    assert len(grep_home(home, *needles)) >= 6
    report = db.forget_person(PERSON, speech=speech)
    assert grep_home(home, *needles) == []
    assert report["found"] and report["meetings"] == [GONE]
    assert db.get_person(PERSON) is None and db.get_person("Bob Stone")["email"] == "bob@example.org"
    transcript = db.get_transcript(GONE)
    if speech:
        assert report["segments_deleted"] == 2
        assert [s.speaker for s in transcript.segments] == ["Bob Stone", "Bob Stone"]
        assert db.search("Quetzalcoatlus") == []
        assert grep_home(home, "Quetzalcoatlus") == []
    else:
        assert report["segments_relabelled"] == 2
        assert [s.speaker for s in transcript.segments] == [FORGOTTEN, "Bob Stone", FORGOTTEN, "Bob Stone"]
        assert db.search("Quetzalcoatlus")[0].speaker == FORGOTTEN
    mention = next(s for s in transcript.segments if s.text.startswith("Merci"))
    assert mention.text == f"Merci {FORGOTTEN}, on valide avec {FORGOTTEN} en copie."
    assert all("Ottoline" not in w.word for w in mention.words)
    meeting = db.get_meeting(GONE)
    assert [p["name"] for p in meeting["invitees"]] == ["Bob Stone"]
    assert PERSON not in meeting["speakers"]
    minutes = db.get_minutes(GONE)
    assert minutes["minutes"].present == ["Bob Stone"] and minutes["minutes"].action_items[0].owner == FORGOTTEN
    assert PERSON not in minutes["markdown"] and EMAIL not in minutes["markdown"]
    # mail: to her, deleted; sent to Bob, kept as a record without its content; pending about her, dropped
    remaining = {m.message_id: m for m in db.outbox_list()}
    assert set(remaining) == {to_bob.message_id, unrelated.message_id}
    assert remaining[to_bob.message_id].raw == b"" and remaining[to_bob.message_id].status == "sent"
    assert (home / "outbox" / "new" / f"{unrelated.message_id.strip('<>')}.eml").exists()
    files = json.loads((home / "recordings" / GONE / recordings.SPEAKERS).read_text())
    assert files["labels"]["SPEAKER_00"] == FORGOTTEN and files["present"] == [FORGOTTEN, "Bob Stone"]
    on_disk = schema.Transcript.from_dict(json.loads((home / "recordings" / GONE / recordings.TRANSCRIPT).read_text()))
    assert len(on_disk.segments) == (2 if speech else 4)
    assert db.search("roadmap") and db.check() == []
    if db.kind == "sqlite":
        terms = fts_terms(archive_settings)
        assert "ottoline" not in terms and "vasquez" not in terms and "zorbmail" not in terms


def test_forget_a_person_known_only_as_a_speaker(db, home):
    store_meeting(db, home, GONE, "Sync", "2026-11-03T09:30:00+01:00", [("Gwendoline Ostrowski", "Bonjour.")])
    report = db.forget_person("gwendoline ostrowski")
    assert not report["found"] and report["segments_relabelled"] == 1
    assert grep_home(home, "Gwendoline", "Ostrowski") == []


def test_remove_voiceprint_scrubs_it(db, home):
    db.upsert_person(PERSON, email=EMAIL, voiceprint=VOICEPRINT)
    assert grep_home(home, VOICEPRINT[:4].tobytes()) or db.kind != "sqlite"
    assert db.remove_voiceprint(PERSON)
    assert grep_home(home, VOICEPRINT[:4].tobytes()) == []
    assert db.get_person(PERSON)["email"] == EMAIL


def test_purge_keeps_minutes_but_erases_audio_and_transcript(db, home):
    old_lines = [("Zoé Martin", "Le prototype Quetzalcoatlus est abandonné.")]
    store_meeting(db, home, "20260601-093000-old-0001", "Ancienne", "2026-06-01T09:30:00+02:00", old_lines)
    store_meeting(db, home, KEPT, "Roadmap", "2026-11-10T14:00:00+01:00", KEPT_LINES, language="en")
    old_dir = home / "recordings" / "20260601-093000-old-0001"
    minutes = minutes_for("Ancienne", "2026-06-01", ["Zoé Martin"], "Décision : arrêter le prototype.")
    db.save_minutes("20260601-093000-old-0001", minutes, "# Ancienne\n\nDécision : arrêter le prototype.\n")
    (old_dir / recordings.MINUTES_MD).write_text("# Ancienne\n\nDécision : arrêter le prototype.\n")
    (old_dir / "chunks").mkdir()
    (old_dir / "chunks" / "0001.flac").write_bytes(b"fLaC Quetzalcoatlus")
    now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)

    dry = db.purge("90d", keep_minutes=True, dry_run=True, now=now)
    assert [m["id"] for m in dry.meetings] == ["20260601-093000-old-0001"] and dry.files == 3
    assert (old_dir / recordings.AUDIO).exists() and db.get_transcript("20260601-093000-old-0001")

    report = db.purge("90d", keep_minutes=True, now=now)
    assert [m["id"] for m in report.meetings] == ["20260601-093000-old-0001"]
    assert sorted(p.name for p in old_dir.iterdir()) == ["meeting.json", "minutes.md"]
    assert db.get_transcript("20260601-093000-old-0001") is None and db.search("Quetzalcoatlus") == []
    assert db.get_minutes("20260601-093000-old-0001")["minutes"].summary == "Décision : arrêter le prototype."
    row = db.get_meeting("20260601-093000-old-0001")
    assert row["purged_at"] and not row["has_transcript"] and row["has_minutes"]
    assert grep_home(home, "Quetzalcoatlus", "abandonn") == []
    assert db.get_transcript(KEPT) and (home / "recordings" / KEPT / recordings.AUDIO).exists()
    assert db.purge("90d", keep_minutes=True, now=now).meetings == []  # nothing left to purge

    report = db.purge("90d", keep_minutes=False, now=now)
    assert [m["id"] for m in report.meetings] == ["20260601-093000-old-0001"]
    assert db.get_meeting("20260601-093000-old-0001") is None and not old_dir.exists()
    assert grep_home(home, "arrêter le prototype", "Ancienne") == []
    assert db.get_meeting(KEPT)


def test_purge_refuses_a_bad_age(db):
    for bad in ("", "ninety days", "-5d", "0d"):
        with pytest.raises(UserError):
            db.purge(bad)


def test_forget_person_redacts_every_mention_however_many(db, home, monkeypatch):
    monkeypatch.setattr(db.backend, "rank_cap", 1)  # search ranks few matches; erasure must see all
    lines = [("Bob Stone", f"Réponse {i} pour {PERSON} demain.") for i in range(6)]
    store_meeting(db, home, GONE, "Sync", "2026-11-03T09:30:00+01:00", lines)
    report = db.forget_person(PERSON)
    assert report["mentions_redacted"] == 6
    assert grep_home(home, "Ottoline", "Vasquez") == []
