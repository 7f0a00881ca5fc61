"""The pipeline without models: importing an audio file, bad input, the per-meeting lock, amending a
meeting, and a stage that keeps failing (corrupt audio fails before any model loads) until it gives
up with an incident and an admin alert; `voicebot status` and `voicebot doctor` on what that leaves.
Real parts: the sample audio, a real SQLite archive, the real CLI in subprocesses, the Maildir."""

from __future__ import annotations

import email
import fcntl
import json
from datetime import datetime, timezone
from email import policy
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import run_cli

from voicebot import pipeline, recordings
from voicebot.archive import open_archive
from voicebot.audio import load_audio
from voicebot.config import load_settings
from voicebot.errors import UserError
from voicebot.invites import read_ics

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_an_audio_file_becomes_a_meeting_folder(home):
    settings = load_settings()
    meeting = pipeline.import_audio(settings, SAMPLES / "meeting-en.flac",
                                    invitation=read_ics(SAMPLES / "meeting-en.ics"), language="en")
    directory = settings.recordings_dir / meeting.id
    assert sorted(p.name for p in settings.recordings_dir.iterdir()) == [meeting.id]  # no staging left
    stored = recordings.load_meeting(directory)
    assert stored == meeting and stored.status == "imported" and stored.language == "en"
    assert stored.title == "Website launch weekly meeting" and meeting.id.startswith("20260312-")
    assert datetime.fromisoformat(stored.started_at) == datetime(2026, 3, 12, 8, 30, tzinfo=timezone.utc)
    assert [(p.name, p.email) for p in stored.invitees] == [
        ("Alice", "alice@example.org"), ("Bob", "bob@example.org"), ("Carol", "carol@example.org"),
        ("David", "david@example.org")]
    assert stored.source == str((SAMPLES / "meeting-en.flac").resolve())
    info = sf.info(directory / recordings.AUDIO)
    assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
    original, imported = load_audio(SAMPLES / "meeting-en.flac"), load_audio(directory / recordings.AUDIO)
    assert len(imported) == len(original) and np.abs(imported - original).max() < 1e-3  # 16-bit FLAC


def test_without_an_invitation_the_file_gives_title_and_date(home, tmp_path):
    wav = tmp_path / "Budget review.wav"
    sf.write(wav, load_audio(SAMPLES / "meeting-en.flac")[:16000 * 3], 16000)
    moment = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc).timestamp()
    import os

    os.utime(wav, (moment, moment))
    meeting = pipeline.import_audio(load_settings(), wav, title="")
    assert meeting.title == "Budget review" and meeting.invitees == []
    assert datetime.fromisoformat(meeting.started_at).timestamp() == moment
    # the same audio again is recognised (issue 17: it made a second meeting, and mailed everyone twice)
    assert pipeline.import_audio(load_settings(), wav, title="Q1 budget").id == meeting.id
    assert pipeline.import_audio(load_settings(), wav, title="Q1 budget", new_meeting=True).title == "Q1 budget"


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.wav", "neither an audio file nor a meeting id"),
    (lambda d: d, "is a directory"),
    (lambda d: (d / "noise.flac").write_bytes(bytes(range(256)) * 40) and d / "noise.flac", "no decodable audio"),
    (lambda d: (d / "empty.wav").write_bytes(b"") or d / "empty.wav", "is empty"),
])
def test_bad_input_is_one_line_and_leaves_nothing(home, tmp_path, make, message):
    source = make(tmp_path)
    result = run_cli("process", str(source))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (home / "recordings").exists() or not any((home / "recordings").iterdir())


@pytest.mark.slow  # the recovered meeting is then processed for real
def test_unknown_meeting_id_and_unfinished_recording(home_with_models):
    result = run_cli("process", "20260101-090000-nothing-here-1a2b")
    assert result.returncode == 2 and "no meeting 20260101-090000-nothing-here-1a2b" in result.stderr
    settings = load_settings()
    meeting = pipeline.import_audio(settings, SAMPLES / "meeting-en.flac")
    meeting.status = "recording"
    directory = settings.recordings_dir / meeting.id
    recordings.save_meeting(directory, meeting)
    from voicebot.record.control import DirLock

    recorder = DirLock(directory)  # a live recorder holds its folder's lock
    assert recorder.acquire()
    try:
        result = run_cli("process", meeting.id)
    finally:
        recorder.release()
    assert result.returncode == 2 and "still being recorded" in result.stderr, result.stderr
    # nobody holds the lock any more: a crash left it, and process recovers it first
    result = run_cli("process", meeting.id, "--no-email")
    assert "recovered the unfinished recording" in result.stderr, result.stderr


def test_one_process_at_a_time_per_meeting(home):
    settings = load_settings()
    meeting = pipeline.import_audio(settings, SAMPLES / "meeting-en.flac")
    directory = settings.recordings_dir / meeting.id
    with open(directory / recordings.PIPELINE_LOCK, "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as another voicebot process working on it would
        with pytest.raises(UserError, match="being processed by another voicebot process"):
            pipeline.process(settings, meeting.id)
        resumed = run_cli("resume")  # e.g. from a timer, while the meeting is being processed
        assert resumed.returncode == 0, resumed.stderr
        assert f"{meeting.id}: another voicebot process is working on it; left to it" in resumed.stderr
    with open_archive(settings) as db:
        assert db.job_stages(meeting.id) == {}  # nothing was started


def test_amending_a_meeting_says_what_to_redo(home):
    settings = load_settings()
    meeting = pipeline.import_audio(settings, SAMPLES / "meeting-en.flac", title="Weekly")
    assert pipeline.amend(settings, meeting.id) is None
    assert pipeline.amend(settings, meeting.id, title="Weekly") is None
    assert pipeline.amend(settings, meeting.id, title="Launch weekly") == "minutes"
    invitation = read_ics(SAMPLES / "meeting-en.ics")
    # a new invite list: the speakers are named again (names and presence are read against it)
    assert pipeline.amend(settings, meeting.id, title="Launch weekly", invitation=invitation) == "speakers"
    amended = recordings.load_meeting(settings.recordings_dir / meeting.id)
    assert amended.title == "Launch weekly" and len(amended.invitees) == 4  # an explicit title wins over the .ics
    assert pipeline.amend(settings, meeting.id, invitation=invitation) == "minutes"  # without one, the .ics's
    assert recordings.load_meeting(settings.recordings_dir / meeting.id).title == "Website launch weekly meeting"
    assert pipeline.amend(settings, meeting.id, language="fr") == "transcribe"
    assert recordings.load_meeting(settings.recordings_dir / meeting.id).language == "fr"


def _corrupt_meeting(settings) -> str:
    meeting = pipeline.import_audio(settings, SAMPLES / "meeting-en.flac", title="Broken disk")
    (settings.recordings_dir / meeting.id / recordings.AUDIO).write_bytes(b"fLaC" + bytes(5000))
    return meeting.id


def test_a_stage_that_keeps_failing_gives_up_with_an_incident_and_an_admin_alert(home, monkeypatch):
    monkeypatch.setenv("VOICEBOT_MAIL_ADMIN", "Admin <admin@example.org>")
    settings = load_settings()
    meeting_id = _corrupt_meeting(settings)

    for attempt in (1, 2):
        result = run_cli("resume")
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"transcribe failed (attempt {attempt} of 3)" in result.stderr
        assert "is not an audio file FFmpeg can read" in result.stderr
        with open_archive(settings) as db:
            stage = db.job_stages(meeting_id)["transcribe"]
            assert (stage["state"], stage["attempts"]) == ("failed", attempt)
            assert db.incidents() == [] and db.outbox_list() == []
            assert db.job_stages(meeting_id)["diarize"]["state"] == "pending"  # nothing after it ran

    result = run_cli("resume")
    assert result.returncode == 1 and "gave up, the admin was alerted" in result.stderr, result.stderr
    with open_archive(settings) as db:
        stage = db.job_stages(meeting_id)["transcribe"]
        assert stage["attempts"] == 3 and stage["error"].startswith("gave up: ")
        [incident] = db.incidents()
        assert (incident["meeting_id"], incident["stage"]) == (meeting_id, "transcribe")
        assert "gave up after 3 attempts" in incident["detail"]
        [alert] = db.outbox_list()
        assert (alert.kind, alert.recipient, alert.status) == ("admin", "admin@example.org", "sent")
    [eml] = (home / "outbox" / "new").iterdir()  # no SMTP server set: delivered to the Maildir at once
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert "transcribe failed" in message["Subject"] and meeting_id in message.get_content()

    result = run_cli("resume")  # given up: not tried again automatically
    assert result.returncode == 1 and "stopped after 3 attempts" in result.stderr, result.stderr
    with open_archive(settings) as db:
        assert db.job_stages(meeting_id)["transcribe"]["attempts"] == 3 and len(db.incidents()) == 1

    status = run_cli("status")
    assert status.returncode == 0, status.stderr
    assert "1 failed" in status.stdout and f"{meeting_id}: transcribe failed (attempts 3)" in status.stdout
    assert "last incidents:" in status.stdout and "transcribe" in status.stdout.split("last incidents:")[1]
    data = json.loads(run_cli("status", "--json").stdout)
    assert data["jobs_failed"] == 1 and data["outbox_sent"] == 1 and data["incidents"][0]["stage"] == "transcribe"

    result = run_cli("process", meeting_id)  # asked by hand: one more attempt, past the bound
    assert result.returncode == 1 and "attempt 4 of 3" in result.stderr, result.stderr
    with open_archive(settings) as db:
        assert len(db.incidents()) == 2 and len(db.outbox_list()) == 1  # the same alert is not queued twice


def test_pipeline_log_keeps_no_personal_data(home, monkeypatch):
    settings = load_settings()
    meeting_id = _corrupt_meeting(settings)
    run_cli("resume")
    events = pipeline.read_log(settings.recordings_dir / meeting_id)
    assert [(e["stage"], e["event"]) for e in events] == [("transcribe", "start"), ("transcribe", "failed")]
    assert events[1]["traceback"] is None  # a user error, not a bug: no traceback kept


def test_status_on_a_fresh_home(home):
    result = run_cli("status")
    assert result.returncode == 0, result.stderr
    assert "jobs: 0 running, 0 pending, 0 failed" in result.stdout and "no incidents" in result.stdout


def test_doctor_says_what_is_missing_and_how_to_fix_it(home, tmp_path, monkeypatch):
    damaged = tmp_path / "damaged-model"
    damaged.mkdir()
    (damaged / "model.bin").write_bytes(b"\0" * 1000)
    (damaged / "config.json").write_text("{}")
    (damaged / "voicebot-model.json").write_text(json.dumps({"name": "base", "size": 145_000_000, "sha256": "0"}))
    monkeypatch.setenv("VOICEBOT_ASR_MODEL", str(damaged))
    monkeypatch.setenv("VOICEBOT_SMTP_URL", "smtp://127.0.0.1:9")  # nothing listens on the discard port
    result = run_cli("doctor", "--json")
    assert result.returncode == 1, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["whisper model"]["state"] == "fail" and "truncated or replaced" in checks["whisper model"]["detail"]
    assert checks["mail server"]["state"] == "fail" and "VOICEBOT_SMTP_URL" in checks["mail server"]["fix"]
    assert checks["database"]["state"] == "ok" and checks["free disk"]["state"] == "ok"
    assert checks["admin alerts"]["state"] == "warn" and checks["minutes engine"]["state"] == "ok"
    text = run_cli("doctor").stdout
    assert "FAIL whisper model" in text and "fix: set VOICEBOT_SMTP_URL" not in text and "fix: check" in text


def test_doctor_passes_a_model_not_yet_installed_from_local_packages(home):
    checks = {c["name"]: c for c in json.loads(run_cli("doctor", "--json").stdout)}
    assert checks["whisper model"]["state"] == "warn" and "voicebot models install base" == \
        checks["whisper model"]["fix"]
    assert checks["mail server"]["state"] == "warn" and str(home / "outbox") in checks["mail server"]["detail"]


def test_with_an_invite_list_only_enrolled_invitees_are_candidate_voices():
    from voicebot.pipeline import voice_candidates
    from voicebot.schema import Person

    people = [{"name": n, "email": e} for n, e in (("Alice", "alice@example.org"), ("Bob", None),
                                                    ("Carol Dupont", None), ("Dan", "dan@example.org"),
                                                    ("Bob Stone", None))]
    invitees = [Person("Alice Martin", "ALICE@example.org"), Person("Bob Martin", "bob@example.org"),
                Person("Carol", None)]
    names = [p["name"] for p in voice_candidates(people, invitees)]
    # Alice by email, Bob as the short form of Bob Martin, Carol Dupont as the long form of Carol;
    # Dan is enrolled but not invited; Bob Stone is another Bob
    assert names == ["Alice", "Bob", "Carol Dupont"]
    assert voice_candidates(people, []) == people  # no invite list: everyone enrolled
