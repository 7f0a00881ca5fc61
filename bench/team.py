"""The team server's throughput and the latency the queue adds (issue 20).

- local: ``voicebot process CLIP`` in a fresh home, from start to exit (Python start and model loads
  included): what a laptop takes for one meeting;
- queue latency: the same clip through a team server with one idle worker (bench/teamserver.py: Redis,
  PostgreSQL, ``voicebot serve``, ``voicebot worker``), from starting ``voicebot upload`` to every stage
  recorded done; the difference with local is what upload and queue add (the worker is already running, so
  Python's start is not in it);
- throughput with 1 and then 2 workers: ``--meetings`` clips uploaded at once, from the first upload to the
  last meeting done; hours of audio processed per hour.

Clips are stretches of the sample meeting (each made a recording of its own by a slight gain); minutes
are rule-based (``extractive``), no invitees. The machine's load average is reported with each figure: on a
machine shared with other work the figures are upper bounds.

    python -m bench.team [--meetings 4] [--seconds 26]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.pgserver import LocalPostgres
from bench.pipeline import _models
from bench.scoring import ROOT
from bench.teamserver import PYTHON_ENV, LocalRedis, TeamServer, add_uploader, clip

SAMPLE = ROOT / "samples" / "meeting-en.flac"
RESULTS = ROOT / "bench" / "results"


def make_clips(folder: Path, count: int, seconds: float) -> list[Path]:
    starts = [0.0, 29.0, 58.0]
    return [clip(SAMPLE, folder / f"meeting-{n}.flac", starts[n % 3], starts[n % 3] + seconds, gain=1 - 0.02 * n)
            for n in range(count)]


def home_with_models(root: Path, name: str) -> Path:
    home = root / name
    home.mkdir(mode=0o700)
    (home / "models").symlink_to(_models(), target_is_directory=True)
    return home


def local_run(root: Path, audio: Path) -> float:
    home = home_with_models(root, "local")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}, **PYTHON_ENV,
           "VOICEBOT_HOME": str(home), "VOICEBOT_MINUTES_ENGINE": "extractive"}
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "voicebot", "process", str(audio)], env=env, cwd=home, check=True,
                   capture_output=True)
    return time.monotonic() - started


def team_run(root: Path, name: str, postgres: LocalPostgres, clips: list[Path], workers: int) -> float:
    """Seconds from the first upload to the last meeting done, with ``workers`` workers."""
    from voicebot.config import load_settings

    home = home_with_models(root, name)
    (root / f"{name}-redis").mkdir()
    database = postgres.create_database()
    with LocalRedis(root / f"{name}-redis") as redis:
        env = {"VOICEBOT_HOME": str(home), "VOICEBOT_DATABASE_URL": database, "VOICEBOT_QUEUE_BROKER_URL": redis.url,
               "VOICEBOT_MINUTES_ENGINE": "extractive"}
        team = TeamServer(env, add_uploader(load_settings(env)), workers=workers)
        try:
            started = time.monotonic()
            ids = [team.meeting_of(laptop) for laptop in [team.upload(c) for c in clips]]
            team.wait_done(*ids, timeout=3600)
            return time.monotonic() - started
        finally:
            team.stop()
            postgres.drop_database(database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=4, help="meetings uploaded at once for the throughput")
    parser.add_argument("--seconds", type=float, default=26.0, help="length of each meeting (at most 26)")
    args = parser.parse_args()
    seconds = min(args.seconds, 26.0)
    report: dict = {"meeting_seconds": seconds, "meetings": args.meetings, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="voicebot-team-") as tmp, LocalPostgres() as postgres:
        root = Path(tmp)
        clips = make_clips(root, args.meetings, seconds)
        report["local_seconds"] = round(local_run(root, clips[0]), 1)
        report["local_load"] = round(os.getloadavg()[0], 1)
        report["queue_seconds"] = round(team_run(root, "latency", postgres, clips[:1], workers=1), 1)
        report["queue_load"] = round(os.getloadavg()[0], 1)
        report["added_latency_seconds"] = round(report["queue_seconds"] - report["local_seconds"], 1)
        for workers in (1, 2):
            elapsed = team_run(root, f"workers-{workers}", postgres, clips, workers)
            report[f"workers_{workers}"] = {"seconds": round(elapsed, 1), "load": round(os.getloadavg()[0], 1),
                                            "audio_hours_per_hour": round(len(clips) * seconds / elapsed, 2)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "team.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
