"""What voicebot writes is readable by its user only, and `voicebot doctor` checks it (issue 17).

Before: the database, the audio, the transcripts and the emails were 0644 (world-readable)."""

from __future__ import annotations

import json
import stat

from web_helpers import SAMPLES

from tests.conftest import run_cli


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _privacy(env) -> dict:
    doctor = run_cli("doctor", "--json", env=env)
    return next(c for c in json.loads(doctor.stdout) if c["name"] == "private files")


def test_everything_voicebot_writes_is_private_and_doctor_checks_it(tmp_path):
    home = tmp_path / "new-home"  # voicebot makes it
    env = {"VOICEBOT_HOME": str(home), "VOICEBOT_ASR_MODEL": "/no/model/here",
           "VOICEBOT_PIPELINE_MAX_ATTEMPTS": "1", "VOICEBOT_MAIL_ADMIN": "admin@example.org"}
    added = run_cli("users", "add", "claire", "--password-stdin", input="a long password\n", env=env)
    assert added.returncode == 0, added.stderr
    token = run_cli("users", "token", "claire", env=env)  # makes the web secret
    assert token.returncode == 0, token.stderr
    # an import writes the meeting's folder, audio and card; transcription then fails (no model), and the
    # admin's alert is an email written into the Maildir outbox
    run_cli("process", str(SAMPLES / "meeting-en.flac"), env=env)
    meeting = next(d for d in (home / "recordings").iterdir() if not d.name.startswith("."))
    emails = list((home / "outbox").rglob("*.eml"))
    assert emails and all(_mode(path) == 0o600 for path in emails), emails
    assert _mode(home) == 0o700 and _mode(home / "recordings") == 0o700 and _mode(meeting) == 0o700
    for path in (home / "voicebot.db", home / "web-secret", meeting / "audio.flac", meeting / "meeting.json"):
        assert _mode(path) == 0o600, (path, oct(_mode(path)))
    for path in home.rglob("*"):
        assert not _mode(path) & 0o077, (path, oct(_mode(path)))
    check = _privacy(env)
    assert check["state"] == "ok", check
    (home / "voicebot.db").chmod(0o644)
    (meeting / "audio.flac").chmod(0o644)
    home.chmod(0o755)
    check = _privacy(env)
    assert check["state"] == "fail" and "voicebot.db" in check["detail"] and "chmod" in check["fix"]
    assert str(home) in check["fix"]
    text = run_cli("doctor", env=env).stdout
    assert "private files" in text and "FAIL" in text
