"""A recording sent to the team server while it is made (voicebot/upload_live.py, `voicebot record --server`).

Real parts: the recorder's own WAV pieces (tests/record_helpers.py) and its assembly; the real application
(in-process for the protocol's answers, `voicebot serve` as a process for the laptop's end); real audio through
the real capture path (PulseAudio) for `voicebot record --server`, with the server stopped mid-recording."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from record_helpers import noise, noise_file
from test_team_units import client_for
from web_helpers import Server, free_port

from voicebot import recordings
from voicebot.config import load_settings
from voicebot.record.assemble import assemble, samples_digest
from voicebot.record.chunks import list_chunks

ROUTE = "/api/recordings"


def laptop_recording(tmp_path: Path, seconds: float = 3.5) -> Path:
    """A recording as the recorder leaves it on a laptop with chunks kept: closed pieces and audio.flac."""
    from record_helpers import make_recording

    settings = load_settings({"VOICEBOT_HOME": str(tmp_path / "laptop")})
    directory = make_recording(settings, noise(int(seconds * 16000), seed=5), finish=True, title="weekly")
    assert assemble(directory).verified
    return directory


def test_the_server_takes_a_recording_piece_by_piece_and_checks_it_whole(server_home, tmp_path):
    home, tokens = server_home
    directory = laptop_recording(tmp_path)
    recording_id = directory.name
    pieces = [p.read_bytes() for p in list_chunks(directory / recordings.CHUNKS)]
    assert len(pieces) == 4
    frames, sha256 = samples_digest(directory / recordings.AUDIO)
    claire, bob = ({"Authorization": f"Bearer {tokens[name]}"} for name in ("claire", "bob"))
    form = {"chunks": "4", "frames": str(frames), "sha256": sha256, "title": "Weekly",
            "recorded_at": "2026-11-24T09:30:00+01:00", "invite": "Dora <dora@example.org>"}
    http, settings = client_for(home)
    with http:
        def put(n: int, data: bytes, who=claire):
            return http.put(f"{ROUTE}/{recording_id}/chunks/{n}", content=data, headers=who)

        assert put(0, pieces[0]).json()["chunks"] == [0]
        assert put(0, pieces[0]).json()["chunks"] == [0]  # again: harmless
        assert put(2, pieces[2]).json()["chunks"] == [0, 2]
        # refused in one line, nothing kept: not a piece, a bad id, no token
        bad = put(1, b"RIFF....not a wave at all")
        assert bad.status_code == 400 and "not a piece of a recording" in bad.json()["detail"]
        assert http.put(f"{ROUTE}/../chunks/1", content=pieces[1], headers=claire).status_code in (400, 404)
        assert http.put(f"{ROUTE}/not-an-id/chunks/1", content=pieces[1], headers=claire).status_code == 400
        assert http.put(f"{ROUTE}/{recording_id}/chunks/1", content=pieces[1]).status_code == 401
        # another user sees none of it, and cannot finish it
        assert http.get(f"{ROUTE}/{recording_id}", headers=bob).json()["chunks"] == []
        assert http.post(f"{ROUTE}/{recording_id}/finish", data=form, headers=bob).status_code == 409
        # pieces missing: named
        missing = http.post(f"{ROUTE}/{recording_id}/finish", data=form, headers=claire)
        assert missing.status_code == 409 and "pieces missing: 1, 3 (of 4)" in missing.json()["detail"]
        put(1, pieces[1]), put(3, pieces[3])
        # pieces that do not make the laptop's samples: dropped, and said
        wrong = http.post(f"{ROUTE}/{recording_id}/finish", data={**form, "sha256": "0" * 64}, headers=claire)
        assert wrong.status_code == 409 and "dropped" in wrong.json()["detail"]
        assert http.get(f"{ROUTE}/{recording_id}", headers=claire).json()["chunks"] == []
        for n, data in enumerate(pieces):
            put(n, data)
        done = http.post(f"{ROUTE}/{recording_id}/finish", data=form, headers=claire)
        assert done.status_code == 202, done.text
        meeting_id = done.json()["meeting_id"]
        assert http.get(f"{ROUTE}/{recording_id}", headers=claire).json()["chunks"] == []  # cleaned up
    stored = settings.recordings_dir / meeting_id
    assert samples_digest(stored / recordings.AUDIO) == (frames, sha256)  # the laptop's samples, exactly
    meeting = recordings.load_meeting(stored)
    assert meeting.title == "Weekly" and [p.email for p in meeting.invitees] == ["dora@example.org"]
    assert datetime.fromisoformat(meeting.started_at) == datetime.fromisoformat(form["recorded_at"])


def test_uploads_nobody_finishes_are_shredded_after_a_week_and_the_laptop_sends_again(server_home, tmp_path):
    """A laptop that never came back: its pieces on the server (audio, personal data) go after
    web.abandoned_upload_days; uploads still moving stay; the laptop that does come back sends them again."""
    from voicebot import upload

    home, tokens = server_home
    directory = laptop_recording(tmp_path)
    pieces = [p.read_bytes() for p in list_chunks(directory / recordings.CHUNKS)]
    claire = {"Authorization": f"Bearer {tokens['claire']}"}
    other = "20261124-100000-other-b2c3"
    http, settings = client_for(home)
    with http:
        for recording_id in (directory.name, other):
            assert http.put(f"{ROUTE}/{recording_id}/chunks/0", content=pieces[0], headers=claire).status_code == 200
        digest = "ab" * 32
        assert http.put(f"/api/uploads/{digest}/pieces/0", content=b"x" * 1000, headers=claire).status_code == 200
        held = sorted(p.name for p in (settings.home / "uploads").glob("*/*/*"))
        assert held == sorted([directory.name, other, digest])
        old = time.time() - 8 * 86400  # a week and a day without a piece: the recording and the file upload
        for folder in (settings.home / "uploads").glob("*/*/*"):
            if folder.name != other:
                for path in (folder, *folder.rglob("*")):
                    os.utime(path, (old, old))
        assert upload.sweep_abandoned(settings) == 2
        assert [p.name for p in (settings.home / "uploads").glob("*/*/*")] == [other]
        assert http.get(f"{ROUTE}/{directory.name}", headers=claire).json()["chunks"] == []
        assert upload.sweep_abandoned(settings, now=time.time() + 8 * 86400) == 1  # the other, a week later
        assert upload.sweep_abandoned(load_settings({"VOICEBOT_HOME": str(home),
                                                      "VOICEBOT_WEB_ABANDONED_UPLOAD_DAYS": "0"})) == 0
        # the laptop comes back: the server asks for every piece, and takes them
        frames, sha256 = samples_digest(directory / recordings.AUDIO)
        form = {"chunks": str(len(pieces)), "frames": str(frames), "sha256": sha256, "title": "Weekly"}
        missing = http.post(f"{ROUTE}/{directory.name}/finish", data=form, headers=claire)
        assert missing.status_code == 409 and "pieces missing: 0, 1, 2, 3" in missing.json()["detail"]
        for n, data in enumerate(pieces):
            http.put(f"{ROUTE}/{directory.name}/chunks/{n}", content=data, headers=claire)
        assert http.post(f"{ROUTE}/{directory.name}/finish", data=form, headers=claire).status_code == 202


def test_resume_leaves_a_crashed_server_recording_to_the_server(home, tmp_path):
    """A laptop that crashed while recording for a team server: resume repairs the audio but does not process
    it here (the server would mail the invitees too); it says how to send it."""
    from conftest import run_cli
    from record_helpers import make_recording

    from voicebot.archive import open_archive

    settings = load_settings({"VOICEBOT_HOME": str(home)})
    directory = make_recording(settings, noise(3 * 16000, seed=2), title="weekly")  # the last piece half-written
    meeting = recordings.load_meeting(directory)
    meeting.server = "https://voicebot.example.org"
    recordings.save_meeting(directory, meeting)
    done = run_cli("resume")
    assert done.returncode == 0, done.stderr
    assert (f"{meeting.id}: recorded for the team server https://voicebot.example.org, which processes it: send "
            f"what it lacks with `voicebot upload {meeting.id} --server https://voicebot.example.org`") \
        in " ".join(done.stderr.split())
    assert recordings.load_meeting(directory).status == "recovered"
    assert (directory / recordings.AUDIO).is_file()
    with open_archive(settings) as db:
        assert db.job_stages(meeting.id) == {} and db.unfinished_jobs() == []
    again = run_cli("resume")  # and again: still left to the server
    assert again.returncode == 0 and "recorded for the team server" in again.stderr


def test_the_laptop_sends_pieces_as_they_close_waits_while_the_server_is_away_then_finishes(server_home, tmp_path):
    from voicebot import upload_live
    from voicebot.errors import UserError

    home, tokens = server_home
    directory = laptop_recording(tmp_path, seconds=5.5)
    meeting = recordings.load_meeting(directory)
    port = free_port()
    sender = upload_live.Sender(f"http://127.0.0.1:{port}", tokens["claire"], pause=0.2)
    sender.check()
    assert "cannot reach" in sender.waiting  # not an error: the pieces wait
    sender.start(directory)
    time.sleep(1.0)
    assert sender.sent == set() and "cannot reach" in sender.waiting
    server = Server(home, port=port)
    try:
        deadline = time.monotonic() + 60
        while len(sender.sent) < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sender.sent == set(range(6)) and sender.waiting == ""
        with pytest.raises(UserError, match="refuses the token"):  # before recording, in one line
            upload_live.Sender(server.url, "not-a-token").check()
        sent = sender.finish(meeting, invite="dora@example.org", retry_for=30)
    finally:
        server.stop()
    settings = load_settings({"VOICEBOT_HOME": str(home)})
    assert samples_digest(settings.recordings_dir / sent.meeting_id / recordings.AUDIO) == \
        samples_digest(directory / recordings.AUDIO)
    assert not (directory / recordings.CHUNKS).exists() and (directory / recordings.AUDIO).is_file()


def test_a_server_that_stays_away_leaves_the_whole_recording_on_the_laptop(server_home, tmp_path):
    from voicebot import upload_live
    from voicebot.errors import UserError

    _, tokens = server_home
    directory = laptop_recording(tmp_path)
    sender = upload_live.Sender(f"http://127.0.0.1:{free_port()}", tokens["claire"], pause=0.1)
    sender.start(directory)
    with pytest.raises(UserError) as refused:
        sender.finish(recordings.load_meeting(directory), retry_for=1)
    line = str(refused.value)
    assert "cannot reach" in line and f"voicebot upload {directory.name} --server" in line
    assert len(list_chunks(directory / recordings.CHUNKS)) == 4 and (directory / recordings.AUDIO).is_file()


@pytest.mark.slow
def test_record_with_server_through_the_capture_path_with_the_server_stopped_midway(server_home, pulse, tmp_path):
    """`voicebot record --server` on a laptop home while real audio plays into PulseAudio; the server is stopped
    after 3 s and started again 4 s later on the same address. Every piece reaches it, and the meeting it
    processes holds exactly the laptop's samples."""
    home, tokens = server_home
    laptop = tmp_path / "laptop"
    laptop.mkdir(mode=0o700)
    port = free_port()
    server = Server(home, port=port)
    played = tmp_path / "noise.wav"
    noise_file(played, 12, seed=8)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}, **pulse.env,
           "VOICEBOT_HOME": str(laptop)}
    recorder = subprocess.Popen([sys.executable, "-m", "voicebot", "record", "--title", "Agency call", "--invite",
                                 "Dora <dora@example.org>", "--server", server.url, "--token", tokens["claire"]],
                                env=env, cwd=laptop, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = recorder.stdout.readline()
        assert started.startswith("recording: "), started + recorder.stderr.read()
        meeting_id = started.split()[1]
        player = pulse.play(played)
        time.sleep(3)
        server.stop()
        time.sleep(4)
        server = Server(home, port=port)
        player.wait(timeout=60)
        recorder.send_signal(signal.SIGINT)
        out, err = recorder.communicate(timeout=180)
    finally:
        if recorder.poll() is None:
            recorder.kill()
        server.stop()
    assert recorder.returncode == 0, err
    assert "cannot reach" in err and "the server is back" in err  # said while it happened, in plain lines
    local = laptop / "recordings" / meeting_id
    server_id = out.rsplit("/meetings/", 1)[1].split()[0]
    settings = load_settings({"VOICEBOT_HOME": str(home)})
    stored = settings.recordings_dir / server_id
    frames, _ = samples_digest(local / recordings.AUDIO)
    assert frames > 12 * 16000 and samples_digest(stored / recordings.AUDIO) == samples_digest(local / recordings.AUDIO)
    assert recordings.load_meeting(stored).title == "Agency call"
    assert not (local / recordings.CHUNKS).exists()  # removed once the server had everything
    assert recordings.load_meeting(local).server == server.url.rstrip("/")  # resume leaves it to the server
