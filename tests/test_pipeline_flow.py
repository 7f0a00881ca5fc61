"""The whole job on the bundled sample meeting, real parts only.

- Record it through the real capture path (a private PulseAudio server plays samples/meeting-en.flac
  into the default input), stop it with `voicebot stop`: the recorder hands the meeting to the
  pipeline, the minutes arrive at a real SMTP server (aiosmtpd on localhost), attendees and the
  absentee each get their own message exactly once, and `voicebot search` finds what was said.
- The same recording processed again in another home, killed with SIGKILL in every stage (and
  inside transcription after its first checkpoint) and rerun each time: the final artifacts equal
  the uninterrupted run's, each email arrives once, and no finished stage is run again.
- Degraded modes: no diarization weights, a language model endpoint that is down, a mail server that
  is down: minutes still come, say how they were made, and wait in the outbox until the server is up.

The recorded meeting is made once (module fixture) and reused: the crash and degraded runs copy its
audio and meeting.json, so they compare against the same input.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pulse import PulseServer
from record_helpers import wait_for_event
from test_mail_delivery import SmtpServer, free_port

from voicebot import live, pipeline, recordings, schema
from voicebot.archive import open_archive
from voicebot.config import load_settings

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PEOPLE = {"Alice": "alice@example.org", "Bob": "bob@example.org", "Carol": "carol@example.org",
          "David": "david@example.org"}
ARTIFACTS = (recordings.TRANSCRIPT, recordings.DIARIZATION, recordings.SPEAKERS, recordings.MINUTES_JSON,
             recordings.MINUTES_MD)


def make_home(path: Path, models_dir: Path) -> Path:
    path.mkdir(parents=True)
    (path / "models").symlink_to(models_dir, target_is_directory=True)
    return path


def env_for(home: Path, **settings: str) -> dict:
    """The environment of a user whose only configuration is ``settings`` (VOICEBOT_* of the caller dropped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_") or k == "VOICEBOT_CORPUS"}
    return {**env, "HF_HUB_OFFLINE": "1", "VOICEBOT_HOME": str(home),
            "VOICEBOT_MAIL_SENDER": "Voicebot <minutes@example.org>", **settings}


def voicebot(env: dict, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicebot", *args], env=env, cwd=env["VOICEBOT_HOME"],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def voiceprints() -> dict:
    """Each sample person's voiceprint, as `voicebot voices enroll` computes it."""
    from voicebot.diarize import voiceprint

    return {name: voiceprint(SAMPLES / "voices" / f"{name}.flac") for name in PEOPLE}


def enroll(env: dict, voiceprints: dict) -> None:
    with open_archive(load_settings(env)) as db:
        for name, vector in voiceprints.items():
            db.upsert_person(name, email=PEOPLE[name], voiceprint=vector, source=f"samples/voices/{name}.flac")


def copy_meeting(source: Path, home: Path) -> Path:
    """The recording (meeting.json and audio.flac only) under another home, same id."""
    target = home / "recordings" / source.name
    target.mkdir(parents=True)
    for name in (recordings.MEETING_JSON, recordings.AUDIO):
        shutil.copy2(source / name, target / name)
    return target


def received_by(server: SmtpServer) -> dict[str, list]:
    """recipient -> the messages it received."""
    found: dict[str, list] = {}
    for item in server.handler.received:
        for rcpt in item.rcpt_tos:
            found.setdefault(rcpt, []).append(item.message)
    return found


def attempts(env: dict, meeting_id: str) -> dict[str, int]:
    with open_archive(load_settings(env)) as db:
        return {stage: row["attempts"] for stage, row in db.job_stages(meeting_id).items()}


@dataclass
class Recorded:
    home: Path
    env: dict
    smtp: SmtpServer
    meeting_id: str
    directory: Path
    returncode: int
    out: str
    err: str


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, models_dir, voiceprints):
    """`voicebot record --ics samples/meeting-en.ics` hearing the sample meeting, stopped with `voicebot stop`."""
    root = tmp_path_factory.mktemp("recorded")
    home = make_home(root / "home", models_dir)
    smtp = SmtpServer()
    smtp.start()
    pulse = PulseServer(root / "pulse").start()
    env = env_for(home, VOICEBOT_SMTP_URL=smtp.url, VOICEBOT_MAIL_ADMIN="admin@example.org")
    enroll(env, voiceprints)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "voicebot", "record", "--ics", str(SAMPLES / "meeting-en.ics")],
                                env={**env, **pulse.env}, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        first = proc.stdout.readline()
        assert first.startswith("recording: "), (first, proc.communicate())
        meeting_id = first.split()[1]
        wait_for_event(home / "recordings" / meeting_id, "capturing", proc)
        pulse.play(SAMPLES / "meeting-en.flac").wait(timeout=300)
        stopped = voicebot({**env, **pulse.env}, "stop")
        assert stopped.returncode == 0 and f"{meeting_id}: stopped (recorded)" in stopped.stdout, stopped
        out, err = proc.communicate(timeout=1200)  # the pipeline runs in the recorder's process, after the stop
    finally:
        pulse.stop()
    yield Recorded(home, env, smtp, meeting_id, home / "recordings" / meeting_id, proc.returncode, first + out, err)
    smtp.stop()


def test_recorded_meeting_reaches_every_mailbox_and_the_archive(recorded):
    assert recorded.returncode == 0, recorded.err
    assert "Traceback" not in recorded.err
    assert recorded.out.splitlines()[0] == f"recording: {recorded.meeting_id}"
    for stage in pipeline.STAGE_NAMES:
        assert f"✓ {stage}" in recorded.err, recorded.err
    assert f"minutes: {recorded.directory / recordings.MINUTES_MD}" in recorded.out
    assert recordings.load_meeting(recorded.directory).status == "recorded"

    minutes = schema.Minutes.from_dict(schema.read_json(recorded.directory / recordings.MINUTES_JSON))
    day = date.fromisoformat(recordings.load_meeting(recorded.directory).date)  # recorded today, not on the .ics date
    assert (minutes.title, minutes.date, minutes.language) == ("Website launch weekly meeting", day.isoformat(), "en")
    # the three voices heard are told apart and named from their enrolled voiceprints; David's is not heard
    # (in order of first appearance: Bob's one-second "Good morning Alice" may go to Alice's turn)
    naming = schema.read_json(recorded.directory / recordings.SPEAKERS)
    assert sorted(naming["present"]) == ["Alice", "Bob", "Carol"] and not naming["unnamed"], naming
    assert sorted(minutes.present) == ["Alice", "Bob", "Carol"] and minutes.absent == ["David"]
    decisions = " ".join(d.text for d in minutes.decisions).lower()
    assert re.search(r"\b7th (of|on) april\b", decisions) and "blue cloud" in decisions, decisions  # "of" or a misheard "on"
    tasks = {(a.owner, a.task.lower(), a.due) for a in minutes.action_items}

    def assigned(owner: str, task: str, due: date) -> bool:  # task: a pattern, for words Whisper hears either way
        return any(o == owner and re.fullmatch(task, t) and d == due.isoformat() for o, t, d in tasks)

    month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    assert assigned("Carol", r"update the test plan", month_end), tasks  # "by the end of the month"
    tuesday = day + timedelta(days=(1 - day.weekday()) % 7 or 7)  # "before next Tuesday": the first one after
    assert assigned("Bob", r"send the sign(ed)? contract to blue cloud", tuesday), tasks  # "signed" heard as "sign"
    assert assigned("Alice", r"call david", day + timedelta(days=1)), tasks  # "tomorrow"

    mailboxes = received_by(recorded.smtp)
    assert sorted(mailboxes) == sorted(PEOPLE.values())  # one message each, no more
    assert all(len(messages) == 1 for messages in mailboxes.values()), mailboxes
    kind = {rcpt: messages[0]["X-Voicebot-Kind"] for rcpt, messages in mailboxes.items()}
    assert kind == {"alice@example.org": "attendee", "bob@example.org": "attendee", "carol@example.org": "attendee",
                    "david@example.org": "absentee"}  # David alone gets the "you missed it" version
    assert mailboxes["carol@example.org"][0]["Subject"].startswith("Minutes: Website launch weekly meeting")
    assert mailboxes["david@example.org"][0]["Subject"].startswith("You missed Website launch weekly meeting")
    assert mailboxes["carol@example.org"][0].get_body(("plain",)).get_content() != \
        mailboxes["david@example.org"][0].get_body(("plain",)).get_content()
    said = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in recorded.out.splitlines() if ": " in line}
    attendees = [address for name, address in PEOPLE.items() if name != "David"]
    assert all(address in said["sent to"] for address in attendees) and "david@" not in said["sent to"], said
    missed = said["'you missed it' version sent to"]
    assert "david@example.org" in missed and not any(address in missed for address in attendees), said

    found = voicebot(recorded.env, "search", "blue cloud")
    assert found.returncode == 0 and recorded.meeting_id in found.stdout and "[Blue Cloud]" in found.stdout, found
    # the archive stage embedded the meeting's passages: a question in French finds the contract by meaning
    assert re.search(r"✓ archive .* [1-9]\d* passages embedded", recorded.err), recorded.err
    asked = voicebot(recorded.env, "ask", "À qui envoie-t-on le contrat signé ?", "--passages", "--json")
    cited = json.loads(asked.stdout)["citations"]
    assert cited[0]["meeting_id"] == recorded.meeting_id and "contract" in " ".join(c["text"] for c in cited[:2])
    status = voicebot(recorded.env, "status", "--json")
    figures = json.loads(status.stdout)
    assert (figures["recorded_today"], figures["processed_today"], figures["jobs_failed"]) == (1, 1, 0)
    assert (figures["outbox_sent"], figures["outbox_pending"], figures["incidents"]) == (4, 0, [])


def test_killed_in_every_stage_the_rerun_equals_an_uninterrupted_run(recorded, voiceprints, tmp_path, models_dir):
    assert recorded.returncode == 0, recorded.err
    home = make_home(tmp_path / "home", models_dir)
    smtp = SmtpServer()
    smtp.start()
    try:
        env = env_for(home, VOICEBOT_SMTP_URL=smtp.url, VOICEBOT_MAIL_ADMIN="admin@example.org")
        enroll(env, voiceprints)
        directory = copy_meeting(recorded.directory, home)
        meeting_id = directory.name
        # the chunks of the sample: those the live transcription did while recording, and the tail
        chunks = next(e["transcribed"] for e in pipeline.read_log(recorded.directory) if e["event"] == "chunks")
        chunks += sum(1 for e in live.read_log(recorded.directory) if e["event"] == "chunk")
        assert chunks >= 3  # the sample is 84 s: several chunks of up to 28 s

        before = dict.fromkeys(pipeline.STAGE_NAMES, 0)
        previous = None  # the stage the last run was killed in: its work was written, not recorded done
        for point in ("checkpoint:1", "transcribe", "diarize", "speakers", "minutes", "archive", "send"):
            result = voicebot({**env, "VOICEBOT_TEST_CRASH_AFTER": point}, "process", meeting_id)
            assert result.returncode == -signal.SIGKILL, (point, result.stderr)
            stage = "transcribe" if point.startswith("checkpoint") else point
            now = attempts(env, meeting_id)
            # one more attempt for the stage killed last time and the one killed now; the stages
            # recorded done are not run again, the later ones not started
            assert now == {**before, **{s: before[s] + 1 for s in {previous, stage} - {None}}}, (point, now)
            before, previous = now, stage
            if point == "checkpoint:1":
                partial = schema.read_json(directory / recordings.TRANSCRIPT_PARTIAL)
                assert partial["done_until"] > 0 and not (directory / recordings.TRANSCRIPT).exists()
            if point == "transcribe":  # resumed from the checkpoint: the first chunk was not transcribed again
                log = [e for e in pipeline.read_log(directory) if e["event"] == "chunks"]
                assert log[-1]["transcribed"] == chunks - 1 and log[-1]["resumed_from"] > 0, log
            if point == "archive":
                assert smtp.handler.received == []  # queued, not sent yet
        assert len(smtp.handler.received) == 4  # the send stage's work was done before it was killed

        result = voicebot(env, "process", meeting_id)
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("done earlier") == 5 and "✓ send" in result.stderr
        assert attempts(env, meeting_id) == {"transcribe": 3, "diarize": 2, "speakers": 2, "minutes": 2,
                                             "archive": 2, "send": 2}
        for name in ARTIFACTS:
            assert (directory / name).read_bytes() == (recorded.directory / name).read_bytes(), name
        assert not (directory / recordings.TRANSCRIPT_PARTIAL).exists()

        ours = smtp.by_message_id()
        reference = recorded.smtp.by_message_id()
        assert set(ours) == set(reference) and all(n == 1 for n in ours.values()), ours
        with open_archive(load_settings(env)) as db:
            assert db.get_minutes(meeting_id)["version"] == 1  # the archive stage's rerun stored nothing new
            assert [m.status for m in db.outbox_list(meeting_id=meeting_id)] == ["sent"] * 4
            archived = [(s.start, s.end, s.speaker, s.text) for s in db.get_transcript(meeting_id).segments]
        on_disk = schema.Transcript.from_dict(schema.read_json(directory / recordings.TRANSCRIPT))
        assert archived == [(s.start, s.end, s.speaker, s.text) for s in on_disk.segments]
    finally:
        smtp.stop()


def test_degraded_modes_still_give_minutes_that_say_how_they_were_made(recorded, tmp_path, models_dir):
    home = make_home(tmp_path / "home", models_dir)
    smtp = SmtpServer()  # not started yet: the mail server is down
    env = env_for(home, VOICEBOT_SMTP_URL=smtp.url, VOICEBOT_ASR_MODEL="tiny.en",
                  VOICEBOT_DIARIZE_ENGINE="pyannote",  # its weights cannot be downloaded here
                  VOICEBOT_MINUTES_ENGINE="openai", VOICEBOT_MINUTES_OPENAI_MODEL="any",
                  VOICEBOT_MINUTES_OPENAI_URL=f"http://127.0.0.1:{free_port()}/v1", VOICEBOT_MINUTES_TIMEOUT="5")
    directory = copy_meeting(recorded.directory, home)
    result = voicebot(env, "process", directory.name)
    assert result.returncode == 0, result.stderr
    assert "✓ diarize" in result.stderr and "no speakers: pyannote weights" in result.stderr

    transcript = schema.read_json(directory / recordings.TRANSCRIPT)
    assert transcript["segments"] and all(s["speaker"] is None for s in transcript["segments"])
    minutes = schema.Minutes.from_dict(schema.read_json(directory / recordings.MINUTES_JSON))
    assert minutes.engine == "extractive" and minutes.decisions and minutes.action_items
    notes = " ".join(minutes.notes)
    assert "Speaker diarization could not run (pyannote weights" in notes
    assert "Speakers are unknown" in notes and "could not be used" in notes  # and the model's failure
    markdown = (directory / recordings.MINUTES_MD).read_text()
    assert "Speaker diarization could not run" in markdown and "could not be used" in markdown
    assert "queued for: " in result.stdout and "waiting in the outbox" in result.stdout, result.stdout

    settings = load_settings(env)
    with open_archive(settings) as db:
        waiting = db.outbox_list(meeting_id=directory.name)
        assert len(waiting) == 4 and all(m.status == "pending" and m.last_error for m in waiting)
        assert db.job_stages(directory.name)["diarize"]["error"].startswith("pyannote weights")
    smtp.start()  # the server is back: the outbox delivers at the next attempt time
    try:
        from voicebot.mail import deliver

        with open_archive(settings) as db:
            report = deliver(db, settings, now=datetime.now(timezone.utc) + timedelta(hours=7))
        assert report["sent"] == 4 and all(n == 1 for n in smtp.by_message_id().values())
        assert sorted(received_by(smtp)) == sorted(PEOPLE.values())
    finally:
        smtp.stop()


def test_doctor_with_everything_in_place(home_with_models, pulse, monkeypatch):
    smtp = SmtpServer()
    smtp.start()
    try:
        env = {**env_for(home_with_models, VOICEBOT_SMTP_URL=smtp.url, VOICEBOT_MAIL_ADMIN="admin@example.org"),
               **pulse.env}
        result = voicebot(env, "doctor")
        assert result.returncode == 0, result.stdout + result.stderr
        for name in ("whisper model", "diarization", "minutes engine", "audio input", "mail server", "admin alerts",
                     "database", "free disk"):
            assert f"ok   {name}" in result.stdout, result.stdout
        assert "sha256 d01c3014881c... verified" in result.stdout and "(EHLO)" in result.stdout
        assert smtp.handler.received == []  # the probe sends nothing
    finally:
        smtp.stop()
