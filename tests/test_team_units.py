"""The team server's quick checks: the [queue] settings, the Celery app's delivery settings, the one-line
errors of `voicebot worker` and `voicebot upload`, and the 4xx/503 answers of POST /api/uploads.

Real parts: the real application in-process (FastAPI's TestClient), a real SQLite archive, real audio
files; the CLI in a subprocess. No broker runs here (tests/test_team_server.py starts a real Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicebot.config import load_settings
from voicebot.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
CLOSED = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


def voicebot(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m voicebot ARGS`` from this checkout, with no VOICEBOT_* setting but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    return subprocess.run([sys.executable, "-m", "voicebot", *args], capture_output=True, text=True, timeout=60,
                          env={**clean, "PYTHONPATH": str(ROOT), **env})


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def tone(path: Path, seconds: float = 2.0, freq: float = 440.0) -> Path:
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)
    return path


# --- settings and the Celery app -----------------------------------------------------------------------


def test_queue_settings_default_and_from_the_environment():
    settings = load_settings({})
    assert settings.queue.broker_url == "" and settings.queue.visibility_timeout == 12 * 3600
    assert settings.queue.sweep_seconds == 60 and settings.queue.retry_seconds == 60
    settings = load_settings({"VOICEBOT_QUEUE_BROKER_URL": "redis://10.0.0.5:6379/1",
                              "VOICEBOT_QUEUE_VISIBILITY_TIMEOUT": "7200", "VOICEBOT_WEB_MAX_UPLOAD_MB": "5"})
    assert settings.queue.broker_url == "redis://10.0.0.5:6379/1"
    assert settings.queue.visibility_timeout == 7200.0 and settings.web.max_upload_mb == 5
    with pytest.raises(UserError, match="queue.visibility_timeout"):
        load_settings({"VOICEBOT_QUEUE_VISIBILITY_TIMEOUT": "soon"})


def test_celery_app_takes_long_jobs_safely():
    from voicebot import queue

    settings = load_settings({"VOICEBOT_QUEUE_BROKER_URL": "redis://:s3cret@127.0.0.1:6379/0"})
    app = queue.make_app(settings)
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == settings.queue.visibility_timeout
    assert conf.task_default_queue == queue.QUEUE and queue.TASK in app.tasks
    assert queue.app_for(settings) is queue.app_for(settings)
    assert "s3cret" not in queue.redacted(settings.queue.broker_url)
    for url, problem in (("", "no task queue"), ("amqp://127.0.0.1", "give a Redis URL")):
        with pytest.raises(UserError, match=problem):
            queue.broker_url(load_settings({"VOICEBOT_QUEUE_BROKER_URL": url}))


# --- the command line's errors: one line each ------------------------------------------------------------


def test_worker_errors_are_one_line(tmp_path):
    assert "queue.broker_url" in one_error_line(voicebot("worker", VOICEBOT_HOME=str(tmp_path)))
    line = one_error_line(voicebot("worker", "--queues", "gpu", VOICEBOT_HOME=str(tmp_path),
                                   VOICEBOT_QUEUE_BROKER_URL=CLOSED))
    assert "unknown queue gpu" in line and "meetings" in line


def test_upload_errors_are_one_line(tmp_path):
    audio = tone(tmp_path / "meeting.wav")
    before = audio.read_bytes()
    assert "no such file" in one_error_line(voicebot("upload", str(tmp_path / "missing.wav"), "--server",
                                                     "http://127.0.0.1:9", "--token", "t"))
    assert "not-a-url" in one_error_line(voicebot("upload", str(audio), "--server", "not-a-url", "--token", "t"))
    bad_invite = voicebot("upload", str(audio), "--server", "http://127.0.0.1:9", "--token", "t",
                          "--invite", "alice@exa mple.org")
    assert "alice@exa mple.org" in one_error_line(bad_invite)
    away = voicebot("upload", str(audio), "--server", "http://127.0.0.1:9", "--token", "t", "--retry-for", "0")
    assert away.returncode != 0
    line = one_error_line(away)
    assert "cannot reach http://127.0.0.1:9" in line and "gave up after 1 attempts" in line
    assert audio.read_bytes() == before  # never touched


def test_upload_of_a_recording_not_finished_is_refused_in_one_line(tmp_path):
    from voicebot import recordings, schema

    meeting = schema.Meeting(id="20261124-093012-weekly-sync-3f9a", title="Weekly sync",
                             started_at="2026-11-24T09:30:12+01:00", status="recording")
    recordings.save_meeting(tmp_path / "recordings" / meeting.id, meeting)
    line = one_error_line(voicebot("upload", meeting.id, "--server", "http://127.0.0.1:9", "--token", "t",
                                   VOICEBOT_HOME=str(tmp_path)))
    assert "'recording'" in line and "voicebot stop" in line
    line = one_error_line(voicebot("upload", "20261124-093012-other-1a2b", "--server", "http://127.0.0.1:9",
                                   "--token", "t", VOICEBOT_HOME=str(tmp_path)))
    assert "no meeting 20261124-093012-other-1a2b" in line


# --- POST /api/uploads: what it refuses ---------------------------------------------------------------------


def client_for(home: Path, **env: str):
    from fastapi.testclient import TestClient

    from voicebot.web.app import create_app

    settings = load_settings({"VOICEBOT_HOME": str(home), **env})
    return TestClient(create_app(settings), base_url="http://127.0.0.1:8000"), settings


def test_upload_refusals_say_why(server_home, tmp_path):
    home, tokens = server_home
    http, _ = client_for(home, VOICEBOT_WEB_MAX_UPLOAD_MB="1")
    auth = {"Authorization": f"Bearer {tokens['bob']}"}
    with http:
        assert http.post("/api/uploads", files={"audio": ("a.wav", b"RIFF")}).status_code == 401
        assert http.post("/api/uploads", headers=auth, data={"title": "x"}).status_code == 422  # no audio
        empty = http.post("/api/uploads", headers=auth, files={"audio": ("a.wav", b"")})
        assert empty.status_code == 400 and "empty" in empty.json()["detail"]
        text = http.post("/api/uploads", headers=auth, files={"audio": ("notes.wav", b"hello, not audio" * 10)})
        assert text.status_code == 400 and "notes.wav" in text.json()["detail"]
        big = http.post("/api/uploads", headers=auth, files={"audio": ("big.wav", b"\0" * (1024 * 1024 + 1))})
        assert big.status_code == 413 and "web.max_upload_mb" in big.json()["detail"]
        invite = http.post("/api/uploads", headers=auth, data={"invite": "alice@exa mple.org"},
                           files={"audio": ("a.wav", b"x")})
        assert invite.status_code == 400 and "alice@exa mple.org" in invite.json()["detail"]
        for when in ("yesterday", "2026-11-24T09:30:00"):
            dated = http.post("/api/uploads", headers=auth, data={"recorded_at": when}, files={"audio": ("a.wav", b"x")})
            assert dated.status_code == 400 and "recorded_at" in dated.json()["detail"]
    assert not (home / "recordings").exists() or not any((home / "recordings").iterdir())
    assert not any((home / "uploads").iterdir())  # nothing left behind
    assert str(home) not in text.json()["detail"]  # the server's paths are not shown


def test_queue_down_keeps_the_upload_and_answers_503(server_home, tmp_path):
    """The broker cannot be reached: 503 with Retry-After, and the meeting is stored (owned by the uploader), so
    the laptop's retry is the same meeting. A member's upload of audio the same as a meeting they may not see
    is a meeting of their own."""
    from voicebot.archive import open_archive

    home, tokens = server_home
    audio = tone(tmp_path / "standup.wav").read_bytes()
    http, settings = client_for(home, VOICEBOT_QUEUE_BROKER_URL=CLOSED)

    def send(user: str, **data: str):
        return http.post("/api/uploads", headers={"Authorization": f"Bearer {tokens[user]}"}, data=data,
                         files={"audio": ("standup.wav", audio)})

    with http:
        first = send("claire", invite="Dan <dan@example.org>", recorded_at="2026-11-24T09:30:00+01:00")
        assert first.status_code == 503 and first.headers["retry-after"] == "30"
        assert "cannot be reached" in first.json()["detail"]
        assert send("claire").status_code == 503  # the laptop tries again: the same meeting
        with open_archive(settings) as db:
            assert owners(db) == [("standup", "claire")]
            started = datetime.fromisoformat(db.list_meetings()[0]["started_at"])  # the laptop's time, in the
            assert started == datetime.fromisoformat("2026-11-24T09:30:00+01:00")  # server's zone as any meeting
        assert send("bob").status_code == 503
        assert send("bob").status_code == 503
    with open_archive(settings) as db:
        assert owners(db) == [("standup", "bob"), ("standup", "claire")]


def owners(db) -> list[tuple[str, str]]:
    return [(r["title"], r["owner"]) for r in db.backend.query("SELECT title, owner FROM meetings ORDER BY owner")]


def test_an_upload_in_pieces_resumes_and_is_checked(server_home, tmp_path):
    """Pieces are kept per user and upload (the file's sha256), a piece sent again replaces it, finishing with a
    piece missing answers 409 naming it, pieces that do not make the announced file are refused and dropped."""
    import hashlib

    home, tokens = server_home
    audio = tone(tmp_path / "review.wav", seconds=3).read_bytes()
    digest = hashlib.sha256(audio).hexdigest()
    halves = [audio[:len(audio) // 2], audio[len(audio) // 2:]]
    http, settings = client_for(home, VOICEBOT_QUEUE_BROKER_URL=CLOSED, VOICEBOT_WEB_MAX_UPLOAD_MB="1")
    claire, bob = ({"Authorization": f"Bearer {tokens[user]}"} for user in ("claire", "bob"))
    route = f"/api/uploads/{digest}"
    with http:
        assert http.get("/api/uploads/not-a-digest", headers=claire).status_code == 400
        assert http.put(f"{route}/pieces/0", headers=claire, content=b"").status_code == 400
        assert http.put(f"{route}/pieces/0", headers=claire, content=b"\0" * (1024 * 1024 + 1)).status_code == 413
        assert http.put(f"{route}/pieces/1", headers=claire, content=halves[1]).json()["pieces"] == [1]
        assert http.put(f"{route}/pieces/1", headers=claire, content=halves[1]).json()["pieces"] == [1]  # again
        assert http.get(route, headers=bob).json()["pieces"] == []  # bob's uploads are his own
        form = {"pieces": "2", "filename": "review.wav", "recorded_at": "2026-11-24T09:30:00+01:00"}
        missing = http.post(f"{route}/finish", headers=claire, data=form)
        assert missing.status_code == 409 and "pieces missing: 0 (of 2)" in missing.json()["detail"]
        assert http.put(f"{route}/pieces/0", headers=claire, content=halves[0]).json()["pieces"] == [0, 1]
        queued = http.post(f"{route}/finish", headers=claire, data=form)
        assert queued.status_code == 503  # stored, not queued: the pieces stay for the retry
        assert http.get(route, headers=claire).json()["pieces"] == [0, 1]
        with open_archive_of(settings) as db:
            assert owners(db) == [("review", "claire")]
        http.put(f"/api/uploads/{'0' * 64}/pieces/0", headers=bob, content=halves[0])
        wrong = http.post(f"/api/uploads/{'0' * 64}/finish", headers=bob, data={"pieces": "1"})
        assert wrong.status_code == 409 and "sha256 differs" in wrong.json()["detail"]
        assert http.get(f"/api/uploads/{'0' * 64}", headers=bob).json()["pieces"] == []


def open_archive_of(settings):
    from voicebot.archive import open_archive

    return open_archive(settings)


def test_voicebot_upload_sends_only_the_pieces_the_server_lacks(server_home, tmp_path):
    """`voicebot upload`'s sending against a real `voicebot serve`: every piece, then after the server lost
    one, only that one; the queue being down (503) is retried until --retry-for runs out."""
    import hashlib

    from web_helpers import Server

    from voicebot import upload as uploads

    home, tokens = server_home
    audio = tone(tmp_path / "retro.wav", seconds=2)
    digest = hashlib.sha256(audio.read_bytes()).hexdigest()
    server = Server(home, env={"PYTHONPATH": str(ROOT), "VOICEBOT_QUEUE_BROKER_URL": CLOSED})
    sent: list[int] = []
    try:
        def send() -> str:
            with pytest.raises(UserError) as refused:
                uploads.send(audio, server=server.url, token=tokens["bob"], piece_bytes=20000, retry_for=0,
                             on_piece=lambda number, count: sent.append(number))
            return str(refused.value)

        first = send()
        assert "503" in first and "goes on from the pieces the server has" in first
        count = -(-audio.stat().st_size // 20000)
        assert sent == list(range(count)) and count == 4
        folder = next((home / "uploads" / "pieces").glob(f"*/{digest}"))
        (folder / "000002.piece").unlink()  # the server lost one
        sent.clear()
        assert "503" in send()
        assert sent == [2]
    finally:
        server.stop()
