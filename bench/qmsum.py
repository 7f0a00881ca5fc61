"""Minutes on real meetings: ROUGE of the drafted summary against QMSum's human summaries.

Input: ``<corpus>/qmsum/`` (138 AMI and ICSI meetings, human-made speaker-attributed turns
without times, a human summary each; see its README), read in place, never copied. Each
meeting becomes a voicebot transcript: disfluency marks (``{disfmarker}``, ``{vocalsound}``...)
dropped, spaces before punctuation closed up, one segment per turn, synthetic times at 2.5
words per second, the role names ("Project Manager", "PhD A") as speakers, language en.

Two texts are scored, the same way for every engine: ``summary``, the minutes' summary paragraph
alone (what the human summary is, and what a plain map-reduce summary prompt writes), and
``summary + key points``, everything the minutes show on top (the extractive engine writes no
paragraph, only a one-line header: its key points are its summary). ROUGE-1/2/L F1 (the
``rouge-score`` package, Porter stemming) against ``general_query_list[0].answer``. The
baseline ``lead150`` is the first 150 words of the transcript, for both texts. The peer
``mapreduce`` (``--engines llama,mapreduce``) is a plain map-reduce summary prompt on the same
model through the same runtime: the whole transcript in windows that fill the context, "summarize
this part", then "summarize the meeting from these parts"; no selection, no grounding, no deadline.

Each engine (and the baseline) runs its whole loop in a child process of its own, so the
peak RSS reported is that engine's alone: the child's VmHWM (not ``ru_maxrss``, which on
Linux keeps the parent's peak across the spawn); the time is
``draft()`` per meeting, the transcript already built, after one untimed warm-up draft (the
start of the first meeting: imports, model loading; its time is reported apart). A meeting an engine fails on is
reported as failed, not scored; the engine's label counts the meetings where a model engine fell
back to the extractive one, and those where the rules completed its decisions and tasks. Meetings (deterministic): ``--meetings N`` (default 20) spread evenly over
the AMI meetings sorted by name (three quarters) and the ICSI ones (the rest), the
selection sorted by name; ``--quick``: the 3 shortest AMI meetings; ``--held-out``: spread the same way
over the meetings that no choice was made on (``DEVELOPMENT``: the selections of 20 and 10 the engines
were developed on, then the 12 outside them that the default ``prompt_budget`` was chosen on).

    python -m bench.qmsum [--quick] [--meetings N] [--held-out] [--engines extractive,llama]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.minutes import engines_from, parse_engines
from bench.scoring import ROOT, corpus_dir

LEAD = "lead150"
MAPREDUCE = "mapreduce"
MR_WINDOW_TOKENS = 2800  # transcript tokens per map call: with the prompt and the answer, inside a 4k context
MR_MAP_TOKENS = 200
MR_REDUCE_TOKENS = 300
MR_MAP = "Summarize this part of a meeting transcript in a few sentences: what was discussed and what was decided."
MR_REDUCE = ("Below are summaries of the consecutive parts of one meeting. Write one paragraph that summarizes "
             "the whole meeting: what it was about, what was discussed and what was decided.")
LEAD_WORDS = 150
WORDS_PER_SECOND = 2.5
DEFAULT_MEETINGS = 20
QUICK_MEETINGS = 3
WARMUP_SEGMENTS = 40  # a first, untimed draft on the start of the first meeting
PLACEHOLDER_DATE = "2005-01-03"  # QMSum gives no date; a fixed one keeps the summary text deterministic
METRICS = ("rouge1", "rouge2", "rougeL")
SCORES = (*METRICS, *(f"top_{m}" for m in METRICS), "seconds", "summary_words", "top_words")
TEXTS = {"summary": "summary", "top": "summary + key points"}  # what is scored: key prefix -> label


# --- the corpus --------------------------------------------------------------------------------------------


def qmsum_dir() -> Path:
    return corpus_dir() / "qmsum"


def family(name: str) -> str:
    """AMI (ES/IS/TS, a design team of four) or ICSI (B*, research groups)."""
    return "ICSI" if name.startswith("B") else "AMI"


def clean(text: str) -> str:
    """A turn's words as a reader gives them: {marks} dropped, no space before punctuation."""
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\s+([.,?!;:])", r"\1", text)
    text = re.sub(r"([.,?!;:])(?:\s*[.,;:])+", r"\1", text)  # ", ." left by a dropped mark
    return " ".join(text.split()).strip(" ,;:")


def words_in(path: Path) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    return sum(len(clean(t["content"]).split()) for t in data["meeting_transcripts"])


def _spread(items: list[Path], count: int) -> list[Path]:
    """``count`` items evenly spaced over the list (the first always), in list order."""
    if count >= len(items):
        return list(items)
    return [items[round(i * len(items) / count)] for i in range(count)]


# The selections a choice was made on, round by round, each round spread over the meetings the rounds
# before it left: the minutes engines were developed and compared on 20 and 10, then the default prompt
# budget was chosen on 12 of the rest. ``--held-out`` spreads over what all the rounds leave.
DEVELOPMENT = ((DEFAULT_MEETINGS, 10), (12,))
HELD_OUT = "in none of the selections the engines were developed or tuned on (" + ", then ".join(
    " and ".join(map(str, counts)) for counts in DEVELOPMENT) + ")"


def _unseen(files: list[Path], rounds: tuple = DEVELOPMENT) -> list[Path]:
    """The meetings left after every round of DEVELOPMENT took its selections."""
    for counts in rounds:
        seen = {path for n in counts for path in _spread_families(files, n)}
        files = [f for f in files if f not in seen]
    return files


def _spread_families(files: list[Path], count: int) -> list[Path]:
    ami = [f for f in files if family(f.stem) == "AMI"]
    icsi = [f for f in files if family(f.stem) == "ICSI"]
    n_icsi = min(len(icsi), count // 4)
    return sorted(_spread(ami, count - n_icsi) + _spread(icsi, n_icsi))


def select(count: int = DEFAULT_MEETINGS, quick: bool = False, held_out: bool = False) -> list[Path]:
    """``count`` meetings spread evenly (see the module's docstring); ``held_out``: spread over the meetings
    that are in none of the DEVELOPMENT selections, for a figure on meetings nobody tuned on."""
    files = sorted(qmsum_dir().glob("*.json"))
    if held_out:
        files = _unseen(files)
    if quick:
        ami = [f for f in files if family(f.stem) == "AMI"]
        return sorted(sorted(ami, key=lambda f: (words_in(f), f.name))[:QUICK_MEETINGS])
    return _spread_families(files, count)


def spoken_turns(data: dict) -> list[tuple[int, str, str]]:
    """(index in meeting_transcripts, speaker, words) of each turn with words: one segment each in ``load``."""
    turns = [(i, turn["speaker"].strip(), clean(turn["content"])) for i, turn in enumerate(data["meeting_transcripts"])]
    return [(i, speaker, text) for i, speaker, text in turns if re.search(r"\w", text)]


def load(path: Path):
    """(transcript, human summary) of one QMSum meeting."""
    from voicebot import schema

    data = json.loads(path.read_text(encoding="utf-8"))
    segments, clock = [], 0.0
    for _, speaker, text in spoken_turns(data):
        seconds = max(len(text.split()) / WORDS_PER_SECOND, 0.4)
        segments.append(schema.Segment(round(clock, 3), round(clock + seconds, 3), text, speaker=speaker, language="en"))
        clock += seconds
    transcript = schema.Transcript(language="en", duration=round(clock, 3), model="qmsum", engine="human",
                                   segments=segments, title=path.stem, date=PLACEHOLDER_DATE)
    return transcript, data["general_query_list"][0]["answer"]


# --- what is scored ----------------------------------------------------------------------------------------


def lead(transcript, count: int = LEAD_WORDS) -> str:
    return " ".join(transcript.text.split()[:count])


def scored_texts(minutes) -> dict[str, str]:
    """The two scored texts of drafted minutes (see TEXTS)."""
    return {"summary": minutes.summary.strip(),
            "top": " ".join([minutes.summary] + [k.text for k in minutes.key_points]).strip()}


def _batches(texts: list[str], count, size: int) -> list[list[str]]:
    """Consecutive groups of ``texts`` of at most ``size`` tokens each (``count`` tokenizes)."""
    out: list[list[str]] = [[]]
    spent = 0
    for text in texts:
        cost = count(text) + 1
        if out[-1] and spent + cost > size:
            out.append([])
            spent = 0
        out[-1].append(text)
        spent += cost
    return out


def mapreduce(transcript, model) -> str:
    """The peer: a plain map-reduce summary of the whole transcript by ``model`` (a runtime.LocalModel)."""
    def ask(instruction: str, text: str, tokens: int) -> str:
        return model.chat([{"role": "user", "content": f"{instruction}\n\n{text}"}], max_tokens=tokens).strip()

    lines = [f"{s.speaker}: {s.text}" for s in transcript.segments]
    parts = [ask(MR_MAP, "\n".join(b), MR_MAP_TOKENS) for b in _batches(lines, model.count_tokens, MR_WINDOW_TOKENS)]
    while len(parts) > 1 and sum(model.count_tokens(p) for p in parts) > MR_WINDOW_TOKENS:
        parts = [ask(MR_REDUCE, "\n\n".join(b), MR_MAP_TOKENS)
                 for b in _batches(parts, model.count_tokens, MR_WINDOW_TOKENS)]
    return ask(MR_REDUCE, "\n\n".join(parts), MR_REDUCE_TOKENS)


def rouge(reference: str, candidate: str) -> dict[str, float]:
    from rouge_score import rouge_scorer

    scores = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True).score(reference, candidate)
    return {m: round(scores[m].fmeasure, 4) for m in METRICS}


# --- one engine, in a child process ------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS since it started its program (VmHWM); ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(engine: str, paths: list[Path], result: Path) -> None:
    """In the child: draft every meeting with ``engine`` and write the texts, times and peak memory."""
    from voicebot.config import load_settings
    from voicebot.minutes import draft

    settings = load_settings()
    rss_start = peak_rss_mb()
    warmup = None
    model = None
    if engine != LEAD and paths:  # imports and model loading, once, apart from the per-meeting times
        first, _ = load(paths[0])
        first.segments = first.segments[:WARMUP_SEGMENTS]
        started = time.perf_counter()
        try:
            if engine == MAPREDUCE:
                from voicebot.llm import runtime

                model = runtime.open_model(settings)
                mapreduce(first, model)
            else:
                draft(first, settings, engine=engine)
        except Exception:  # noqa: BLE001 (reported per meeting below)
            pass
        warmup = round(time.perf_counter() - started, 3)
    rows = []
    for path in paths:
        transcript, _ = load(path)
        row = {"meeting": path.stem}
        started = time.perf_counter()
        try:
            if engine == LEAD:
                row["texts"], row["engine_used"] = dict.fromkeys(TEXTS, lead(transcript)), LEAD
            elif engine == MAPREDUCE:
                if model is None:
                    raise RuntimeError("the local model did not load (voicebot models install minutes)")
                row["texts"], row["engine_used"] = dict.fromkeys(TEXTS, mapreduce(transcript, model)), MAPREDUCE
            else:
                minutes = draft(transcript, settings, engine=engine)
                row["texts"], row["engine_used"] = scored_texts(minutes), minutes.engine
        except Exception as exc:  # noqa: BLE001 (a bench reports what it could not run)
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["seconds"] = round(time.perf_counter() - started, 3)
        rows.append(row)
        print(f"qmsum: {engine} {path.stem} {row['seconds']:.1f} s", file=sys.stderr, flush=True)
    peak = peak_rss_mb()
    result.write_text(json.dumps({"rows": rows, "peak_rss_before_first_meeting_mb": round(rss_start, 1),
                                  "warmup_seconds": warmup,
                                  "peak_rss_mb": round(peak, 1)}, ensure_ascii=False), encoding="utf-8")


def run_engine(engine: str, paths: list[Path]) -> dict:
    """One engine over the meetings in a child process: its rows and its own peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "bench.qmsum", "--worker", engine, "--result", str(result),
                                 "--files", ",".join(str(p) for p in paths)], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        lines = []
        for line in proc.stderr:  # the child's progress, shown as it goes; its last line names a failure
            if line.startswith("qmsum: "):
                print(line, end="", file=sys.stderr, flush=True)
            if line.strip():
                lines.append(line.rstrip())
        returncode = proc.wait()
        wall = round(time.monotonic() - started, 1)
        if returncode != 0 or not result.is_file():
            return {"error": lines[-1] if lines else f"exit code {returncode}", "wall_seconds": wall}
        data = json.loads(result.read_text(encoding="utf-8"))
    data["wall_seconds"] = wall
    return data


# --- the benchmark -----------------------------------------------------------------------------------------


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def run(quick: bool, out_dir: Path, engines: list[str] | None = None, meetings: int | None = None,
        held_out: bool = False) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = select(meetings or DEFAULT_MEETINGS, quick, held_out)
    references = {p.stem: load(p)[1] for p in paths}
    words = {p.stem: words_in(p) for p in paths}
    names = list(engines or engines_from()) + [LEAD]
    results: dict[str, dict] = {}
    for engine in dict.fromkeys(names):
        print(f"qmsum: {engine} on {len(paths)} meetings...", file=sys.stderr, flush=True)
        data = run_engine(engine, paths)
        for row in data.get("rows", []):
            for key, text in row.get("texts", {}).items():
                prefix = "" if key == "summary" else f"{key}_"
                row.update({prefix + m: v for m, v in rouge(references[row["meeting"]], text).items()})
                row[f"{key}_words"] = len(text.split())
        ok = [r for r in data.get("rows", []) if "texts" in r]
        data["mean"] = {key: _mean([r[key] for r in ok]) for key in SCORES}
        data["meetings_scored"] = len(ok)
        if data.get("rows") and not ok:  # e.g. an engine this checkout does not have yet
            data["error"] = data["rows"][0].get("error", "no meeting drafted")
        results[engine] = data
    result = {"corpus": "qmsum", "quick": quick, "held_out": held_out, "scored_texts": TEXTS, "words_per_second": WORDS_PER_SECOND,
              "meetings": [{"meeting": p.stem, "family": family(p.stem), "words": words[p.stem]} for p in paths],
              "engines": results}
    result["markdown"] = markdown(result)
    (out_dir / "qmsum.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "qmsum.md").write_text(result["markdown"] + "\n", encoding="utf-8")
    return result


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _scores(values: dict, prefix: str = "") -> str:
    return " / ".join(_f(values.get(prefix + m)) for m in METRICS)


def markdown(result: dict) -> str:
    engines = result["engines"]
    n = len(result["meetings"])
    n_icsi = sum(m["family"] == "ICSI" for m in result["meetings"])
    held_out = f" held out ({HELD_OUT})" if result.get("held_out") else ""
    lines = [f"ROUGE F1 (stemmed) against the human summary on {n} QMSum meetings{held_out} "
             f"({n - n_icsi} AMI, {n_icsi} ICSI; transcripts by hand, synthetic times at "
             f"{result['words_per_second']} words/s). Scored: the summary paragraph alone, and the summary "
             "with the key points (all the minutes show on top); lead150: the first 150 words of the transcript.", "",
             "| engine | summary R-1 / R-2 / R-L | words | summary + key points R-1 / R-2 / R-L | words | "
             "s / meeting | warm-up s | peak RSS MiB | meetings |",
             "|---|---|---|---|---|---|---|---|---|"]
    for engine, data in engines.items():
        if "error" in data:
            lines.append(f"| {engine} | not run: `{data['error']}` | | | | | | | |")
            continue
        mean = data["mean"]
        used = [r.get("engine_used") for r in data["rows"] if r.get("engine_used")]
        fell = sum(u not in (engine, f"{engine}+extractive") for u in used)
        mixed = sum(u == f"{engine}+extractive" for u in used)
        label = engine + "".join([f" (fell back to the extractive engine on {fell})" if fell else "",
                                  f" (items completed by the rules on {mixed})" if mixed else ""])
        lines.append(f"| {label} | {_scores(mean)} | {_f(mean['summary_words'], 0)} | {_scores(mean, 'top_')} | "
                     f"{_f(mean['top_words'], 0)} | {_f(mean['seconds'], 2)} | {_f(data.get('warmup_seconds'), 1)} | "
                     f"{data['peak_rss_mb']:.0f} | {data['meetings_scored']}/{n} |")
    ran = [e for e, d in engines.items() if "error" not in d]
    head = "| meeting | words | " + " | ".join(f"{e} summary R-1 / R-2 / R-L | {e} s" for e in ran) + " |"
    lines += ["", head, "|---|---|" + "---|---|" * len(ran)]
    by_engine = {e: {r["meeting"]: r for r in engines[e]["rows"]} for e in ran}
    for meeting in result["meetings"]:
        cells = []
        for e in ran:
            row = by_engine[e].get(meeting["meeting"], {})
            scores = _scores(row) if "texts" in row else f"failed: {row.get('error', '?')[:60]}"
            cells += [scores, _f(row.get("seconds"), 2)]
        lines.append(f"| {meeting['meeting']} ({meeting['family']}) | {meeting['words']} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | | " + " | ".join(
        f"**{_scores(engines[e]['mean'])}** | {_f(engines[e]['mean']['seconds'], 2)}" for e in ran) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.qmsum", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"the {QUICK_MEETINGS} shortest AMI meetings")
    parser.add_argument("--meetings", type=int, default=DEFAULT_MEETINGS, help="how many meetings (default 20)")
    parser.add_argument("--held-out", action="store_true",
                        help=f"spread over the meetings {HELD_OUT}")
    parser.add_argument("--engines", type=parse_engines, help="comma-separated minutes engines "
                        "(default: $BENCH_MINUTES_ENGINES or extractive), and the peer mapreduce; lead150 is always added")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, [Path(p) for p in args.files.split(",")], args.result)
        return 0
    result = run(args.quick, args.out, args.engines, args.meetings, args.held_out)
    print(result["markdown"])
    return 1 if any("error" in d for d in result["engines"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
