"""A throwaway team server on this machine, for tests/test_team_server.py and bench/team.py: a private
``redis-server`` on a free port, ``voicebot serve`` and ``voicebot worker`` processes over one home folder
and archive, and laptops running ``voicebot upload``. Every process runs this checkout's code (PYTHONPATH).

    with LocalRedis(folder) as redis:
        team = TeamServer(home, env, token, workers=2)   # env: VOICEBOT_* of the server (broker, database...)
        meeting_id = team.meeting_of(team.upload(audio, "Kim <kim@example.org>"))
        team.wait_done(meeting_id)
        team.stop()
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.pgserver import free_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON_ENV = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


class RedisUnavailable(RuntimeError):
    pass


class LocalRedis:
    """``redis-server`` on a free port of 127.0.0.1, saving nothing to disk; ``stop()`` then ``start()`` again
    restarts it on the same port with an empty queue (as a Redis without persistence does)."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RedisUnavailable("redis-server is missing: run scripts/install-system.sh")
        self.folder, self.port, self.process = Path(folder), free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LocalRedis:
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                            stdout=log, stderr=log)
        wait_for(self._answers, 20, "redis-server did not start")
        return self

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TeamServer:
    """``voicebot serve`` and ``workers`` ``voicebot worker`` processes for the home and settings in ``env``
    (VOICEBOT_HOME, VOICEBOT_QUEUE_BROKER_URL, ...); ``token`` is a web user's API token for uploads."""

    def __init__(self, env: dict[str, str], token: str, *, workers: int = 2, queues: list[str] | None = None) -> None:
        from voicebot.config import load_settings

        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}, **PYTHON_ENV, **env}
        self.home, self.token = Path(env["VOICEBOT_HOME"]), token
        self.settings = load_settings(self.env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_web()
        self.queues = queues or [""] * workers  # worker n takes queues[n - 1] ("": the default, every queue)
        self.workers = [self.start_worker(n) for n in range(1, len(self.queues) + 1)]

    def start_web(self) -> None:
        """`voicebot serve` on this server's port (again, after ``stop_web``: the laptops' address stays)."""
        self.web = self._start("serve", "--port", str(self.port), log="serve.log")
        wait_for(self._listening, 60, lambda: f"voicebot serve did not start: {self.read('serve.log')}")

    def stop_web(self) -> None:
        self.web.send_signal(signal.SIGTERM)
        self.web.wait(timeout=30)

    def _start(self, *args: str, log: str) -> subprocess.Popen:
        with open(self.home / log, "ab") as out:
            return subprocess.Popen([sys.executable, "-m", "voicebot", *args], env=self.env, cwd=self.home,
                                    stdout=out, stderr=subprocess.STDOUT)

    def _listening(self) -> bool:
        if self.web.poll() is not None:
            raise RuntimeError(f"voicebot serve exited: {self.read('serve.log')}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def read(self, log: str) -> str:
        path = self.home / log
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def start_worker(self, number: int) -> subprocess.Popen:
        log = f"worker{number}.log"
        queues = self.queues[number - 1]
        process = self._start("worker", *(["--queues", queues] if queues else []), log=log)
        wait_for(lambda: " ready." in self.read(log), 60, lambda: f"worker {number} did not start: {self.read(log)}")
        return process

    def upload(self, audio: Path | str, *invite: str, title: str = "", retry_for: float = 120,
               laptop_home: Path | None = None) -> subprocess.Popen:
        """A laptop running `voicebot upload AUDIO` (AUDIO: a file, or a meeting id in ``laptop_home``)."""
        args = [sys.executable, "-m", "voicebot", "upload", str(audio), "--server", self.url, "--token", self.token,
                "--retry-for", str(retry_for), *(["--title", title] if title else [])]
        for person in invite:
            args += ["--invite", person]
        laptop = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
        if laptop_home is not None:
            laptop["VOICEBOT_HOME"] = str(laptop_home)
        return subprocess.Popen(args, env={**laptop, **PYTHON_ENV}, cwd=laptop_home or Path(audio).parent,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def meeting_of(laptop: subprocess.Popen, timeout: float = 150) -> str:
        """The meeting id a `voicebot upload` printed (it must succeed)."""
        out, err = laptop.communicate(timeout=timeout)
        if laptop.returncode != 0:
            raise AssertionError(f"voicebot upload failed: {err}")
        return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("meeting: "))

    def stages(self, meeting_id: str) -> dict:
        from voicebot.archive import open_archive

        with open_archive(self.settings) as db:
            return db.job_stages(meeting_id)

    def done(self, *meeting_ids: str) -> bool:
        """Every stage of these meetings done; AssertionError when one gave up."""
        from voicebot.pipeline import STAGE_NAMES

        limit = self.settings.pipeline.max_attempts
        for meeting_id in meeting_ids:
            stages = self.stages(meeting_id)
            if any(row["state"] == "failed" and row["attempts"] >= limit for row in stages.values()):
                raise AssertionError(f"{meeting_id} failed: {stages}\n{self.logs()}")
            if [stages.get(name, {}).get("state") for name in STAGE_NAMES] != ["done"] * len(STAGE_NAMES):
                return False
        return True

    def wait_done(self, *meeting_ids: str, timeout: float = 240) -> None:
        wait_for(lambda: self.done(*meeting_ids), timeout,
                 lambda: f"not processed in {timeout} s: { {m: self.stages(m) for m in meeting_ids} }\n{self.logs()}")

    def directory(self, meeting_id: str) -> Path:
        from voicebot import recordings

        return recordings.meeting_dir(self.settings.recordings_dir, meeting_id)

    def logs(self) -> str:
        return "\n".join(self.read(f"worker{n}.log") for n in range(1, len(self.workers) + 1))

    def stop(self) -> None:
        for process in (*self.workers, self.web):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (*self.workers, self.web):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def add_uploader(settings, name: str = "claire") -> str:
    """A web user (an admin) in the archive of ``settings``, and an API token for their laptop."""
    from voicebot.archive import open_archive
    from voicebot.web.auth import Users, hash_password, load_secret

    with open_archive(settings) as db:
        db.add_user(name, hash_password("correct horse battery"), email=f"{name}@example.org", role="admin")
    return Users(settings, load_secret(settings)).make_token(name, 1)[0]


def clip(sample: Path, target: Path, start: float, end: float, gain: float = 1.0) -> Path:
    """A stretch of a recording as a recording of its own (a gain makes the same stretch another recording)."""
    import soundfile as sf

    samples, rate = sf.read(sample, dtype="float32")
    sf.write(target, samples[int(start * rate):int(end * rate)] * gain, rate)
    return target


def wait_for(condition, timeout: float, message) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(message() if callable(message) else message)
