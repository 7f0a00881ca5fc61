"""What the web tests share: a home seeded with a real processed meeting, a real
``voicebot serve`` server on a free port, and logging in over HTTP.

The English sample meeting (samples/meeting-en.*) is stored as the pipeline leaves a
meeting whose third voice was not recognised: its audio, the reference transcript
with Carol shown as "Speaker 1", the diarization, the speaker naming, and minutes
drafted by voicebot.minutes; all in the archive too. The French sample transcript is
a second meeting (no audio kept), and a third meeting holds hostile text (markup in
its title, transcript and speaker names) for the escaping tests.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from voicebot import recordings, schema

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
EN_ID = "20260312-093000-website-launch-weekly-ab12"
FR_ID = "20260311-140000-point-projet-cd34"
HOSTILE_ID = "20260310-080000-hostile-ef56"
HOSTILE_TITLE = '<script>alert("title")</script> & "quotes"'
HOSTILE_SPEAKER = '<img src=x onerror=alert(1)>'
HOSTILE_TEXT = 'The budget </li><script>alert("xss")</script> is <b>approved</b> & final'
USER, PASSWORD = "claire", "correct horse battery"
UNNAMED = "Speaker 1"  # Carol's voice, not enrolled
LABELS = {"Alice": "SPEAKER_00", "Bob": "SPEAKER_01", "Carol": "SPEAKER_02"}


def _store(settings, meeting: schema.Meeting, transcript: schema.Transcript, *, audio: Path | None = None,
           rttm: str | None = None, naming: dict | None = None) -> None:
    """A meeting as the pipeline leaves it: its folder's files, then its rows in the archive."""
    from voicebot.archive import open_archive
    from voicebot.minutes import draft, render_markdown, write_minutes

    directory = settings.recordings_dir / meeting.id
    recordings.save_meeting(directory, meeting)
    if audio is not None:
        shutil.copyfile(audio, directory / recordings.AUDIO)
    if rttm is not None:
        (directory / recordings.DIARIZATION).write_text(rttm, encoding="utf-8")
    if naming is not None:
        (directory / recordings.SPEAKERS).write_text(schema.dumps(naming), encoding="utf-8")
    (directory / recordings.TRANSCRIPT).write_text(schema.dumps(transcript), encoding="utf-8")
    minutes = draft(transcript, settings, meeting=meeting, speakers=naming)
    write_minutes(directory, minutes)
    with open_archive(settings) as db:
        db.save_meeting(meeting, directory=directory)
        db.save_transcript(meeting.id, transcript)
        db.save_minutes(meeting.id, minutes, render_markdown(minutes))


def seed(settings) -> None:
    """The three meetings, and the user ``claire`` (password PASSWORD), an admin: she sees them all
    (test_security_access.py adds members, who see only their own)."""
    from voicebot.archive import open_archive
    from voicebot.invites import read_ics
    from voicebot.web.auth import hash_password

    # English: audio + transcript + diarization, Carol not recognised ("Speaker 1")
    transcript = schema.Transcript.from_dict(schema.read_json(SAMPLES / "meeting-en.transcript.json"))
    for seg in transcript.segments:
        if seg.speaker == "Carol":
            seg.speaker = UNNAMED
    turns = schema.turns_from_rttm((SAMPLES / "meeting-en.rttm").read_text(encoding="utf-8"))
    rttm = schema.turns_to_rttm([schema.Turn(t.start, t.end, LABELS[t.speaker]) for t in turns], EN_ID)
    invitation = read_ics(SAMPLES / "meeting-en.ics")
    emails = {p.name: p.email for p in invitation.people}
    naming = {"labels": {LABELS["Alice"]: {"name": "Alice", "email": emails["Alice"], "score": 0.93},
                         LABELS["Bob"]: {"name": "Bob", "email": emails["Bob"], "score": 0.91},
                         LABELS["Carol"]: None},
              "present": ["Alice", "Bob"], "unnamed": {LABELS["Carol"]: UNNAMED}, "threshold": 0.85}
    meeting = schema.Meeting(id=EN_ID, title=invitation.title or "Website launch", language="en",
                             started_at="2026-03-12T09:30:00+01:00", ended_at="2026-03-12T09:31:24+01:00",
                             invitees=invitation.people, status="recorded")
    _store(settings, meeting, transcript, audio=SAMPLES / "meeting-en.flac", rttm=rttm, naming=naming)

    # French: transcript only
    transcript = schema.Transcript.from_dict(schema.read_json(SAMPLES / "meeting-fr.transcript.json"))
    meeting = schema.Meeting(id=FR_ID, title=transcript.title or "Point projet", language="fr",
                             started_at="2026-03-11T14:00:00+01:00", status="recorded")
    _store(settings, meeting, transcript)

    # hostile text everywhere a user can put text
    segments = [schema.Segment(0.0, 4.0, HOSTILE_TEXT, speaker=HOSTILE_SPEAKER, language="en"),
                schema.Segment(4.5, 8.0, "We decided to ship the release on Friday.", speaker="Zoé", language="en")]
    transcript = schema.Transcript("en", 8.0, "base", "faster-whisper", segments, date="2026-03-10")
    meeting = schema.Meeting(id=HOSTILE_ID, title=HOSTILE_TITLE, language="en",
                             started_at="2026-03-10T08:00:00+01:00", status="recorded")
    _store(settings, meeting, transcript)

    with open_archive(settings) as db:
        db.add_user(USER, hash_password(PASSWORD), role="admin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_") or k == "VOICEBOT_CORPUS"}
    env.update(VOICEBOT_HOME=str(home), HF_HUB_OFFLINE="1", **extra)
    return env


class Server:
    """``voicebot serve`` in a subprocess, as a user starts it; stopped with SIGTERM."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None, https: bool = False,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"{'https' if https else 'http'}://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        command = [sys.executable, "-m", "voicebot", "serve", "--port", str(self.port), *args]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, env=clean_env(home, **(env or {})), cwd=home,
                                            stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voicebot serve exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"voicebot serve did not start in {timeout} s: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def client(server: Server, **kwargs) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=60, **kwargs)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(http: httpx.Client, user: str = USER, password: str = PASSWORD) -> httpx.Response:
    """Log in through the login form, as a browser does; the client keeps the session cookie."""
    form = http.get("/login")
    assert form.status_code == 200, form.text
    return http.post("/login", data={"username": user, "password": password, "next": "/",
                                     "csrf_token": csrf_of(form.text)})


# --- fixtures (imported by the test modules) ------------------------------------------------

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def web_template(tmp_path_factory) -> Path:
    """A home seeded once per session; tests get their own copy (``web_home``)."""
    from voicebot.config import load_settings

    home = tmp_path_factory.mktemp("web-template") / "home"
    home.mkdir()
    seed(load_settings(clean_env(home)))
    return home


@pytest.fixture
def web_home(web_template, tmp_path) -> Path:
    """This test's own copy of the seeded home (archive, recordings, web secret)."""
    from voicebot.archive import open_archive
    from voicebot.config import load_settings

    home = tmp_path / "home"
    shutil.copytree(web_template, home)
    settings = load_settings(clean_env(home))
    with open_archive(settings) as db:  # the archive keeps each meeting's folder: point it at the copy
        for directory in recordings.list_meeting_dirs(settings.recordings_dir):
            db.save_meeting(recordings.load_meeting(directory), directory=directory)
    return home


def settings_of(home: Path, **env: str):
    from voicebot.config import load_settings

    return load_settings(clean_env(home, **env))


def app_client(home: Path, **env: str):
    """The real application in-process (FastAPI's TestClient drives it over ASGI), for ``home``."""
    from fastapi.testclient import TestClient

    from voicebot.web.app import create_app

    return TestClient(create_app(settings_of(home, **env)), base_url="http://127.0.0.1:8000",
                      follow_redirects=False)
