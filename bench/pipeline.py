"""The whole pipeline on meetings of growing length: time and peak memory per stage, end to end.

Input: meetings built from real speech by bench/long.py (full: 5 min, 15 min,
1 h, 2 h; quick: 1.5 min), with their references. Each meeting goes through
what ``voicebot process AUDIO --ics samples/meeting-en.ics`` does, in the
default configuration (faster-whisper base int8, builtin diarization, the
four sample voices enrolled, extractive minutes, the SQLite archive, mail to
the Maildir outbox): ``pipeline.import_audio`` then ``pipeline.process``, in a
child process of its own started with a fresh VOICEBOT_HOME.

Measured from outside the child, so nothing is added to the process measured:
- time per stage: the pipeline's own stage events (start / done), sent to
  this process over a pipe as they happen;
- memory per stage: the child's RSS sampled every 20 ms by this process
  (psutil), the highest sample between the stage's start and its end; the
  RSS when the stage starts is kept too (what earlier stages left behind);
- peak RSS of the whole run: the kernel's ru_maxrss of the child (os.wait4),
  exact, including the interpreter and imports;
- CPU use per stage: the child's user+system CPU seconds over wall seconds
  (2.0 = both cores busy);
- end to end: wall time from starting the child to its exit (Python start
  and imports included), and the real-time factor (that time / audio time).
The run's artifacts (transcript, RTTM, naming, minutes, the pipeline's log)
are kept under ``<out>/pipeline-runs/<recording>/`` for a look afterwards.
Accuracy on the same run: WER on the copies with a reference transcript and
DER (full, forgiving) against the built RTTM (bench/long.py).

Targets (issue 11), reported, never enforced: a 1-hour meeting end to end in
under 12 minutes; peak memory under 2 GB for a 2-hour meeting (read strictly:
2*10^9 bytes, 1907 MiB; memory figures here are MiB, 2^20 bytes).

    python -m bench.pipeline [--quick] [--lengths 300,900]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.long import build, score_turns, score_words
from bench.scoring import ROOT

FULL_LENGTHS = (300, 900, 3600, 7200)
QUICK_LENGTHS = (90,)
TARGET_1H_SECONDS = 12 * 60
TARGET_2H_PEAK_MB = round(2e9 / 2**20)  # "under 2 GB", read strictly: 2*10^9 bytes = 1907 MiB
SAMPLE_INVITATION = ROOT / "samples" / "meeting-en.ics"
SAMPLE_VOICES = ROOT / "samples" / "voices"
MODELS = ROOT / "bench" / "results" / "models"  # Whisper base assembled once for every run (not committed)
SAMPLE_EVERY = 0.02  # seconds between two RSS samples


# --- the child: one meeting through the pipeline ----------------------------------------------------


def _settings():
    from voicebot.config import load_settings

    return load_settings()  # VOICEBOT_HOME comes from the environment the parent set


def enroll_worker() -> None:
    """The sample voices, enrolled as `voicebot voices enroll NAME FILE --email E` does."""
    from voicebot.archive import open_archive
    from voicebot.diarize import voiceprint
    from voicebot.invites import read_ics

    emails = {p.name: p.email for p in read_ics(SAMPLE_INVITATION).people}
    with open_archive(_settings()) as db:
        for clip in sorted(SAMPLE_VOICES.glob("*.flac")):
            db.upsert_person(clip.stem, email=emails.get(clip.stem), voiceprint=voiceprint(clip),
                             source=f"enrolled from {clip.name}")


def process_worker(audio: Path, events_fd: int) -> None:
    """Import ``audio`` and run every stage; each stage event goes to ``events_fd`` as one JSON line."""
    from voicebot import pipeline
    from voicebot.invites import read_ics

    channel = os.fdopen(events_fd, "w", buffering=1)

    def send(stage: str, kind: str, **extra) -> None:
        channel.write(json.dumps({"stage": stage, "kind": kind, **extra}) + "\n")

    settings = _settings()
    send("import", "start")
    meeting = pipeline.import_audio(settings, audio, title="Bench meeting", invitation=read_ics(SAMPLE_INVITATION))
    send("import", "done", detail=meeting.id)

    def hook(event) -> None:
        if event.kind in ("start", "done", "failed", "skip"):
            send(event.stage, event.kind, detail=event.detail)

    pipeline.process(settings, meeting.id, hook=hook)
    send("pipeline", "end", detail=meeting.id)
    channel.close()


# --- the parent: measuring the child ------------------------------------------------------------------


def _models() -> Path:
    from voicebot.asr import models

    models.install("base", MODELS)
    return MODELS


def _child_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_") or k == "VOICEBOT_CORPUS"}
    return {**env, "VOICEBOT_HOME": str(home), "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)}


def _enroll(home: Path) -> None:
    subprocess.run([sys.executable, "-m", "bench.pipeline", "--enroll-worker"], env=_child_env(home), cwd=home,
                   check=True, stdout=subprocess.DEVNULL)


class _Sampler:
    """The child's RSS every SAMPLE_EVERY s, and its CPU time at each stage event, seen from this process."""

    def __init__(self, pid: int):
        import psutil

        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, float]] = []  # (monotonic time, RSS MB)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), self.process.memory_info().rss / 2**20))
            except psutil.Error:
                return
            time.sleep(SAMPLE_EVERY)

    def cpu_seconds(self) -> float | None:
        import psutil

        try:
            times = self.process.cpu_times()
        except psutil.Error:
            return None
        return times.user + times.system

    def peak(self, start: float, end: float) -> tuple[float | None, float | None]:
        """(RSS at ``start``, highest RSS between ``start`` and ``end``)."""
        inside = [rss for t, rss in self.samples if start <= t <= end]
        before = [rss for t, rss in self.samples if t <= start]
        first = before[-1] if before else (inside[0] if inside else None)
        return first, max(inside + ([first] if first is not None else []), default=None)


def measure(audio: Path, home: Path) -> dict:
    """One meeting through the pipeline in a child process; times, memory, CPU per stage."""
    read_fd, write_fd = os.pipe()
    began = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bench.pipeline", "--process-worker", str(audio),
                             "--events-fd", str(write_fd)], env=_child_env(home), cwd=home, pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    sampler = _Sampler(proc.pid)
    stderr: list[bytes] = []
    drain = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
    drain.start()
    events = []
    with os.fdopen(read_fd) as channel:
        for line in channel:
            event = json.loads(line)
            event["t"] = time.monotonic()
            event["cpu"] = sampler.cpu_seconds()
            events.append(event)
    _, status, usage = os.wait4(proc.pid, 0)
    ended = time.monotonic()
    sampler.stop.set()
    sampler.thread.join()
    drain.join()
    code = os.waitstatus_to_exitcode(status)
    stages, open_stages = [], {}
    for event in events:
        if event["kind"] == "start":
            open_stages[event["stage"]] = event
        elif event["kind"] in ("done", "failed") and event["stage"] in open_stages:
            start = open_stages.pop(event["stage"])
            seconds = event["t"] - start["t"]
            rss_start, rss_peak = sampler.peak(start["t"], event["t"])
            cpu = (event["cpu"] - start["cpu"]) if event["cpu"] is not None and start["cpu"] is not None else None
            stages.append({"stage": event["stage"], "state": event["kind"], "seconds": round(seconds, 2),
                           "rss_start_mb": round(rss_start, 1) if rss_start else None,
                           "peak_rss_mb": round(rss_peak, 1) if rss_peak else None,
                           "cpu_per_wall": round(cpu / seconds, 2) if cpu is not None and seconds > 0 else None,
                           "detail": event.get("detail", "")})
    meeting_id = next((e["detail"] for e in events if e["stage"] == "import" and e["kind"] == "done"), None)
    result = {"exit_code": code, "wall_seconds": round(ended - began, 2),
              "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "stages": stages, "meeting_id": meeting_id,
              "samples": len(sampler.samples)}
    if code != 0:
        result["error"] = (b"".join(stderr).decode(errors="replace").strip().splitlines() or ["?"])[-1]
    return result


def _accuracy(built, home: Path, meeting_id: str | None) -> dict:
    from voicebot import recordings, schema

    if not meeting_id:
        return {}
    directory = home / "recordings" / meeting_id
    out: dict = {}
    if (directory / recordings.TRANSCRIPT).is_file():
        out["words"] = score_words(built, schema.Transcript.from_dict(schema.read_json(directory / recordings.TRANSCRIPT)))
    if (directory / recordings.DIARIZATION).is_file():
        turns = schema.turns_from_rttm((directory / recordings.DIARIZATION).read_text(encoding="utf-8"))
        out["speakers"] = score_turns(built, turns)
    if (directory / recordings.MINUTES_JSON).is_file():
        minutes = schema.Minutes.from_dict(schema.read_json(directory / recordings.MINUTES_JSON))
        out["minutes"] = {"decisions": len(minutes.decisions), "action_items": len(minutes.action_items),
                          "present": minutes.present, "engine": minutes.engine}
    return out


def _keep_artifacts(home: Path, meeting_id: str | None, target: Path) -> None:
    """The run's transcript, turns, naming, minutes and pipeline log, for a look afterwards (not the audio)."""
    from voicebot import recordings

    if not meeting_id:
        return
    directory = home / "recordings" / meeting_id
    target.mkdir(parents=True, exist_ok=True)
    for name in (recordings.TRANSCRIPT, recordings.DIARIZATION, recordings.SPEAKERS, recordings.MINUTES_MD,
                 recordings.PIPELINE_LOG):
        if (directory / name).is_file():
            shutil.copyfile(directory / name, target / name)


def run_length(seconds: float, workdir: Path, models: Path, out_dir: Path) -> dict:
    built = build(seconds)
    home = workdir / f"home-{int(seconds)}"
    home.mkdir(parents=True)
    (home / "models").symlink_to(models, target_is_directory=True)
    _enroll(home)
    load_before = os.getloadavg()[0]
    measured = measure(built.audio, home)
    row = {"length_target_s": seconds, "audio_seconds": built.duration, "recording": built.name,
           "reference_speakers": built.speakers, "load_average_before": round(load_before, 2),
           "load_average_after": round(os.getloadavg()[0], 2), **measured}
    row["rtf_end_to_end"] = round(measured["wall_seconds"] / built.duration, 3)
    row["accuracy"] = _accuracy(built, home, measured.get("meeting_id"))
    _keep_artifacts(home, measured.get("meeting_id"), out_dir / "pipeline-runs" / built.name)
    shutil.rmtree(home / "recordings", ignore_errors=True)  # a 2-hour meeting's FLAC is ~115 MB
    return row


def _stage_names(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(s["stage"] for r in rows for s in r["stages"]))


def _targets(rows: list[dict]) -> dict:
    """Where the default configuration stands against the issue's targets (None: not measured in this run)."""
    by_length = {r["length_target_s"]: r for r in rows if r["exit_code"] == 0}
    hour, two = by_length.get(3600), by_length.get(7200)
    return {
        "one_hour_end_to_end_s": hour["wall_seconds"] if hour else None,
        "one_hour_target_s": TARGET_1H_SECONDS,
        "one_hour_met": (hour["wall_seconds"] <= TARGET_1H_SECONDS) if hour else None,
        "two_hour_peak_rss_mb": two["peak_rss_mb"] if two else None,
        "two_hour_target_mb": TARGET_2H_PEAK_MB,
        "two_hour_met": (two["peak_rss_mb"] <= TARGET_2H_PEAK_MB) if two else None,
    }


def markdown(result: dict) -> str:
    rows = result["runs"]
    names = _stage_names(rows)
    lines = ["| meeting | " + " | ".join(f"{n} s" for n in names) + " | end to end | RTF | peak RSS MiB | "
             "peak per stage MiB | WER | DER full / forgiving % | speakers ref/found | load |",
             "|---" * (len(names) + 9) + "|"]
    for r in rows:
        if r["exit_code"] != 0:
            lines.append(f"| {r['audio_seconds'] / 60:.1f} min | failed: {r.get('error', '?')} |")
            continue
        by = {s["stage"]: s for s in r["stages"]}
        acc = r["accuracy"]
        words, spk = acc.get("words", {}), acc.get("speakers", {})
        per_stage = " / ".join(f"{by[n]['peak_rss_mb']:.0f}" if n in by and by[n]["peak_rss_mb"] else "-"
                               for n in names)
        lines.append(
            f"| {r['audio_seconds'] / 60:.1f} min | " + " | ".join(f"{by[n]['seconds']:.1f}" if n in by else "-"
                                                                  for n in names)
            + f" | {r['wall_seconds'] / 60:.1f} min | {r['rtf_end_to_end']:.3f} | {r['peak_rss_mb']:.0f} | {per_stage} | "
            f"{words.get('wer', float('nan')):.3f} | {spk.get('der_full', '-')} / {spk.get('der_forgiving', '-')} | "
            f"{spk.get('speakers_ref', '-')}/{spk.get('speakers_found', '-')} | "
            f"{r['load_average_before']}-{r['load_average_after']} |")
    done = [r for r in rows if r["exit_code"] == 0 and r["accuracy"].get("words")]
    sources = sorted({name for r in done for name in r["accuracy"]["words"]["per_source"]})
    if sources:
        lines += ["", "WER per source recording, over its copies in each meeting (the recording alone: bench/asr):", "",
                  "| source | " + " | ".join(f"{r['audio_seconds'] / 60:.1f} min" for r in done) + " |",
                  "|---" * (len(done) + 1) + "|"]
        for name in sources:
            cells = []
            for r in done:
                row = r["accuracy"]["words"]["per_source"].get(name)
                cells.append(f"{row['wer']:.3f} ({row['copies']}x)" if row and row["wer"] is not None else "-")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    t = result["targets"]
    verdict = []
    if t["one_hour_end_to_end_s"] is not None:
        verdict.append(f"1-hour meeting end to end: {t['one_hour_end_to_end_s'] / 60:.1f} min "
                       f"(target < {TARGET_1H_SECONDS / 60:.0f} min: {'met' if t['one_hour_met'] else 'MISSED'})")
    if t["two_hour_peak_rss_mb"] is not None:
        verdict.append(f"2-hour meeting peak RSS: {t['two_hour_peak_rss_mb']:.0f} MiB "
                       f"(target < 2 GB = {TARGET_2H_PEAK_MB} MiB: {'met' if t['two_hour_met'] else 'MISSED'})")
    if not verdict:
        verdict.append("targets (1-hour time, 2-hour memory) not measured in this run: no meeting of that length")
    return ("Stages in the order they run; peak per stage in the same order; CPU per stage in the JSON. "
            "Load = 1-minute load average before-after (2 cores).\n\n" + "\n".join(lines) + "\n\n"
            + "; ".join(verdict) + ".")


def plot(result: dict, path: Path) -> Path | None:
    """Time per stage (stacked) and peak RSS vs meeting length, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["runs"] if r["exit_code"] == 0]
    if not rows:
        return None
    names = _stage_names(rows)
    minutes = [r["audio_seconds"] / 60 for r in rows]
    labels = [f"{m:.0f} min" if m >= 10 else f"{m:.1f} min" for m in minutes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    bottom = [0.0] * len(rows)
    for name in names:
        values = [next((s["seconds"] / 60 for s in r["stages"] if s["stage"] == name), 0.0) for r in rows]
        left.bar(labels, values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values)]
    left.plot(labels, [r["wall_seconds"] / 60 for r in rows], "k.--", label="end to end (with start-up)")
    if any(r["length_target_s"] == 3600 for r in rows):
        left.axhline(TARGET_1H_SECONDS / 60, color="red", lw=0.8, ls=":", label="1-hour target (12 min)")
    left.set_ylabel("minutes of processing")
    left.set_xlabel("meeting length")
    left.set_title("Time per stage")
    left.legend(fontsize=8, loc="upper left")
    for name in names:
        right.plot(minutes, [next((s["peak_rss_mb"] or 0 for s in r["stages"] if s["stage"] == name), None)
                             for r in rows], "o-", label=name)
    right.plot(minutes, [r["peak_rss_mb"] for r in rows], "k^--", label="whole run (ru_maxrss)")
    right.axhline(TARGET_2H_PEAK_MB, color="red", lw=0.8, ls=":", label=f"2-hour target (2 GB = {TARGET_2H_PEAK_MB} MiB)")
    right.set_xlabel("meeting length (minutes)")
    right.set_ylabel("peak RSS (MiB)")
    right.set_title("Peak RSS of the process during each stage")
    right.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"voicebot pipeline, default configuration, {os.cpu_count()} cores")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(quick: bool, out_dir: Path, lengths: tuple[float, ...] | None = None) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lengths = lengths or (QUICK_LENGTHS if quick else FULL_LENGTHS)
    models = _models()
    rows = []
    with tempfile.TemporaryDirectory(prefix="voicebot-bench-pipeline-") as tmp:
        for seconds in lengths:
            rows.append(run_length(seconds, Path(tmp), models, out_dir))
    result = {"name": "pipeline", "quick": quick, "cores": os.cpu_count(), "runs": rows}
    result["targets"] = _targets(rows)
    result["markdown"] = markdown(result)
    png = plot(result, out_dir / "pipeline.png")
    result["plot"] = str(png) if png else None
    (out_dir / "pipeline.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 1.5-minute meeting (CI)")
    parser.add_argument("--lengths", help="comma-separated meeting lengths in seconds (default 300,900,3600,7200)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where to write the figures")
    parser.add_argument("--enroll-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--process-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--events-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.enroll_worker:
        enroll_worker()
        return
    if args.process_worker:
        process_worker(args.process_worker, args.events_fd)
        return
    lengths = tuple(float(x) for x in args.lengths.split(",")) if args.lengths else None
    print(run(args.quick, args.out, lengths)["markdown"])


if __name__ == "__main__":
    main()
