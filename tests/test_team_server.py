"""A team server, all real and each part its own process (bench/teamserver.py): a Redis server on a free port,
a PostgreSQL archive (bench/pgserver.py), a real SMTP server on localhost, `voicebot serve`, two
`voicebot worker` processes, and laptops running `voicebot upload`. Short meetings cut from the sample
meeting; rule-based minutes.

- meetings uploaded at once by several laptops (one of them twice) are all processed, each invitee mailed once;
- a worker's pool process killed (kill -9) during transcription: its job goes back to the queue and the other
  worker finishes it from the transcription checkpoint, invitees still mailed once;
- Redis stopped for 15 s while a job runs and a laptop uploads: the job completes, the laptop's upload goes
  through once Redis is back, and its meeting is processed;
- a whole worker killed (its main process and its pool, as when its machine is lost) during transcription: the
  other worker's sweep finds the job left running, requeues it, and finishes it from the checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from test_mail_delivery import SmtpServer

from bench.teamserver import LocalRedis, RedisUnavailable, TeamServer, add_uploader, clip, wait_for
from voicebot import recordings
from voicebot.config import load_settings
from voicebot.pipeline import read_log

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "meeting-en.flac"
WAIT = 240.0  # seconds a meeting may take here (2 cores, shared with other work)


def redis_and_smtp(root: Path) -> tuple[LocalRedis, SmtpServer]:
    """A redis-server on a free port (its files under ``root``/redis; the test is skipped without
    redis-server) and a real SMTP server on localhost, both started."""
    (root / "redis").mkdir()
    try:
        redis = LocalRedis(root / "redis").start()
    except RedisUnavailable as exc:
        pytest.skip(str(exc))
    smtp = SmtpServer()
    smtp.start()
    return redis, smtp


@pytest.fixture(scope="module")
def team(models_dir, postgres_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    home = root / "server"
    home.mkdir(mode=0o700)
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    redis, smtp = redis_and_smtp(root)
    database = postgres_server.create_database()
    env = {"VOICEBOT_HOME": str(home), "VOICEBOT_DATABASE_URL": database, "VOICEBOT_QUEUE_BROKER_URL": redis.url,
           "VOICEBOT_QUEUE_RETRY_SECONDS": "5", "VOICEBOT_QUEUE_SWEEP_SECONDS": "3", "VOICEBOT_SMTP_URL": smtp.url, "VOICEBOT_MINUTES_ENGINE": "extractive"}
    token = add_uploader(load_settings(env))
    team = None
    try:
        team = TeamServer(env, token, workers=2)
        team.redis, team.smtp, team.laptop = redis, smtp, root  # type: ignore[attr-defined]
        yield team
    finally:
        if team is not None:
            team.stop()
        redis.stop()
        smtp.stop()
        postgres_server.drop_database(database)


def mailed(team) -> Counter:
    """How many messages each address received."""
    return Counter(rcpt for received in team.smtp.handler.received for rcpt in received.rcpt_tos)


def test_meetings_uploaded_at_once_are_processed_and_mailed_once(team):
    from voicebot import invites, pipeline

    clips = [clip(SAMPLE, team.laptop / f"sync-{n}.flac", start, start + 26) for n, start in enumerate((0, 29, 58))]
    laptop_home = team.laptop / "laptop"  # the third meeting was recorded on a laptop: sent by its id
    recorded = pipeline.import_audio(load_settings({"VOICEBOT_HOME": str(laptop_home)}), clips[2], title="Sync 2",
                                     invitation=invites.collect(['Guest 2 <guest2@example.org>, "Lead, Two" '
                                                                 '<lead2@example.org>']))
    before = [c.read_bytes() for c in clips]
    started = time.monotonic()
    laptops = [team.upload(c, f"Guest {n} <guest{n}@example.org>", f"lead{n}@example.org")
               for n, c in enumerate(clips[:2])]
    laptops.append(team.upload(recorded.id, laptop_home=laptop_home))
    laptops.append(team.upload(clips[0], "Guest 0 <guest0@example.org>", "lead0@example.org"))  # sent twice
    ids = [team.meeting_of(p) for p in laptops]
    assert ids[3] == ids[0] and len(set(ids)) == 3
    server_copy = recordings.load_meeting(team.directory(ids[2]))
    assert (server_copy.title, server_copy.started_at) == ("Sync 2", recorded.started_at)
    assert [(p.name, p.email) for p in server_copy.invitees] == [("Guest 2", "guest2@example.org"),
                                                                 ("Lead, Two", "lead2@example.org")]
    team.wait_done(*ids[:3], timeout=WAIT)
    print(f"3 meetings of 26 s, uploaded at once, processed by 2 workers in {time.monotonic() - started:.1f} s")
    counts = mailed(team)
    for n in range(3):
        assert counts[f"guest{n}@example.org"] == 1 and counts[f"lead{n}@example.org"] == 1, counts
    assert [c.read_bytes() for c in clips] == before  # the laptop's files are untouched
    pids = {event["pid"] for meeting_id in ids[:3] for event in read_log(team.directory(meeting_id))}
    assert len(pids) >= 2, "both workers took jobs"
    status = subprocess.run([sys.executable, "-m", "voicebot", "status", "--json"], env=team.env, cwd=team.home,
                            capture_output=True, text=True, timeout=60)
    queue = json.loads(status.stdout)["queue"]
    assert queue["reachable"] and queue["waiting"] == 0 and len(queue["workers"]) == 2, queue


def transcribing(team, name: str, gain: float, invitee: str) -> tuple[str, Path, int]:
    """The whole sample meeting uploaded (made its own recording by ``gain``) and its transcription past its
    first checkpoint: the meeting, its folder and the pid of the process transcribing it."""
    meeting_id = team.meeting_of(team.upload(clip(SAMPLE, team.laptop / name, 0, 84, gain=gain), invitee))
    directory = team.directory(meeting_id)
    wait_for(lambda: (directory / recordings.TRANSCRIPT_PARTIAL).is_file(), WAIT,
             lambda: f"no checkpoint: {read_log(directory)}\n{team.logs()}")
    victim = next(e["pid"] for e in read_log(directory) if e["stage"] == "transcribe" and e["event"] == "start")
    return meeting_id, directory, victim


def test_a_worker_killed_during_transcription_is_taken_over_from_the_checkpoint(team):
    import psutil

    meeting_id, directory, victim = transcribing(team, "long.flac", 0.9, "Kim <kim@example.org>")
    victims_worker = psutil.Process(victim).ppid()
    os.kill(victim, signal.SIGKILL)
    team.wait_done(meeting_id, timeout=WAIT)
    events = read_log(directory)
    resumed = [e for e in events if e["stage"] == "transcribe" and e["event"] == "chunks"]
    assert len(resumed) == 1 and resumed[0]["pid"] != victim and resumed[0]["resumed_from"] > 0, events
    assert team.stages(meeting_id)["transcribe"]["attempts"] == 2
    assert all(w.poll() is None for w in team.workers), "the worker itself lives on (a new pool process)"
    finisher = psutil.Process(resumed[0]["pid"]).ppid()
    names = {w.pid: f"worker {n}" for n, w in enumerate(team.workers, 1)}
    print(f"killed pid {victim} of {names.get(victims_worker)} after a checkpoint; resumed at "
          f"{resumed[0]['resumed_from']} s by pid {resumed[0]['pid']} of {names.get(finisher)}")
    assert finisher in names and finisher != victims_worker, "the other worker (idle, waiting) took the job over"
    assert mailed(team)["kim@example.org"] == 1


def test_redis_stopped_for_a_while_then_everything_catches_up(team):
    during = clip(SAMPLE, team.laptop / "during.flac", 10, 40, gain=0.8)
    running = team.meeting_of(team.upload(during, "Lee <lee@example.org>"))
    directory = team.directory(running)
    wait_for(lambda: any(e["stage"] == "transcribe" for e in read_log(directory)), WAIT, "the job did not start")
    team.redis.stop()
    outage = time.monotonic()
    laptop = team.upload(clip(SAMPLE, team.laptop / "outage.flac", 40, 70, gain=0.8), "Max <max@example.org>")
    time.sleep(15)
    assert laptop.poll() is None, "the laptop keeps trying while the queue is down"
    team.redis.start()
    print(f"Redis was down {time.monotonic() - outage:.1f} s")
    later = team.meeting_of(laptop)
    team.wait_done(running, later, timeout=WAIT)
    counts = mailed(team)
    assert counts["lee@example.org"] == 1 and counts["max@example.org"] == 1, counts
    assert all(w.poll() is None for w in team.workers)


def test_a_whole_worker_lost_during_transcription_is_taken_over_by_the_sweep(team):
    """Last: it leaves one worker. The broker would hand the lost job out again only after the visibility
    timeout (12 h); the surviving worker's sweep (every 3 s here) requeues it."""
    import psutil

    meeting_id, directory, victim = transcribing(team, "lost.flac", 0.7, "Noor <noor@example.org>")
    lost = psutil.Process(psutil.Process(victim).ppid())
    assert lost.pid in {w.pid for w in team.workers}
    for process in [lost, *lost.children(recursive=True)]:
        process.kill()
    killed_at = time.monotonic()
    team.wait_done(meeting_id, timeout=WAIT)
    events = read_log(directory)
    resumed = [e for e in events if e["stage"] == "transcribe" and e["event"] == "chunks"]
    assert len(resumed) == 1 and resumed[0]["resumed_from"] > 0, events
    survivor = next(w for w in team.workers if w.pid != lost.pid)
    assert psutil.Process(resumed[0]["pid"]).ppid() == survivor.pid
    assert "put back on the queue: " + meeting_id in team.logs()
    print(f"worker {lost.pid} lost at a checkpoint; its job done by worker {survivor.pid} "
          f"{time.monotonic() - killed_at:.1f} s later, resumed at {resumed[0]['resumed_from']} s")
    assert mailed(team)["noor@example.org"] == 1
