"""A team server, all real and each part its own process: a Redis server on a free port, a PostgreSQL archive
(bench/pgserver.py), a real SMTP server on localhost, `voicebot serve`, two `voicebot worker` processes, and
laptops running `voicebot upload`. Short meetings cut from the sample meeting; rule-based minutes.

- meetings uploaded at once by several laptops (one of them twice) are all processed, each invitee mailed once;
- a worker process killed (kill -9) during transcription: its job goes back to the queue and is finished from the
  transcription checkpoint by another process, invitees still mailed once;
- Redis stopped for 15 s while a job runs and a laptop uploads: the job completes, the laptop's upload goes
  through once Redis is back, and its meeting is processed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf
from test_mail_delivery import SmtpServer
from web_helpers import Server, free_port

from voicebot import recordings
from voicebot.config import load_settings
from voicebot.pipeline import STAGE_NAMES, read_log

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "meeting-en.flac"
WAIT = 240.0  # seconds a meeting may take here (2 cores, shared with other work)


class LocalRedis:
    """``redis-server`` on a free port of 127.0.0.1, nothing saved to disk; stop() and start() again on the same
    port (the queue's content is lost, as with a Redis without persistence that restarts)."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is missing: run scripts/install-system.sh")
        self.folder, self.port, self.process = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LocalRedis:
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(self.folder)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                import redis

                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return self
            except Exception:  # noqa: BLE001 -- not up yet
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


class Team:
    """The server side: its home, settings, the web server, the workers; and laptops uploading to it."""

    def __init__(self, home: Path, env: dict[str, str], token: str) -> None:
        self.home, self.env, self.token = home, env, token
        self.settings = load_settings(env)
        self.web = Server(home, env={k: v for k, v in env.items() if k == "PYTHONPATH" or
                                     (k.startswith("VOICEBOT_") and k != "VOICEBOT_HOME")})
        self.workers = [self.start_worker(n) for n in (1, 2)]

    def start_worker(self, number: int) -> subprocess.Popen:
        log = self.home / f"worker{number}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "voicebot", "worker"], env=self.env, cwd=self.home,
                                       stdout=out, stderr=subprocess.STDOUT)
        wait_for(lambda: b" ready." in log.read_bytes(), 60, f"worker {number} did not start: {log}")
        process.log = log  # type: ignore[attr-defined]
        return process

    def upload(self, audio: Path, *invite: str, title: str = "") -> subprocess.Popen:
        """A laptop running `voicebot upload` (it retries while the server cannot take it)."""
        args = [sys.executable, "-m", "voicebot", "upload", str(audio), "--server", self.web.url, "--token",
                self.token, "--retry-for", "120", *(["--title", title] if title else [])]
        for person in invite:
            args += ["--invite", person]
        laptop = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
        return subprocess.Popen(args, env={**laptop, "PYTHONPATH": str(ROOT)}, cwd=audio.parent,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def meeting_of(self, laptop: subprocess.Popen, timeout: float = 150) -> str:
        out, err = laptop.communicate(timeout=timeout)
        assert laptop.returncode == 0, err
        return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("meeting: "))

    def stages(self, meeting_id: str) -> dict:
        from voicebot.archive import open_archive

        with open_archive(self.settings) as db:
            return db.job_stages(meeting_id)

    def wait_done(self, *meeting_ids: str, timeout: float = WAIT) -> None:
        def done() -> bool:
            for meeting_id in meeting_ids:
                stages = self.stages(meeting_id)
                if any(row["state"] == "failed" and row["attempts"] >= 3 for row in stages.values()):
                    raise AssertionError(f"{meeting_id} failed: {stages}; {self.logs()}")
                if [stages.get(name, {}).get("state") for name in STAGE_NAMES] != ["done"] * len(STAGE_NAMES):
                    return False
            return True

        wait_for(done, timeout, lambda: f"not processed in {timeout} s: "
                                        f"{ {m: self.stages(m) for m in meeting_ids} }\n{self.logs()}")

    def directory(self, meeting_id: str) -> Path:
        return recordings.meeting_dir(self.settings.recordings_dir, meeting_id)

    def logs(self) -> str:
        return "\n".join(w.log.read_text(errors="replace")[-3000:] for w in self.workers)  # type: ignore[attr-defined]

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.web.stop()


def wait_for(condition, timeout: float, message) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(message() if callable(message) else message)


def clip(folder: Path, name: str, start: float, end: float, gain: float = 1.0) -> Path:
    """A stretch of the sample meeting as its own recording (a gain makes the same stretch another recording)."""
    samples, rate = sf.read(SAMPLE, dtype="float32")
    path = folder / name
    sf.write(path, samples[int(start * rate):int(end * rate)] * gain, rate)
    return path


@pytest.fixture(scope="module")
def team(models_dir, postgres_server, tmp_path_factory):
    from voicebot.archive import open_archive
    from voicebot.web.auth import Users, hash_password, load_secret

    root = tmp_path_factory.mktemp("team")
    home = root / "server"
    home.mkdir(mode=0o700)
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    redis = LocalRedis(Path(tempfile.mkdtemp(dir=root))).start()
    smtp = SmtpServer()
    smtp.start()
    database = postgres_server.create_database()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}, "PYTHONPATH": str(ROOT),
           "HF_HUB_OFFLINE": "1", "VOICEBOT_HOME": str(home), "VOICEBOT_DATABASE_URL": database,
           "VOICEBOT_QUEUE_BROKER_URL": redis.url, "VOICEBOT_QUEUE_RETRY_SECONDS": "5",
           "VOICEBOT_SMTP_URL": smtp.url, "VOICEBOT_MINUTES_ENGINE": "extractive"}
    settings = load_settings(env)
    with open_archive(settings) as db:
        db.add_user("claire", hash_password("correct horse battery"), email="claire@example.org", role="admin")
    token = Users(settings, load_secret(settings)).make_token("claire", 1)[0]
    team = None
    try:
        team = Team(home, env, token)
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
    laptop = team.laptop
    clips = [clip(laptop, f"sync-{n}.flac", start, start + 26) for n, start in enumerate((0, 29, 58))]
    before = [c.read_bytes() for c in clips]
    started = time.monotonic()
    laptops = [team.upload(c, f"Guest {n} <guest{n}@example.org>", f"lead{n}@example.org")
               for n, c in enumerate(clips)]
    laptops.append(team.upload(clips[0], "Guest 0 <guest0@example.org>", "lead0@example.org"))  # sent twice
    ids = [team.meeting_of(p) for p in laptops]
    assert ids[3] == ids[0] and len(set(ids)) == 3
    team.wait_done(*ids[:3])
    elapsed = time.monotonic() - started
    print(f"3 meetings of 26 s, uploaded at once, processed by 2 workers in {elapsed:.1f} s")
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


def test_a_worker_killed_during_transcription_is_taken_over_from_the_checkpoint(team):
    audio = clip(team.laptop, "long.flac", 0, 84, gain=0.9)
    meeting_id = team.meeting_of(team.upload(audio, "Kim <kim@example.org>"))
    directory = team.directory(meeting_id)
    wait_for(lambda: (directory / recordings.TRANSCRIPT_PARTIAL).is_file(), WAIT,
             lambda: f"no checkpoint: {read_log(directory)}\n{team.logs()}")
    import psutil

    victim = next(e["pid"] for e in read_log(directory) if e["stage"] == "transcribe" and e["event"] == "start")
    victims_worker = psutil.Process(victim).ppid()
    os.kill(victim, signal.SIGKILL)
    team.wait_done(meeting_id)
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
    running = team.meeting_of(team.upload(clip(team.laptop, "during.flac", 10, 40, gain=0.8), "Lee <lee@example.org>"))
    directory = team.directory(running)
    wait_for(lambda: any(e["stage"] == "transcribe" for e in read_log(directory)), WAIT, "the job did not start")
    team.redis.stop()
    outage = time.monotonic()
    laptop = team.upload(clip(team.laptop, "outage.flac", 40, 70, gain=0.8), "Max <max@example.org>")
    threading.Event().wait(15)
    assert laptop.poll() is None, "the laptop keeps trying while the queue is down"
    team.redis.start()
    print(f"Redis was down {time.monotonic() - outage:.1f} s")
    later = team.meeting_of(laptop)
    team.wait_done(running, later)
    counts = mailed(team)
    assert counts["lee@example.org"] == 1 and counts["max@example.org"] == 1, counts
    assert all(w.poll() is None for w in team.workers)
