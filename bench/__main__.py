"""Every benchmark in one run: ``python -m bench [--quick]`` (``make bench``).

Each benchmark module (bench/<name>.py, ``run(quick, out_dir) -> dict``) runs
in a child process of its own, one after the other, so one's memory and
threads never weigh on the next and a crash is reported without stopping the
others. Written under ``--out`` (default bench/results/, not committed):

- ``report.json``: every benchmark's figures, the machine (cores, memory, CPU,
  versions, load averages) and the headline figures against the issue's targets;
- ``report.md``: the headline table, then each benchmark's own table;
- ``pipeline.png``: time per stage and peak memory against meeting length;
- each benchmark's own ``<name>.json``.

``--reference NAME`` also copies the three report files to
``bench/results/reference-NAME.{json,md,png}``, the kind of report the
repository keeps. Nothing here fails on timing; the exit status is 1 only if
a benchmark could not run to its end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.scoring import ROOT

BENCHMARKS = ("pipeline", "asr", "diarization", "minutes", "qmsum", "mail", "search", "web", "naming")  # longest first
DEFAULT_OUT = ROOT / "bench" / "results"


def one(name: str, quick: bool, out_dir: Path, result_file: Path) -> None:
    """In the child: run one benchmark and write what it returns."""
    import importlib

    module = importlib.import_module(f"bench.{name}")
    result = module.run(quick, out_dir)
    result_file.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def _machine() -> dict:
    import psutil

    info = {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    for package in ("torch", "ctranslate2", "faster-whisper", "openai-whisper", "pyannote.audio"):
        try:
            from importlib.metadata import version

            info[package] = version(package)
        except Exception:  # noqa: BLE001 (absent package: just not listed)
            continue
    return info


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "voicebot", "bench"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+uncommitted changes" if dirty else "") if out.returncode == 0 else None
    except OSError:
        return None


def run_all(quick: bool, out_dir: Path, only: tuple[str, ...] = BENCHMARKS) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": quick,
                    "commit": _commit(), "machine": _machine(), "sections": {}, "runs": {}}
    for name in only:
        result_file = out_dir / f".{name}.result.json"
        result_file.unlink(missing_ok=True)
        load = os.getloadavg()[0]
        print(f"bench: {name}{' (quick)' if quick else ''}...", file=sys.stderr, flush=True)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "bench", "--one", name, "--out", str(out_dir),
                               "--result", str(result_file)] + (["--quick"] if quick else []),
                              cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.monotonic() - started
        report["runs"][name] = {"seconds": round(seconds, 1), "exit_code": proc.returncode,
                                "load_average_before": round(load, 2),
                                "load_average_after": round(os.getloadavg()[0], 2)}
        if proc.returncode == 0 and result_file.is_file():
            report["sections"][name] = json.loads(result_file.read_text(encoding="utf-8"))
            result_file.unlink()
        else:
            lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
            report["sections"][name] = {"error": lines[-1] if lines else f"exit code {proc.returncode}",
                                        "stderr_tail": lines[-15:]}
        print(f"bench: {name} {'done' if 'error' not in report['sections'][name] else 'FAILED'} in {seconds:.0f} s",
              file=sys.stderr, flush=True)
    report["headline"] = headline(report["sections"])
    report["markdown"] = markdown(report)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(report["markdown"] + "\n", encoding="utf-8")
    return report


# --- the headline: the figures users pick a tool by, against the targets -------------------------------


def _get(data: dict, *keys, default=None):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _rouge(mean: dict) -> str:
    return " / ".join("-" if mean.get(k) is None else f"{mean[k]:.3f}" for k in ("rouge1", "rouge2", "rougeL"))


def _pr_pair(pooled: dict) -> str:
    if not pooled:
        return "-"
    d, a = pooled["decisions"], pooled["actions"]
    return f"D {d['precision']:.2f} / {d['recall']:.2f}, A {a['precision']:.2f} / {a['recall']:.2f}"


def headline(sections: dict) -> list[dict]:
    """One row per claim: what was measured, the peer or target, and whether it holds (None: not measured)."""
    rows: list[dict] = []
    asr = sections.get("asr", {})
    if "speedup_vs_openai_whisper" in asr:
        runs = {r["run"]: r for r in asr["runs"]}
        ours, peer = runs.get("voicebot faster-whisper", {}), runs.get("openai-whisper transcribe", {})
        rows.append({"claim": "ASR speed vs openai-whisper, same weights (target >= 4x)",
                     "ours": f"RTF {ours.get('rtf', 0):.3f}", "peer": f"RTF {peer.get('rtf', 0):.3f}",
                     "figure": f"{asr['speedup_vs_openai_whisper']:.1f}x",
                     "met": asr["speedup_vs_openai_whisper"] >= 4.0,
                     "input": f"{asr.get('audio_seconds', 0):.0f} s of corpus speech"
                              f" ({', '.join(i['name'] for i in peer.get('items', []))})"})
        rows.append({"claim": "ASR WER vs openai-whisper (target: no worse)", "ours": f"{ours.get('wer', 0):.3f}",
                     "peer": f"{peer.get('wer', 0):.3f}", "figure": f"{asr['wer_delta_vs_openai_whisper']:+.3f}",
                     "met": asr["wer_delta_vs_openai_whisper"] <= 0.0, "input": "the same"})
    diar = _get(sections, "diarization", "corpus", default={})
    if diar:
        builtin, naive = diar.get("builtin", {}), diar.get("naive", {})
        pyannote = diar.get("pyannote")
        rows.append({"claim": "Diarization DER full / forgiving vs the naive baseline",
                     "ours": f"{builtin.get('der_full')} / {builtin.get('der_forgiving')} %",
                     "peer": f"naive {naive.get('der_full')} / {naive.get('der_forgiving')} %"
                             + (f"; pyannote {pyannote['der_full']} / {pyannote['der_forgiving']} %" if pyannote
                                else "; pyannote not run (weights absent)"),
                     "figure": f"RTF {builtin.get('rtf')}",
                     "met": (builtin.get("der_full", 100) < naive.get("der_full", 0)) if naive else None,
                     "input": f"{len(builtin.get('files', []))} corpus files with an .rttm"})
    pipe = sections.get("pipeline", {})
    targets = pipe.get("targets", {})
    for run in pipe.get("runs", []):
        if run.get("exit_code") != 0:
            continue
        minutes = run["audio_seconds"] / 60
        claim = f"Whole pipeline, {minutes:.0f}-minute meeting" if minutes >= 10 else \
            f"Whole pipeline, {minutes:.1f}-minute meeting"
        met = None
        target = ""
        if run["length_target_s"] == 3600:
            met, target = targets.get("one_hour_met"), " (target < 12 min)"
        rows.append({"claim": claim + target, "ours": f"{run['wall_seconds'] / 60:.1f} min, RTF {run['rtf_end_to_end']:.3f}",
                     "peer": "", "figure": f"peak {run['peak_rss_mb']:.0f} MiB", "met": met,
                     "input": f"{run['recording']} ({run['reference_speakers']} speakers)"})
        if run["length_target_s"] == 7200:
            rows.append({"claim": "Peak memory, 2-hour meeting (target < 2 GB)", "ours": f"{run['peak_rss_mb']:.0f} MiB",
                         "peer": "", "figure": f"{run['peak_rss_mb'] * 2**20 / 1e9:.2f} GB",
                         "met": targets.get("two_hour_met"),
                         "input": run["recording"]})
    minutes_bench = _get(sections, "minutes", "totals", default={})
    if minutes_bench:
        o, p = minutes_bench["ours"], minutes_bench["peer"]
        rows.append({"claim": "Minutes: decisions and actions, precision / recall vs keyword spotting",
                     "ours": f"{o['precision']:.2f} / {o['recall']:.2f}", "peer": f"{p['precision']:.2f} / {p['recall']:.2f}",
                     "figure": "", "met": o["recall"] >= p["recall"] and o["precision"] >= p["precision"],
                     "input": "sample meetings (en, fr)"})
    scripted = _get(sections, "minutes", "scripted", default={})
    for engine, data in scripted.get("engines", {}).items():
        if engine == "keywords":
            continue
        peer = _get(scripted, "engines", "keywords", "pooled", default={})
        rows.append({"claim": f"Minutes ({engine}) on scripted meetings: decisions P / R, actions P / R "
                              "(owner and due date right)",
                     "ours": f"not run: {data['error']}" if "error" in data else _pr_pair(data["pooled"]["punctuated"]),
                     "peer": f"keywords {_pr_pair(peer.get('punctuated', {}))}",
                     "figure": "" if "error" in data else
                     f"unpunctuated: {_pr_pair(data['pooled']['unpunctuated'])}",
                     "met": None, "input": f"{len(scripted.get('meetings', []))} scripted meetings (fr, en)"})
    naming = _get(sections, "naming", "conditions", default={})
    for condition, data in naming.items():
        names = data["pooled"]["names"]
        absent = data["pooled"]["absent"]
        rows.append({"claim": f"Speaker names, {condition}: precision / recall (target precision >= 0.95)",
                     "ours": f"{names['precision']} / {names['recall']}",
                     "peer": "voiceprints only: nobody named without enrolment",
                     "figure": f"absent P / R {absent['precision']} / {absent['recall']}",
                     "met": names["precision"] is not None and names["precision"] >= 0.95,
                     "input": f"{len(sections['naming'].get('meetings', [])) - 1} scripted meetings (fr, en) and the sample"})
    qmsum = _get(sections, "qmsum", "engines", default={})
    if qmsum:
        lead = qmsum.get("lead150", {}).get("mean", {})
        for engine, data in qmsum.items():
            if engine == "lead150":
                continue
            mean = data.get("mean") or {}
            rows.append({"claim": f"Minutes summary ({engine}), ROUGE-1 / 2 / L against human summaries",
                         "ours": f"not run: {data['error']}" if "error" in data else _rouge(mean),
                         "peer": f"lead-150 {_rouge(lead)}",
                         "figure": "" if "error" in data else f"{mean.get('seconds', 0):.2f} s / meeting, "
                                                              f"peak {data.get('peak_rss_mb', 0):.0f} MiB",
                         "met": None, "input": f"{len(sections['qmsum'].get('meetings', []))} QMSum meetings"})
    search = _get(sections, "search", "backends", "sqlite", default={})
    if search and "latency" in search:
        word = search["latency"].get("word", {})
        peer = search.get("peer_like_scan", {})
        rows.append({"claim": f"Archive search, one word, on {search.get('hours')} h (SQLite FTS5)",
                     "ours": f"median {word.get('median_ms')} ms", "peer": f"LIKE scan {peer.get('median_ms')} ms",
                     "figure": f"p95 {word.get('p95_ms')} ms", "met": None, "input": "generated archive"})
    mail = sections.get("mail", {})
    if "outbox_deliver_seconds" in mail:
        rows.append({"claim": f"Mail: {mail['recipients']} messages via the outbox vs direct smtplib",
                     "ours": f"{mail['outbox_deliver_seconds']} s", "peer": f"{mail['direct_smtplib_seconds']} s",
                     "figure": "", "met": None, "input": f"{mail['meeting_minutes']}-minute meeting"})
    return rows


def markdown(report: dict) -> str:
    machine = report["machine"]
    loads = [r["load_average_before"] for r in report["runs"].values()] + \
        [r["load_average_after"] for r in report["runs"].values()]
    lines = [f"# voicebot benchmarks{' (quick mode)' if report['quick'] else ''}", "",
             f"{report['created']}, commit {report['commit']}; {machine.get('cpu', '?')}, {machine['cores']} cores, "
             f"{machine['memory_gb']} GB; torch {machine.get('torch', '?')}, ctranslate2 "
             f"{machine.get('ctranslate2', '?')}. 1-minute load average during the runs: "
             f"{min(loads, default=0):.1f}-{max(loads, default=0):.1f} (other programs shared the machine when above "
             f"~{machine['cores']}).", "",
             *(["Quick mode: inputs too small to judge the targets (seconds of audio, no 1-hour meeting); "
                "the verdicts below hold for these inputs only. `python -m bench` measures the claims.", ""]
               if report["quick"] else []),
             "| claim | ours | peer | figure | holds? | input |", "|---|---|---|---|---|---|"]
    for row in report["headline"]:
        holds = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(f"| {row['claim']} | {row['ours']} | {row['peer']} | {row['figure']} | {holds} | {row['input']} |")
    lines += ["", "| benchmark | seconds | load before-after | result |", "|---|---|---|---|"]
    for name, run in report["runs"].items():
        section = report["sections"][name]
        lines.append(f"| {name} | {run['seconds']} | {run['load_average_before']}-{run['load_average_after']} | "
                     f"{'FAILED: ' + section['error'] if 'error' in section else 'ok'} |")
    for name, section in report["sections"].items():
        lines += ["", f"## {name}", ""]
        lines.append(f"Not run to its end: `{section['error']}`" if "error" in section else section.get("markdown", ""))
    if (report.get("sections", {}).get("pipeline") or {}).get("plot"):
        lines += ["", "![time and memory per stage vs meeting length](pipeline.png)"]
    return "\n".join(lines)


def keep_reference(out_dir: Path, name: str) -> list[Path]:
    """Copy report.{json,md} and pipeline.png to reference-NAME.* (the files .gitignore lets through)."""
    kept = []
    for source, suffix in (("report.json", "json"), ("report.md", "md"), ("pipeline.png", "png")):
        if (out_dir / source).is_file():
            target = DEFAULT_OUT / f"reference-{name}.{suffix}"
            text = None
            if suffix == "md":
                text = (out_dir / source).read_text(encoding="utf-8").replace("](pipeline.png)",
                                                                             f"](reference-{name}.png)")
            if text is None:
                shutil.copyfile(out_dir / source, target)
            else:
                target.write_text(text, encoding="utf-8")
            kept.append(target)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small inputs every benchmark has (CI, ~5 minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of: {','.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the report (default bench/results)")
    parser.add_argument("--reference", metavar="NAME", help="also keep the report as bench/results/reference-NAME.*")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        one(args.one, args.quick, args.out, args.result)
        return 0
    only = tuple(args.only.split(",")) if args.only else BENCHMARKS
    unknown = [n for n in only if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    report = run_all(args.quick, args.out, only)
    print(report["markdown"])
    if args.reference:
        for path in keep_reference(args.out, args.reference):
            print(f"kept {path}", file=sys.stderr)
    return 1 if any("error" in s for s in report["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
