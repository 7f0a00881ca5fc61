"""`voicebot resume` after crashes, with several meetings waiting at once: a recording whose recorder
died mid-meeting, a meeting killed in the middle of its transcription, one whose audio is corrupt,
and one killed in its diarization as many times as it may be tried (as a process the OOM killer
keeps stopping). The good ones are finished and mailed once; the bad ones give up, each with an
incident and an alert to the admin, without stopping the others. Real parts: Whisper tiny.en, the
builtin diarization, a real SMTP server, the CLI in subprocesses."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import run_cli
from record_helpers import make_recording
from test_mail_delivery import SmtpServer

from voicebot import pipeline, recordings, schema
from voicebot.archive import open_archive
from voicebot.audio import load_audio
from voicebot.config import load_settings

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _ids(settings) -> set[str]:
    return {d.name for d in recordings.list_meeting_dirs(settings.recordings_dir)}


def _states(settings, meeting_id: str) -> dict[str, tuple[str, int]]:
    with open_archive(settings) as db:
        return {stage: (row["state"], row["attempts"]) for stage, row in db.job_stages(meeting_id).items()}


def test_resume_finishes_every_meeting_and_one_failure_does_not_stop_the_others(home_with_models, monkeypatch,
                                                                                 tmp_path):
    smtp = SmtpServer()
    smtp.start()
    for key, value in {"SMTP_URL": smtp.url, "MAIL_ADMIN": "admin@example.org", "ASR_MODEL": "tiny.en",
                       "MAIL_SENDER": "Voicebot <minutes@example.org>", "PIPELINE_MAX_ATTEMPTS": "2"}.items():
        monkeypatch.setenv(f"VOICEBOT_{key}", value)
    settings = load_settings()
    clip = load_audio(SAMPLES / "meeting-en.flac")[:16000 * 25]  # Alice, Bob and Carol speak in it
    wav = tmp_path / "clip.wav"
    sf.write(wav, clip, 16000, subtype="PCM_16")
    try:
        crashed = make_recording(settings, np.round(clip * 32767).astype(np.int16), finish=False, title="standup",
                                 invitees=[schema.Person("Carol", "carol@example.org")]).name
        broken = pipeline.import_audio(settings, SAMPLES / "meeting-en.flac", title="broken disk").id
        (settings.recordings_dir / broken / recordings.AUDIO).write_bytes(b"fLaC" + bytes(4000))

        known = _ids(settings)
        killed = run_cli("process", str(wav), "--invite", "Alice <alice@example.org>",
                         env={"VOICEBOT_TEST_CRASH_AFTER": "checkpoint:1"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert f"recovered the unfinished recording {crashed}" in killed.stderr  # process recovers crashes first
        [transcribing] = _ids(settings) - known
        assert _states(settings, transcribing)["transcribe"] == ("running", 1)

        known = _ids(settings)
        looping = None  # the meeting created by the first attempt, resumed by the second
        for attempt in (1, 2):  # killed in diarization every time it is tried
            # the same clip again: a new meeting only when asked (issue 17: it used to make one each time)
            again = ["process", str(wav), "--new-meeting"] if attempt == 1 else ["process", looping]
            result = run_cli(*again, env={"VOICEBOT_TEST_CRASH_AFTER": "diarize"})
            assert result.returncode == -signal.SIGKILL, result.stderr
            [looping] = _ids(settings) - known
        assert _states(settings, looping)["diarize"] == ("running", 2)

        first = run_cli("resume")
        assert first.returncode == 1 and "Traceback" not in first.stderr, first.stderr
        assert "recovered the unfinished" not in first.stderr  # already recovered, now processed like the others
        for meeting_id in (crashed, transcribing):  # finished, whatever failed around them
            assert all(state == ("done", 1) or stage == "transcribe" for stage, state in
                       _states(settings, meeting_id).items()), _states(settings, meeting_id)
            assert (settings.recordings_dir / meeting_id / recordings.MINUTES_MD).is_file()
            assert f"meeting: {meeting_id}" in first.stdout
        assert _states(settings, transcribing)["transcribe"] == ("done", 2)
        resumed = [e for e in pipeline.read_log(settings.recordings_dir / transcribing) if e["event"] == "chunks"]
        assert resumed[-1]["resumed_from"] > 0 and resumed[-1]["transcribed"] == 0  # its one chunk was kept
        assert recordings.load_meeting(settings.recordings_dir / crashed).status == "recovered"
        assert _states(settings, broken)["transcribe"] == ("failed", 1)  # tried once; may be tried again
        assert _states(settings, looping)["diarize"] == ("failed", 2)  # not tried a third time
        assert f"{broken}: transcribe failed (attempt 1 of 2)" in first.stderr
        assert f"{looping}: diarize stopped after 2 attempts" in first.stderr

        second = run_cli("resume")
        assert second.returncode == 1 and f"{broken}: transcribe failed (attempt 2 of 2)" in second.stderr
        assert "gave up, the admin was alerted" in second.stderr
        assert _states(settings, crashed)["transcribe"] == ("done", 1)  # finished meetings are left alone

        with open_archive(settings) as db:
            incidents = {(i["meeting_id"], i["stage"]): i["error"] for i in db.incidents()}
            outbox = db.outbox_list()
        assert incidents == {(looping, "diarize"): "the process stopped during attempt 2 (killed or crashed)",
                             (broken, "transcribe"): incidents[(broken, "transcribe")]}
        assert all(m.status == "sent" for m in outbox)
        received = {}
        for message in smtp.handler.received:
            received.setdefault(message.message["X-Voicebot-Meeting"], []).append(
                (message.rcpt_tos[0], message.message["X-Voicebot-Kind"]))
        assert [r for r, _ in received[crashed]] == ["carol@example.org"]
        assert [r for r, _ in received[transcribing]] == ["alice@example.org"]
        assert sorted(received[looping]) == [("admin@example.org", "admin")]
        assert sorted(received[broken]) == [("admin@example.org", "admin")]
        assert all(n == 1 for n in smtp.by_message_id().values())

        third = run_cli("resume")  # nothing left to try: the two that gave up wait for a person
        assert third.returncode == 1 and "stopped after 2 attempts" in third.stderr
        assert len(smtp.handler.received) == sum(len(v) for v in received.values())
        figures = json.loads(run_cli("status", "--json").stdout)
        assert figures["jobs_failed"] == 2 and len(figures["incidents"]) == 2
        assert set(figures["unfinished"]) == {broken, looping}
    finally:
        smtp.stop()


def test_minutes_kept_from_email_are_sent_by_a_later_run_once(home_with_models, monkeypatch, tmp_path):
    """`process --no-email` to read the minutes first, then `process ID` sends them (once, however often run)."""
    smtp = SmtpServer()
    smtp.start()
    monkeypatch.setenv("VOICEBOT_SMTP_URL", smtp.url)
    monkeypatch.setenv("VOICEBOT_ASR_MODEL", "tiny.en")
    wav = tmp_path / "clip.wav"
    sf.write(wav, load_audio(SAMPLES / "meeting-en.flac")[:16000 * 20], 16000, subtype="PCM_16")
    try:
        first = run_cli("process", str(wav), "--invite", "Alice <alice@example.org>", "--no-email")
        assert first.returncode == 0, first.stderr
        assert "email: off (--no-email); nothing was sent" in first.stdout
        meeting_id = first.stdout.split()[1]
        with open_archive(load_settings()) as db:
            assert db.outbox_list() == [] and db.get_minutes(meeting_id) is not None
        for run in range(2):
            again = run_cli("process", meeting_id)
            assert again.returncode == 0, again.stderr
            assert again.stderr.count("done earlier") == (4 if run == 0 else 6), again.stderr
        assert [r.rcpt_tos for r in smtp.handler.received] == [["alice@example.org"]]
        assert "sent to: alice@example.org" in again.stdout
    finally:
        smtp.stop()
