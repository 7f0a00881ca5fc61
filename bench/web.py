"""Web benchmark: how fast `voicebot serve` answers for long meetings, over real HTTP.

A home is built with meetings of growing length (quick: 10 minutes; full: 1 hour and
3 hours), made from the bundled English sample meeting repeated end to end: its real
audio tiled into one FLAC per meeting, its reference transcript repeated with shifted
times, minutes drafted by voicebot.minutes, everything stored through the archive API.
`voicebot serve` runs in its own process; one keep-alive client, logged in, asks:

- ``dashboard``: ``/`` (db.stats, activity per week, jobs, incidents);
- ``meeting page``: ``/meetings/<id>`` (minutes and every transcript line, as HTML);
- ``transcript json``: ``/api/meetings/<id>/transcript``;
- ``search``: ``/api/search?q=...`` (a word said in every repetition, limit 20);
- ``audio seek``: a 64 KiB Range request in the middle of the meeting's FLAC (what a player
  asks when the user clicks a line);
- ``login``: the POST of the login form (one argon2id verification, by design slow).

Peer on the same input: the library calls behind each page, made directly in this
process (``views.dashboard``, ``views.meeting_detail``, ``db.get_transcript``,
``db.search``, reading the same 64 KiB of the file, ``verify_password``): the difference
is what HTTP, routing, the login check and HTML rendering cost.
Median and 95th percentile of N requests each (quick: 10, full: 40).

Run: ``python -m bench.web [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
USER, PASSWORD = "bench", "bench password 2026"
RANGE = 64 * 1024


def _meeting(settings, minutes_long: float, index: int) -> str:
    """A meeting of about ``minutes_long`` minutes from the English sample repeated; its id."""
    import numpy as np
    import soundfile

    from voicebot import recordings, schema
    from voicebot.archive import open_archive
    from voicebot.minutes import draft, render_markdown, write_minutes

    sample = schema.Transcript.from_dict(schema.read_json(SAMPLES / "meeting-en.transcript.json"))
    audio, rate = soundfile.read(SAMPLES / "meeting-en.flac", dtype="float32")
    period = len(audio) / rate
    repeats = max(1, round(minutes_long * 60 / period))
    meeting_id = f"2026031{index}-093000-bench-{int(minutes_long)}-min-{index:04d}"
    directory = settings.recordings_dir / meeting_id
    directory.mkdir(parents=True)
    soundfile.write(directory / recordings.AUDIO, np.tile(audio, repeats), rate, format="FLAC")
    segments = []
    for n in range(repeats):
        for seg in sample.segments:
            segments.append(schema.Segment(seg.start + n * period, seg.end + n * period, seg.text,
                                           speaker=seg.speaker, language="en"))
    transcript = schema.Transcript("en", repeats * period, "base", "faster-whisper", segments,
                                   title=f"Bench meeting, {minutes_long:.0f} min", date=f"2026-03-1{index}")
    meeting = schema.Meeting(id=meeting_id, title=transcript.title, language="en", status="recorded",
                             started_at=f"2026-03-1{index}T09:30:00+01:00")
    recordings.save_meeting(directory, meeting)
    (directory / recordings.TRANSCRIPT).write_text(schema.dumps(transcript), encoding="utf-8")
    minutes = draft(transcript, settings, meeting=meeting, engine="extractive")
    write_minutes(directory, minutes)
    with open_archive(settings) as db:
        db.save_meeting(meeting, directory=directory)
        db.save_transcript(meeting_id, transcript)
        db.save_minutes(meeting_id, minutes, render_markdown(minutes))
    return meeting_id


def _times(call: Callable[[], object], repeats: int) -> dict:
    call()  # warm up (imports, caches)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 2)}


def _serve(home: Path, env: dict) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "voicebot", "serve", "--port", str(port)], env=env, cwd=home,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"voicebot serve did not start: {process.stderr.read().decode(errors='replace')}")


def run(quick: bool, out_dir: Path) -> dict:
    import httpx

    from voicebot.archive import open_archive
    from voicebot.archive.access import SYSTEM, MeetingView
    from voicebot.config import load_settings
    from voicebot.web import views
    from voicebot.web.auth import hash_password, verify_password

    lengths = [10.0] if quick else [60.0, 180.0]
    repeats = 10 if quick else 40
    work = Path(tempfile.mkdtemp(prefix="voicebot-bench-web-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    env.update(VOICEBOT_HOME=str(work), HF_HUB_OFFLINE="1")
    results: dict = {"quick": quick, "requests_per_measure": repeats, "meetings": []}
    try:
        settings = load_settings(env)
        started = time.perf_counter()
        ids = [_meeting(settings, length, i + 1) for i, length in enumerate(lengths)]
        results["build_seconds"] = round(time.perf_counter() - started, 1)
        password_hash = hash_password(PASSWORD)
        with open_archive(settings) as db:
            db.add_user(USER, password_hash, role="admin")  # sees every meeting, as the library calls below
        process, url = _serve(work, env)
        try:
            with httpx.Client(base_url=url, timeout=120) as http, open_archive(settings) as archive:
                db = MeetingView(archive, SYSTEM)  # what a route gets: the archive as an admin sees it
                form = http.get("/login").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
                login = {"username": USER, "password": PASSWORD, "next": "/", "csrf_token": token}
                assert http.post("/login", data=login).status_code == 303
                results["dashboard"] = {"http": _times(lambda: http.get("/").raise_for_status(), repeats),
                                        "library": _times(lambda: views.dashboard(db), repeats)}
                for meeting_id, length in zip(ids, lengths):
                    audio = views.audio_file(db, meeting_id)
                    size = audio.stat().st_size
                    middle = size // 2

                    def read_range() -> bytes:
                        with open(audio, "rb") as fh:
                            fh.seek(middle)
                            return fh.read(RANGE)

                    page = http.get(f"/meetings/{meeting_id}")
                    row = {"minutes": length, "segments": len(db.get_transcript(meeting_id).segments),
                           "audio_mb": round(size / 1e6, 1), "page_kb": round(len(page.content) / 1024, 1)}
                    row["meeting page"] = {
                        "http": _times(lambda: http.get(f"/meetings/{meeting_id}").raise_for_status(), repeats),
                        "library": _times(lambda: views.meeting_detail(db, meeting_id), repeats)}
                    row["transcript json"] = {
                        "http": _times(lambda: http.get(f"/api/meetings/{meeting_id}/transcript").raise_for_status(),
                                       repeats),
                        "library": _times(lambda: db.get_transcript(meeting_id).to_dict(), repeats)}
                    row["search"] = {
                        "http": _times(lambda: http.get("/api/search", params={"q": "Blue Cloud", "meeting": meeting_id})
                                       .raise_for_status(), repeats),
                        "library": _times(lambda: db.search("Blue Cloud", meeting=meeting_id), repeats)}
                    headers = {"Range": f"bytes={middle}-{middle + RANGE - 1}"}
                    row["audio seek"] = {
                        "http": _times(lambda: http.get(f"/meetings/{meeting_id}/audio", headers=headers)
                                       .raise_for_status(), repeats),
                        "library": _times(read_range, repeats)}
                    results["meetings"].append(row)
                http.cookies.clear()

                def log_in() -> None:
                    form = http.get("/login").text
                    fresh = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
                    assert http.post("/login", data={**login, "csrf_token": fresh}).status_code == 303
                    http.cookies.clear()

                results["login"] = {"http": _times(log_in, min(repeats, 4)),  # stays under the rate limit
                                    "library": _times(lambda: verify_password(password_hash, PASSWORD), min(repeats, 4))}
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["markdown"] = markdown(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "web.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def _cell(measure: dict) -> str:
    return f"{measure['median_ms']:.1f} ({measure['p95_ms']:.1f})"


def markdown(results: dict) -> str:
    lines = ["| request | meeting | HTTP median (p95) ms | library median (p95) ms |", "|---|---|---|---|"]
    lines.append(f"| dashboard | all | {_cell(results['dashboard']['http'])} | {_cell(results['dashboard']['library'])} |")
    for row in results["meetings"]:
        what = f"{row['minutes']:.0f} min, {row['segments']} lines"
        for name in ("meeting page", "transcript json", "search", "audio seek"):
            lines.append(f"| {name} | {what} | {_cell(row[name]['http'])} | {_cell(row[name]['library'])} |")
    lines.append(f"| login (argon2id) | - | {_cell(results['login']['http'])} | {_cell(results['login']['library'])} |")
    pages = ", ".join(f"{r['minutes']:.0f} min: {r['page_kb']:.0f} KB" for r in results["meetings"])
    lines.append("")
    lines.append(f"Meeting page size: {pages}. {results['requests_per_measure']} requests per measure, one "
                 "keep-alive client; the library column is the same work without HTTP and HTML.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one 10-minute meeting, 10 requests per measure")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="folder for web.json")
    args = parser.parse_args(argv)
    print(run(args.quick, args.out)["markdown"])


if __name__ == "__main__":
    sys.exit(main())
